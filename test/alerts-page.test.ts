// The daemon's page in Chromium shows an alert after the poll that caused it, without a reload,
// with its delivery state; the destination's URL secret is not on the page.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { startReceiver } from './alerts-receiver.js';
import { openTab } from './browser.js';
import { tempDir } from './helpers.js';

test('the page lists an alert after the poll that made it, without a reload, delivered', async (t) => {
  const mock = await startMockProvider({ priceDrift: 0.3, seed: 5 });
  t.after(() => mock.close());
  const receiver = await startReceiver(t);
  const cwd = tempDir(t);
  const d = await startDaemon(t, mock, cwd, {
    SCHEDULE_CRON: '*/3 * * * * *', RUN_ON_START: 'always',
    ALERT_RULES: JSON.stringify([{ name: 'drop', type: 'price-drop', percent: 1 }]),
    ALERT_DESTINATIONS: JSON.stringify([{ name: 'hook', type: 'webhook', url: `${receiver.url}/pagehook-Zq81xVw3` }]),
  });
  await d.waitFor(pollDone, 30_000); // the rules' baseline: no alert yet
  const { tab, errors } = await openTab(t);
  let navigations = 0;
  tab.on('framenavigated', (f) => void (f === tab.mainFrame() && navigations++));
  await tab.goto(`http://127.0.0.1:${d.healthPort}/`);
  await tab.waitForSelector('#best-prices tbody tr');
  const alertLine = await d.waitFor(isMessage(/^alert: /), 30_000);
  await d.waitFor(isMessage(/^alert delivered to hook/), 30_000);
  const text = alertLine.message.replace(/^alert: /, '');
  const deadline = Date.now() + 20_000;
  let rows: string[] = [];
  while (!rows.some((r) => r.includes(text) && r.includes('hook sent'))) {
    assert.ok(Date.now() < deadline, `the page listed "${text}" as sent within 20 s; rows: ${rows.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 250));
    rows = await tab.$$eval('#alerts tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
  }
  assert.match(await tab.$eval('#alerts', (s) => s.textContent ?? ''), /Rules.*drop.*price-drop/s);
  assert.equal(navigations, 1, 'no reload');
  assert.ok(!(await tab.content()).includes('Zq81xVw3'), 'the URL secret is not on the page');
  assert.deepEqual(errors, []);
  assert.equal(await d.stop(), 0);
});

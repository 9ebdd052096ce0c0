// Second hostile pass on the live page: provider text built to run script (</script>, onerror,
// svg onload), bidi overrides, 10 KB titles, emoji and NUL, from a scripted provider through a real
// daemon, opened in Chromium; then a committed Parquet file truncated under the open page.
import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Report } from '../src/report/report.js';
import { pollDone, startDaemon } from './daemon-helpers.js';
import { openTab } from './browser.js';
import { tempDir } from './helpers.js';
import { film, startScriptedProvider } from './scripted-provider.js';

const PROBE = 'window.__pwned=1';
const TITLES = [
  `</script><script>${PROBE}</script>`,
  `<img src=x onerror="${PROBE}">`,
  `"'><svg onload="${PROBE}">`,
  `<!--<script>${PROBE}</script>-->`,
  '\u202Eevil\u202C \u2067rtl\u2069 title',
  `${'長'.repeat(3000)}${'x'.repeat(1000)}`,
  '😀 Emoji 👩‍👩‍👧 film',
  'NUL\u0000inside',
  '{{constructor.constructor("window.__pwned=1")()}}',
  'javascript:window.__pwned=1',
];

test('hostile titles through a real daemon: no script runs from data, no console error, the text is shown literally; a truncated file shows the report error and the page recovers by itself', async (t) => {
  const catalogue = (prefix: string, price: number) => Object.fromEntries(TITLES.map((title, i) => [`${prefix}${String(i).padStart(7, '0')}`, film(`${prefix}${String(i).padStart(7, '0')}`, { Title: title, Price: String(price + i) })]));
  const upstream = await startScriptedProvider({ cinemaworld: catalogue('cw', 10), filmworld: catalogue('fw', 11) });
  t.after(() => upstream.close());
  const cwd = tempDir(t);
  const d = await startDaemon(t, upstream, cwd, { SCHEDULE_CRON: '*/3 * * * * *', RUN_ON_START: 'always', HTTP_RETRIES: '0' });
  await d.waitFor(pollDone, 30_000);
  const origin = `http://127.0.0.1:${d.healthPort}`;

  const { tab, errors } = await openTab(t);
  const dialogs: string[] = [];
  tab.on('dialog', (dlg) => {
    dialogs.push(dlg.message());
    void dlg.dismiss();
  });
  await tab.goto(`${origin}/`);
  await tab.waitForSelector('.chart canvas');

  const report = (await (await fetch(`${origin}/api/report`)).json()) as Report;
  const shownTitles = await tab.$$eval('#best-prices tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')?.textContent ?? ''));
  assert.equal(shownTitles.length, TITLES.length);
  assert.deepEqual([...shownTitles].sort(), report.best_prices.map((f) => (f.year ? `${f.title} (${f.year})` : f.title)).sort(), 'the page shows the report\'s text');
  for (const title of TITLES) {
    const stored = report.best_prices.find((f) => f.title === title || f.title === title.replace('\u0000', ''));
    assert.ok(stored, `the report holds ${JSON.stringify(title.slice(0, 40))} literally`);
    assert.ok(shownTitles.some((s) => s.startsWith(stored.title)), `the page shows ${JSON.stringify(title.slice(0, 40))} as text`);
  }
  assert.equal(await tab.evaluate('typeof window.__pwned'), 'undefined', 'no script ran from data');
  assert.deepEqual(dialogs, []);
  // Nothing from data became markup: no element the page does not make itself.
  assert.equal(await tab.$$eval('body img, body svg, body iframe, body a, body script:not([type="application/json"])', (els) => els.filter((e) => !e.closest('.u-legend')).length), 2, 'only the page\'s own two scripts');
  assert.deepEqual(errors, [], 'no console error while hostile text is shown');
  const chartTitles = await tab.$$eval('.chart', (els) => els.map((e) => e.textContent ?? ''));
  assert.ok(chartTitles.some((c) => c.includes('</script><script>')), 'chart headings show the markup as text');

  // A committed movies file truncated under the open page: the page shows the report's error.
  const moviesRoot = path.join(d.data, 'movies');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else files.push(path.join(dir, e.name));
    }
  };
  walk(moviesRoot);
  const victim = files.sort()[0] ?? '';
  truncateSync(victim, Math.floor(statSync(victim).size / 2));
  const pollsAtTruncation = d.count(pollDone);
  await d.waitForCount(pollDone, pollsAtTruncation + 1, 30_000); // the next commit makes the report recompute
  await tab.waitForSelector('#status[data-state="error"]', { timeout: 30_000 });
  assert.match(await tab.$eval('#status', (s) => s.textContent ?? ''), /The report could not be computed: /);
  const health = await fetch(`${origin}/healthz`);
  assert.equal(health.status, 200, 'a broken report does not make the collector unhealthy');
  await d.waitForCount(pollDone, pollsAtTruncation + 2, 30_000);
  assert.ok(d.lines.filter(pollDone).slice(pollsAtTruncation).every((l) => /^poll complete:/.test(l.message)), 'polls go on while the report fails');

  // The file removed: the next commit brings the answer back without a reload.
  rmSync(victim);
  const pollsAtRemoval = d.count(pollDone);
  await d.waitForCount(pollDone, pollsAtRemoval + 1, 30_000);
  await tab.waitForSelector('#status[data-state="ok"]', { timeout: 30_000 });
  const recoveredAt = errors.length;
  assert.equal((await tab.$$('#best-prices tbody tr')).length, TITLES.length);

  assert.equal(await tab.evaluate('typeof window.__pwned'), 'undefined');
  assert.deepEqual(dialogs, []);
  // While the store is broken the only console lines are Chromium's own note of the report's 500
  // answer (one per failing commit); none once the page recovered.
  assert.deepEqual(errors.filter((e) => !/^Failed to load resource: the server responded with a status of 500/.test(e)), []);
  assert.equal(errors.length - recoveredAt, 0, 'no console error after the recovery');
  assert.equal(await d.stop(), 0);
});

// The live report page, for real: `movies-collector start` against the simulator, its page at /
// opened in Chromium (Debian's, through playwright-core): the answer and one chart per film, a
// new point after the next committed poll without a reload, the failing and stale banners once
// the simulator fails every request, no request off the page's origin, no console errors.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startMockProvider } from '../src/mock/server.js';
import type { Report } from '../src/report/report.js';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { openTab } from './browser.js';
import { tempDir } from './helpers.js';

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts');
/** The schedule: every 6 seconds. The page asks every 2 s (a third of it). */
const INTERVAL_S = 6;

interface PageChart { film_key: string; providers: string[]; data: Array<Array<number | null>> }

test('the daemon\'s page: answer, charts, a new point without a reload, then failing and stale banners; nothing leaves the origin', async (t) => {
  const mock = await startMockProvider({ priceDrift: 0.2 });
  t.after(() => mock.close());
  const cwd = tempDir(t);
  // No retries: a failing poll ends at once rather than after backoff.
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: `*/${INTERVAL_S} * * * * *`, RUN_ON_START: 'always', HTTP_RETRIES: '0' });
  await d.waitFor(pollDone);
  const origin = `http://127.0.0.1:${d.healthPort}`;

  const { tab, errors } = await openTab(t);
  const requests: string[] = [];
  let navigations = 0;
  tab.on('request', (r) => requests.push(r.url()));
  tab.on('framenavigated', (f) => void (f === tab.mainFrame() && navigations++));
  await tab.goto(`${origin}/`);

  // The answer first: one row per film of the report, then one chart per film.
  await tab.waitForSelector('.chart canvas');
  const report = (await (await fetch(`${origin}/api/report`)).json()) as Report;
  const rows = await tab.$$eval('#best-prices tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')?.textContent ?? ''));
  assert.equal(rows.length, report.best_prices.length);
  assert.equal(report.best_prices.length, mock.catalogue.films.length, 'every film of the simulator');
  assert.deepEqual(rows, report.best_prices.map((f) => (f.year ? `${f.title} (${f.year})` : f.title)));
  assert.match(await tab.$eval('#cheapest h2', (h) => h.textContent ?? ''), /^Cheapest provider over the \d+ films every provider sells: (cinemaworld|filmworld)$/);
  const charts = await tab.$$eval('.chart', (els) => els.map((e) => ({ film: (e as HTMLElement).dataset.film, lines: e.querySelectorAll('.u-legend .u-series').length - 1 })));
  assert.equal(charts.length, new Set(report.best_prices.map((f) => f.film_key)).size, 'one chart per film');
  for (const c of charts) {
    const film = report.best_prices.find((f) => f.film_key === c.film);
    assert.equal(c.lines, Object.keys(film?.prices ?? {}).length, `${c.film}: one line per provider`);
  }
  assert.match(await tab.$eval('#health', (h) => h.textContent ?? ''), /Polls per day by status.*Completeness per provider.*Rejects by reason.*Latest poll per provider/s);
  assert.equal(await tab.$eval('#status', (s) => (s as HTMLElement).dataset.state), 'ok');

  // The next committed poll reaches the charts without a reload: a later x, more points.
  const shape = async () => {
    // CHARTS is the page script's own binding (a top-level let, not a window property).
    const data = (await tab.evaluate('CHARTS')) as PageChart[];
    return {
      lastX: Math.max(...data.map((c) => c.data[0]?.at(-1) ?? 0)),
      points: data.reduce((n, c) => n + c.data.slice(1).reduce((m, line) => m + line.filter((v) => v !== null).length, 0), 0),
    };
  };
  const before = await shape();
  const polls = d.count(pollDone);
  await d.waitForCount(pollDone, polls + 1, 30_000);
  // Polled from here: waitForFunction would eval a string in the page, which its CSP forbids.
  const deadline = Date.now() + 30_000;
  while ((await shape()).lastX <= before.lastX) {
    assert.ok(Date.now() < deadline, 'the page showed the next poll within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const after = await shape();
  assert.ok(after.points > before.points, `a point was added (${before.points} → ${after.points})`);
  assert.equal(navigations, 1, 'no reload');
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(path.join(ARTIFACTS, 'live-page.png'), await tab.screenshot({ fullPage: true }));

  // Every request fails: the page says so within one schedule interval of the failed poll.
  mock.configure({ failRate: 1 });
  await d.waitFor(isMessage(/^poll failed/), 30_000);
  await tab.waitForSelector('#status[data-state="failing"]', { timeout: INTERVAL_S * 1000 });
  assert.match(await tab.$eval('#status', (s) => s.textContent ?? ''), /FAILING: the last poll failed/);
  // Two intervals past the last complete poll, the data is also flagged stale.
  await tab.waitForSelector('#status[data-stale="true"]', { timeout: 4 * INTERVAL_S * 1000 });
  assert.match(await tab.$eval('#status', (s) => s.textContent ?? ''), /STALE: the last complete poll was \d+s ago, more than two schedule intervals \(6s each\)/);
  writeFileSync(path.join(ARTIFACTS, 'live-page-failing.png'), await tab.screenshot());

  assert.deepEqual(errors, []);
  assert.ok(requests.length > 3);
  assert.deepEqual(requests.filter((u) => !u.startsWith(`${origin}/`)), [], 'no request leaves the page\'s origin');
  assert.equal(await d.stop(), 0);
});

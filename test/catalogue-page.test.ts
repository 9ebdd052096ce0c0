// The page of a real catalogue: 2 × 2,000 films from the simulator, three `poll`s so prices move,
// the real daemon over real HTTP, its page in Chromium. What the first screen costs does not grow
// with the catalogue (one page of rows, no chart, under 1 MB); the search (exact title, accents
// ignored, debounced), sorting by price from the keyboard, the next page, a chart opened on demand
// and the biggest moves all answer from the daemon's view parameters; axe-core finds nothing.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page, Request } from 'playwright-core';
import { startMockProvider } from '../src/mock/server.js';
import type { Report } from '../src/report/report.js';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { openTab } from './browser.js';
import { runCli, tempDir } from './helpers.js';

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts');
const FILMS = 2000;
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Polls `check` until it holds (the page's CSP forbids waitForFunction's evaluated strings). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The view the table shows (the page writes it on #best-prices once rendered), and its rows. */
const shown = (tab: Page) => tab.$eval('#best-prices', (e) => ({ ...(e as HTMLElement).dataset }));
const rows = (tab: Page) => tab.$$eval('#best-prices tbody tr', (trs) => trs.map((tr) => ({
  film: tr.querySelector('td')?.textContent ?? '',
  best: tr.querySelector('td.best')?.textContent ?? '',
  key: (tr.querySelector('button.chart-toggle') as HTMLElement | null)?.dataset.film ?? '',
})));
const filmName = (f: { title: string; year: number | null }) => (f.year ? `${f.title} (${f.year})` : f.title);

test('the page of a 2 × 2,000-film catalogue: one page first, under 1 MB; search, keyboard sort, paging, a chart on demand, biggest moves; axe-core finds nothing', { timeout: 150_000 }, async (t) => {
  const mock = await startMockProvider({ movies: FILMS, priceDrift: 0.2, seed: 26 });
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const env = { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(cwd, 'data'), LOG_DIR: path.join(cwd, 'logs'), HEALTH_PORT: '0' };
  for (let i = 0; i < 3; i++) {
    const poll = await runCli(['poll'], { cwd, env, timeoutMs: 60_000 });
    assert.equal(poll.code, 0, poll.stderr);
  }
  // No poll while the page is tested: the view stays the same between the page and the API.
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'never' });
  await d.waitFor(isMessage(/^daemon started/), 30_000);
  const origin = `http://127.0.0.1:${d.healthPort}`;
  const api = async (query: string) => {
    const res = await fetch(`${origin}/api/report?${query}`);
    assert.equal(res.status, 200, `${query}: ${await res.clone().text()}`);
    return (await res.json()) as Report;
  };

  const { tab, errors } = await openTab(t);
  const requests: string[] = [];
  const sizes: Array<Promise<number>> = [];
  const onFinished = (r: Request) => sizes.push(r.sizes().then((s) => s.responseHeadersSize + s.responseBodySize));
  tab.on('request', (r) => requests.push(r.url()));
  tab.on('requestfinished', onFinished);

  // ---- the first screen: the first page of the table, no chart, under 1 MB -------------------
  const started = Date.now();
  await tab.goto(`${origin}/`);
  await tab.waitForSelector('#best-prices tbody tr button.chart-toggle', { timeout: 30_000 });
  const firstRow = Date.now() - started;
  const byTitle = await api('section=best-prices&limit=50');
  assert.equal(byTitle.page.best_prices_total, mock.catalogue.films.length, 'every film of the simulator is in the store');
  assert.deepEqual((await rows(tab)).map((r) => r.film), byTitle.best_prices.map(filmName), 'the first 50 films by title');
  await until('the rest of the first screen', async () => (await tab.$$('#moves tbody tr')).length > 0 && (await tab.$$('#health table')).length > 0 && (await tab.$$('#cheapest h2')).length > 0, 30_000);
  await tab.waitForLoadState('networkidle');
  tab.off('requestfinished', onFinished);
  const bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
  const canvases = (await tab.$$('canvas')).length;
  const rowCount = (await rows(tab)).length;
  console.log(`first row after ${firstRow} ms; ${requests.length} requests, ${bytes} bytes, ${rowCount} rows, ${canvases} canvases before any interaction`);
  assert.equal(rowCount, 50, 'one page of rows');
  assert.ok(canvases <= 50, `${canvases} canvases`);
  assert.ok(bytes < 1_000_000, `${bytes} bytes before any interaction`);
  assert.equal(await tab.$eval('#range', (e) => e.textContent), `1\u201350 of ${mock.catalogue.films.length.toLocaleString('en-US')} films`);
  for (const u of requests.filter((r) => r.includes('/api/'))) {
    const url = new URL(u);
    if (url.pathname === '/api/charts') assert.ok(url.searchParams.has('film'), `a chart is asked for one film: ${u}`);
    if (url.pathname === '/api/report') {
      assert.ok(url.searchParams.has('section'), `no whole report: ${u}`);
      if (['best-prices', 'history'].includes(url.searchParams.get('section') ?? '')) assert.ok(url.searchParams.has('limit'), `a bounded list: ${u}`);
    }
  }

  // ---- keyboard: Tab reaches the search field, then the sort buttons; Enter sorts by price -----
  await tab.keyboard.press('Tab');
  assert.equal(await tab.evaluate(() => document.activeElement?.id), 'search', 'the first Tab stop is the search field');
  const sortStops: string[] = [];
  for (let i = 0; i < 10 && sortStops.length < 2; i++) {
    await tab.keyboard.press('Tab');
    const sort = await tab.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.sort ?? null);
    if (sort) sortStops.push(sort);
  }
  assert.deepEqual(sortStops, ['film', 'price'], 'Tab reaches the sort buttons');
  await tab.keyboard.press('Enter');
  await until('the table sorted by price', async () => (await shown(tab)).sort === 'price');
  assert.equal(await tab.$eval('button.sort[data-sort="price"]', (b) => b.closest('th')?.getAttribute('aria-sort')), 'ascending');
  const byPrice = await api('section=best-prices&sort=price&limit=50');
  const cheap = await rows(tab);
  assert.deepEqual(cheap.map((r) => r.film), byPrice.best_prices.map(filmName), 'the daemon\'s order');
  const prices = cheap.map((r) => Math.round(Number(r.best) * 100));
  assert.ok(prices.every((p, i) => Number.isInteger(p) && (i === 0 || prices[i - 1]! <= p)), `rows by best price: ${cheap.map((r) => r.best).join(' ')}`);
  await tab.keyboard.press('Enter');
  await until('the table sorted by price, descending', async () => (await shown(tab)).sort === '-price');
  assert.equal(await tab.$eval('button.sort[data-sort="price"]', (b) => b.closest('th')?.getAttribute('aria-sort')), 'descending');
  const dear = (await rows(tab)).map((r) => Math.round(Number(r.best) * 100));
  assert.ok(dear.every((p, i) => i === 0 || dear[i - 1]! >= p), 'rows by best price, dearest first');

  // ---- paging: the next page is rows 51–100 of the same order ---------------------------------
  await tab.click('#next');
  await until('the second page', async () => (await shown(tab)).offset === '50');
  const second = await api('section=best-prices&sort=-price&limit=50&offset=50');
  assert.deepEqual((await rows(tab)).map((r) => r.film), second.best_prices.map(filmName), 'rows 51–100');
  assert.equal(await tab.$eval('#range', (e) => e.textContent), `51\u2013100 of ${mock.catalogue.films.length.toLocaleString('en-US')} films`);
  await tab.click('#prev');
  await until('the first page again', async () => (await shown(tab)).offset === '0');

  // ---- search: typed (debounced), an exact title narrows to that film; accents ignored ---------
  const target = mock.catalogue.films.find((f) => f.title.includes('Café') && Number(f.title.split(' ').at(-1)) >= 1000);
  assert.ok(target, 'a synthetic title with an accent');
  const typedBefore = requests.filter((u) => u.includes('film=')).length;
  await tab.locator('#search').pressSequentially(target.title, { delay: 15 });
  await until('the search for one title', async () => (await shown(tab)).film === target.title);
  await until('the table narrowed to that film', async () => (await rows(tab)).length === 1);
  assert.deepEqual((await rows(tab)).map((r) => r.key), [`tt${target.digits}`]);
  assert.ok(requests.filter((u) => u.includes('film=')).length - typedBefore <= 3, 'typing asks the daemon once it pauses, not per key');
  assert.match(await tab.$eval('#range', (e) => e.textContent ?? ''), /^1\u20131 of 1 film matching the search$/);
  // Accent- and case-insensitive: "GOLDEN cafe 1234" finds "Golden Café 1234".
  const unaccented = target.title.replace('Café', 'cafe').toUpperCase().replace('CAFE', 'cafe');
  await tab.fill('#search', unaccented);
  await until('the unaccented search', async () => (await shown(tab)).film === unaccented);
  assert.deepEqual((await rows(tab)).map((r) => r.key), [`tt${target.digits}`], `"${unaccented}" finds "${target.title}"`);
  await tab.fill('#search', 'cafe');
  await until('the search for "cafe"', async () => (await shown(tab)).film === 'cafe');
  const cafes = mock.catalogue.films.filter((f) => f.title.includes('Café')).length;
  assert.equal(Number((await shown(tab)).total), cafes, 'every Café film, and only those');
  assert.ok((await rows(tab)).every((r) => r.film.includes('Café')));
  await tab.fill('#search', target.title);
  await until('the one film again', async () => (await rows(tab)).length === 1 && (await shown(tab)).film === target.title);

  // ---- a chart on demand: fetched for that film, drawn -----------------------------------------
  assert.equal((await tab.$$('canvas')).length, 0, 'no chart drawn before one is opened');
  const toggle = tab.locator('#best-prices button.chart-toggle').first();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  const chartAnswer = tab.waitForResponse((r) => r.url().includes('/api/charts?') && new URL(r.url()).searchParams.get('film') === `tt${target.digits}`);
  await toggle.click();
  assert.equal((await chartAnswer).status(), 200);
  await tab.waitForSelector(`.chart[data-film="tt${target.digits}"] canvas`);
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  assert.equal(await tab.$eval(`.chart[data-film="tt${target.digits}"]`, (e) => e.id), await toggle.getAttribute('aria-controls'));
  const lines = await tab.$eval(`.chart[data-film="tt${target.digits}"]`, (e) => e.querySelectorAll('.u-legend .u-series').length - 1);
  assert.equal(lines, Object.keys(target.basePriceCents).length, 'one line per provider');

  // ---- biggest moves: the window's largest drops and rises, over the whole catalogue ------------
  const drops = await api('section=history&sort=change&limit=10');
  const moveRows = await tab.$$eval('#moves tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  assert.ok(moveRows.length > 0 && moveRows.every((r) => r.length === 6), 'the biggest moves show rows');
  const shownDrops = moveRows.filter((r) => r[4]?.startsWith('-'));
  assert.ok(shownDrops.length > 0, 'prices moved down between the polls');
  assert.deepEqual(shownDrops.map((r) => r[0]), drops.price_history.filter((h) => Number(h.last) < Number(h.first)).map((h) => h.title), 'the largest drops, largest first');
  assert.ok(moveRows.some((r) => r[4]?.startsWith('+')), 'and rises');

  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(path.join(ARTIFACTS, 'catalogue-page.png'), await tab.screenshot());
  assert.deepEqual(errors, [], 'no console error');
  assert.deepEqual(requests.filter((u) => !u.startsWith(`${origin}/`)), [], 'no request leaves the page\'s origin');

  // ---- axe-core: in a tab of its own that lets it inject its script (bypassCSP), with a chart open
  const { tab: axeTab } = await openTab(t, { bypassCSP: true });
  await axeTab.goto(`${origin}/`);
  await axeTab.waitForSelector('#best-prices tbody tr button.chart-toggle', { timeout: 30_000 });
  await axeTab.waitForSelector('#moves tbody tr');
  await axeTab.click('#best-prices button.chart-toggle');
  await axeTab.waitForSelector('.chart canvas');
  await axeTab.addScriptTag({ content: AXE });
  const result = await axeTab.evaluate(async () => {
    type Rule = { id: string; impact: string | null; nodes: Array<{ target: unknown }> };
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: Rule[]; passes: Rule[] }> } }).axe;
    const { violations, passes } = await axe.run();
    return { violations: violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target) })), passed: passes.map((p) => p.id) };
  });
  assert.deepEqual(result.violations, [], 'axe-core: 0 violations');
  for (const rule of ['color-contrast', 'label', 'button-name', 'aria-allowed-attr', 'region', 'th-has-data-cells']) assert.ok(result.passed.includes(rule), `axe-core checked ${rule}`);
  assert.equal(await d.stop(), 0);

  // ---- report --html: the same view computed in the page from the data it holds (no server) -----
  const file = path.join(cwd, 'report.html');
  const written = await runCli(['report', '--html', file, '--section', 'health'], { cwd, env, timeoutMs: 60_000 });
  assert.equal(written.code, 0, written.stderr);
  const { tab: frozen, errors: frozenErrors } = await openTab(t);
  const frozenRequests: string[] = [];
  frozen.on('request', (r) => frozenRequests.push(r.url()));
  await frozen.goto(`file://${file}`);
  await frozen.waitForSelector('#best-prices tbody tr button.chart-toggle');
  assert.deepEqual((await rows(frozen)).map((r) => r.film), byTitle.best_prices.map(filmName), 'the first 50 films by title');
  assert.equal((await frozen.$$('canvas')).length, 0, 'no chart before one is opened');
  await frozen.click('button.sort[data-sort="price"]');
  assert.deepEqual((await rows(frozen)).map((r) => r.film), byPrice.best_prices.map(filmName), 'sorted by price as the daemon sorts');
  await frozen.click('button.sort[data-sort="price"]');
  await frozen.click('#next');
  assert.equal((await shown(frozen)).offset, '50');
  assert.deepEqual((await rows(frozen)).map((r) => r.film), second.best_prices.map(filmName), 'rows 51–100 by price, dearest first');
  await frozen.fill('#search', unaccented);
  await until('the search in the file', async () => (await shown(frozen)).film === unaccented);
  assert.deepEqual((await rows(frozen)).map((r) => r.key), [`tt${target.digits}`]);
  await frozen.click('#best-prices button.chart-toggle');
  await frozen.waitForSelector(`.chart[data-film="tt${target.digits}"] canvas`);
  await frozen.fill('#search', 'CAFE');
  await until('"CAFE" in the file', async () => (await shown(frozen)).film === 'CAFE');
  assert.equal(Number((await shown(frozen)).total), cafes);
  const frozenMoves = await frozen.$$eval('#moves tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  assert.deepEqual(frozenMoves, moveRows, 'the same biggest moves');
  assert.deepEqual(frozenErrors, []);
  assert.deepEqual(frozenRequests, [`file://${file}`], 'no network requests');
});

test('a search and a sort stay on screen across commits: the table and its charts are redrawn for that view without a reload', { timeout: 90_000 }, async (t) => {
  const mock = await startMockProvider({ priceDrift: 0.2, seed: 8 });
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: '*/4 * * * * *', RUN_ON_START: 'always', HTTP_RETRIES: '0' });
  await d.waitFor(pollDone, 30_000);
  const origin = `http://127.0.0.1:${d.healthPort}`;
  const { tab, errors } = await openTab(t);
  // Loads, not framenavigated: the search's history.replaceState is a same-document navigation.
  let loads = 0;
  tab.on('load', () => void loads++);
  const tableRequests: URL[] = [];
  tab.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/report' && u.searchParams.get('section') === 'best-prices') tableRequests.push(u);
  });
  await tab.goto(`${origin}/`);
  await tab.waitForSelector('.chart canvas');
  assert.equal((await tab.$$('.chart')).length, mock.catalogue.films.length, '13 films: every chart open, as before');

  // "episode v" finds Episodes V, VI and VII; sorted by best price, their three charts stay open.
  await tab.fill('#search', 'episode v');
  await tab.click('button.sort[data-sort="price"]');
  await until('the view', async () => { const v = await shown(tab); return v.film === 'episode v' && v.sort === 'price'; });
  await until('the charts of the rows shown', async () => (await tab.$$('.chart canvas')).length === 3);
  const charts = async () => (await tab.evaluate('CHARTS')) as Array<{ film_key: string; data: number[][] }>;
  const lastX = async () => Math.max(...(await charts()).map((c) => c.data[0]?.at(-1) ?? 0));
  const before = { x: await lastX(), run: ((await (await fetch(`${origin}/api/status`)).json()) as { run: string }).run };

  // The next commit: the same view, with that commit's prices and a later point on each chart.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = (await (await fetch(`${origin}/api/status`)).json()) as { run: string };
    const api = (await (await fetch(`${origin}/api/report?section=best-prices&film=episode+v&sort=price&limit=50`)).json()) as Report;
    const page = await rows(tab);
    if (status.run !== before.run && (await lastX()) > before.x && JSON.stringify(page.map((r) => [r.key, r.best])) === JSON.stringify(api.best_prices.map((f) => [f.film_key, f.prices[f.cheapest]]))) break;
    assert.ok(Date.now() < deadline, 'the view showed the next commit within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.deepEqual((await charts()).map((c) => c.film_key).sort(), (await rows(tab)).map((r) => r.key).sort(), 'the charts are those of the rows shown');
  const last = tableRequests.at(-1);
  assert.equal(last?.searchParams.get('film'), 'episode v');
  assert.equal(last?.searchParams.get('sort'), 'price');
  assert.equal(loads, 1, 'no reload');
  assert.equal(new URL(tab.url()).searchParams.get('film'), 'episode v', 'the search is in the address bar');
  assert.deepEqual(errors, []);
  assert.equal(await d.stop(), 0);
});

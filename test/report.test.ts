// The report's answers, checked against expectations derived from the simulator's own price
// function (never by re-running the report's SQL), over a store built by real polls with price
// drift and one partial poll; the HTML page rendered in headless Chromium.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Catalogue, MOCK_PROVIDERS, type MockProviderName } from '../src/mock/catalogue.js';
import { startMockProvider, type MockProvider } from '../src/mock/server.js';
import type { Report } from '../src/report/report.js';
import { openTab } from './browser.js';
import { runCli, tempDir } from './helpers.js';

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts');
const PARTIAL_ID = 'fw0080684'; // always 503 in the last poll: filmworld is partial there

interface Poll {
  /** Price generation each provider's details were served at (the simulator's, after the poll's list call). */
  generation: Record<MockProviderName, number>;
  status: Record<MockProviderName, string>;
}

let mock: MockProvider;
let cwd: string;
const polls: Poll[] = [];
let report: Report;

async function poll(env: Record<string, string> = {}): Promise<void> {
  const result = await runCli(['poll'], { cwd, env: { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, ...env } });
  const status = Object.fromEntries(MOCK_PROVIDERS.map((p) => [p, new RegExp(`^${p}\\s+(\\w+)`, 'm').exec(result.stdout)?.[1] ?? '?'])) as Poll['status'];
  polls.push({ generation: { ...mock.stats().generation } as Poll['generation'], status });
}

before(async () => {
  mock = await startMockProvider({ priceDrift: 0.15, seed: 21 });
  cwd = tempDir({ after: (fn) => process.on('exit', fn) }, 'mc-report-');
  for (let i = 0; i < 4; i++) await poll();
  mock.configure({ failIds: [PARTIAL_ID] });
  await poll({ HTTP_RETRIES: '0' });
  await mock.close();
  const result = await runCli(['report', '--format', 'json'], { cwd });
  assert.equal(result.code, 0, result.stderr);
  report = JSON.parse(result.stdout) as Report;
});

const catalogue = () => mock.catalogue;
const price = (p: MockProviderName, digits: string, generation: number) => {
  const film = catalogue().films.find((f) => f.digits === digits);
  assert.ok(film);
  return catalogue().priceCents(p, film, generation) / 100;
};
/** A price in units as the report's JSON writes it: an exact decimal string with two decimals. */
const decimal = (units: number) => (Math.round(units * 100) / 100).toFixed(2);
/** Generation of the latest poll in which the provider was complete. */
const latestComplete = (p: MockProviderName) => [...polls].reverse().find((x) => x.status[p] === 'complete')?.generation[p] ?? -1;

test('the store was built as intended: 4 complete polls, then one where filmworld is partial', () => {
  assert.equal(polls.length, 5);
  assert.deepEqual(polls.slice(0, 4).map((x) => x.status), Array(4).fill({ cinemaworld: 'complete', filmworld: 'complete' }));
  assert.deepEqual(polls[4]?.status, { cinemaworld: 'complete', filmworld: 'partial' });
  assert.deepEqual(polls.map((x) => x.generation.cinemaworld), [1, 2, 3, 4, 5]);
});

test('JSON shape is stable', () => {
  assert.deepEqual(Object.keys(report).sort(), ['alerts', 'best_prices', 'cheapest_film', 'cheapest_provider', 'filters', 'generated_at', 'health', 'page', 'price_history', 'prices_as_of', 'schema_changes', 'store']);
  assert.deepEqual(Object.keys(report.best_prices[0] ?? {}).sort(), ['as_of', 'change', 'cheapest', 'film_key', 'only_on', 'prices', 'saving', 'title', 'year']);
  assert.deepEqual(report.page, { sort: 'film', offset: 0, limit: null, best_prices_total: report.best_prices.length, price_history_total: report.price_history.length });
  assert.deepEqual(Object.keys(report.prices_as_of).sort(), ['cinemaworld', 'filmworld']);
  assert.deepEqual(Object.keys(report.prices_as_of.filmworld ?? {}).sort(), ['age_seconds', 'run', 'started_at']);
  assert.deepEqual(Object.keys(report.cheapest_provider).sort(), ['cheapest', 'cheapest_for', 'films_compared', 'totals']);
  assert.deepEqual(Object.keys(report.cheapest_film ?? {}).sort(), ['as_of', 'film_key', 'price', 'provider', 'title']);
  assert.deepEqual(Object.keys(report.price_history[0] ?? {}).sort(), ['changes', 'film_key', 'first', 'last', 'max', 'min', 'polls', 'provider', 'title']);
  assert.deepEqual(Object.keys(report.health).sort(), ['completeness', 'last_complete_poll', 'latest_polls', 'polls_per_day', 'rejects_by_reason']);
  assert.deepEqual(Object.keys(report.health.latest_polls[0] ?? {}).sort(), ['error', 'provider', 'run', 'started_at', 'status']);
});

test('best price per film: each provider\'s latest complete poll; the partial poll does not count', () => {
  const expected = catalogue().films.map((film) => {
    const prices: Record<string, number> = {};
    for (const p of MOCK_PROVIDERS) if (film.basePriceCents[p] !== undefined) prices[p] = price(p, film.digits, latestComplete(p));
    const ranked = Object.entries(prices).sort((a, b) => a[1] - b[1]);
    return {
      film_key: `tt${film.digits}`,
      prices: Object.fromEntries(Object.entries(prices).map(([p, v]) => [p, decimal(v)])),
      cheapest: ranked[0]?.[0],
      saving: ranked.length > 1 ? decimal((ranked[1]?.[1] ?? 0) - (ranked[0]?.[1] ?? 0)) : null,
      only_on: ranked.length === 1 ? ranked[0]?.[0] : null,
    };
  });
  const actual = report.best_prices.map(({ film_key, prices, cheapest, saving, only_on }) => ({ film_key, prices, cheapest, saving, only_on }));
  assert.deepEqual(actual.sort((a, b) => a.film_key.localeCompare(b.film_key)), expected.sort((a, b) => a.film_key.localeCompare(b.film_key)));
  assert.equal(latestComplete('filmworld'), polls[3]?.generation.filmworld, 'filmworld prices come from poll 4');
  const vii = report.best_prices.find((f) => f.film_key === 'tt2488496');
  assert.equal(vii?.only_on, 'cinemaworld', 'a film sold by one provider is shown as such');
});

test('the prototype\'s two questions, defined fairly', () => {
  const shared = catalogue().films.filter((f) => MOCK_PROVIDERS.every((p) => f.basePriceCents[p] !== undefined));
  assert.equal(report.cheapest_provider.films_compared, shared.length);
  const totals = Object.fromEntries(MOCK_PROVIDERS.map((p) => [p, Math.round(shared.reduce((s, f) => s + price(p, f.digits, latestComplete(p)) * 100, 0)) / 100]));
  assert.deepEqual(report.cheapest_provider.totals, Object.fromEntries(Object.entries(totals).map(([p, v]) => [p, decimal(v)])));
  const cheapest = Object.entries(totals).sort((a, b) => a[1] - b[1])[0]?.[0];
  assert.equal(report.cheapest_provider.cheapest, cheapest);
  const wins: Record<string, number> = { cinemaworld: 0, filmworld: 0 };
  for (const f of shared) {
    const [cw, fw] = MOCK_PROVIDERS.map((p) => price(p, f.digits, latestComplete(p)));
    const key = cw === fw ? 'tie' : (cw ?? 0) < (fw ?? 0) ? 'cinemaworld' : 'filmworld';
    wins[key] = (wins[key] ?? 0) + 1;
  }
  assert.deepEqual(report.cheapest_provider.cheapest_for, wins);

  let best = { film_key: '', provider: '', price: Infinity };
  for (const f of catalogue().films) {
    for (const p of MOCK_PROVIDERS) {
      if (f.basePriceCents[p] === undefined) continue;
      const value = price(p, f.digits, latestComplete(p));
      if (value < best.price) best = { film_key: `tt${f.digits}`, provider: p, price: value };
    }
  }
  assert.deepEqual({ film_key: report.cheapest_film?.film_key, provider: report.cheapest_film?.provider, price: report.cheapest_film?.price }, { ...best, price: decimal(best.price) });
});

test('price history: first, last, min, max and changes per film and provider over every committed poll', () => {
  for (const film of catalogue().films) {
    for (const p of MOCK_PROVIDERS) {
      if (film.basePriceCents[p] === undefined) continue;
      const id = Catalogue.id(p, film);
      const seen = polls.filter((x) => !(id === PARTIAL_ID && x.status[p] === 'partial')).map((x) => price(p, film.digits, x.generation[p]));
      const row = report.price_history.find((h) => h.film_key === `tt${film.digits}` && h.provider === p);
      assert.deepEqual(row && { first: row.first, last: row.last, min: row.min, max: row.max, polls: row.polls, changes: row.changes }, {
        first: decimal(seen[0] ?? NaN), last: decimal(seen.at(-1) ?? NaN), min: decimal(Math.min(...seen)), max: decimal(Math.max(...seen)), polls: seen.length,
        changes: seen.filter((v, i) => i > 0 && v !== seen[i - 1]).length,
      }, `${id}`);
    }
  }
  assert.ok(report.price_history.some((h) => h.changes > 0), 'prices did drift');
});

test('data health counts the partial poll', () => {
  const days = report.health.polls_per_day;
  assert.deepEqual(days.map((d) => d.complete + d.partial + d.failed).reduce((a, b) => a + b, 0), 5);
  assert.equal(days.reduce((n, d) => n + d.partial, 0), 1);
  const fw = report.health.completeness.find((c) => c.provider === 'filmworld');
  assert.deepEqual(fw && { polls: fw.polls, complete: fw.complete_polls, listed: fw.listed, fetched: fw.fetched, failed: fw.failed }, { polls: 5, complete: 4, listed: 30, fetched: 29, failed: 1 });
  assert.equal(fw?.completeness, Math.round((29 / 30) * 10000) / 10000);
  assert.ok(report.health.last_complete_poll !== null);
});

test('table output fits 80 columns; csv parses; --film and --provider filter; an empty store is one line', async (t) => {
  const table = await runCli(['report'], { cwd });
  assert.equal(table.code, 0);
  for (const line of table.stdout.split('\n')) assert.ok([...line].length <= 80, `too wide: ${line}`);
  const csv = await runCli(['report', '--format', 'csv', '--section', 'history', '--provider', 'filmworld', '--film', 'empire'], { cwd });
  assert.equal(csv.code, 0, csv.stderr);
  const rows = csv.stdout.trim().split('\n');
  assert.equal(rows[0], 'film,provider,first,last,min,max,changes');
  assert.equal(rows.length, 2);
  assert.match(rows[1] ?? '', /^Star Wars: Episode V - The Empire Strikes Back,filmworld,/);

  const empty = await runCli(['report', '--data-dir', path.join(tempDir(t), 'nothing')], { cwd });
  assert.equal(empty.code, 0);
  assert.equal(empty.stdout, '');
  assert.match(empty.stderr, /^no committed poll in the store at .* yet: run `movies-collector poll` or start the daemon\n$/);
});

test('the HTML page renders offline in Chromium: one chart per film, one line per provider, no errors', async (t) => {
  const page = path.join(tempDir(t), 'report.html');
  const result = await runCli(['report', '--html', page], { cwd });
  assert.equal(result.code, 0, result.stderr);
  const { tab, errors } = await openTab(t);
  const requests: string[] = [];
  tab.on('request', (r) => requests.push(r.url()));
  await tab.goto(`file://${page}`);
  await tab.waitForSelector('.chart canvas');
  assert.deepEqual(errors, []);
  assert.deepEqual(requests, [`file://${page}`], 'no network requests');
  const charts = await tab.$$eval('.chart', (els) => els.map((e) => ({ film: (e as HTMLElement).dataset.film, lines: e.querySelectorAll('.u-legend .u-series').length - 1, canvas: e.querySelectorAll('canvas').length })));
  assert.equal(charts.length, catalogue().films.length);
  for (const c of charts) {
    const film = catalogue().films.find((f) => `tt${f.digits}` === c.film);
    assert.ok(film, String(c.film));
    assert.equal(c.lines, Object.keys(film.basePriceCents).length, `${c.film}: one line per provider`);
    assert.equal(c.canvas, 1);
  }
  // Each line keeps the points it needs (first, last, both ends of every flat stretch): derived
  // here from the simulator's prices at each poll, as in the history test.
  const data = (await tab.evaluate('CHARTS')) as Array<{ film_key: string; providers: string[]; data: Array<Array<number | null>> }>;
  for (const film of catalogue().films) {
    const chart = data.find((c) => c.film_key === `tt${film.digits}`);
    for (const p of MOCK_PROVIDERS) {
      if (film.basePriceCents[p] === undefined) continue;
      const id = Catalogue.id(p, film);
      const seen = polls.filter((x) => !(id === PARTIAL_ID && x.status[p] === 'partial')).map((x) => price(p, film.digits, x.generation[p]));
      const needed = seen.filter((v, i) => i === 0 || i === seen.length - 1 || v !== seen[i - 1] || v !== seen[i + 1]);
      const line = chart?.data[1 + chart.providers.indexOf(p)]?.filter((v) => v !== null);
      assert.deepEqual(line, needed, `${id}: chart points`);
    }
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(path.join(ARTIFACTS, 'report.png'), await tab.screenshot({ fullPage: true }));
});

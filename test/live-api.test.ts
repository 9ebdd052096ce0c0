// /api/report and its neighbours on a real daemon (`movies-collector start` against the
// simulator): the same JSON as `report --format json` on the same store, validators from the last
// commit (ETag, Last-Modified, 304), one computation per commit shared by concurrent requests,
// 400 naming a bad parameter, 405/404, nosniff everywhere and the page's CSP.
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { pollDone, startDaemon, type DaemonProcess } from './daemon-helpers.js';
import { runCli, tempDir } from './helpers.js';

const YEARLY = '0 0 1 1 *';
const computed = (l: { message: string }) => l.message === 'live report computed';

async function get(d: DaemonProcess, target: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`http://127.0.0.1:${d.healthPort}${target}`, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** The fields that say when the answer was computed, which differ between two computations of one store. */
function timeless(json: string): unknown {
  const report = JSON.parse(json) as Record<string, unknown> & { prices_as_of?: Record<string, { age_seconds?: number } | null> };
  delete report.generated_at;
  for (const at of Object.values(report.prices_as_of ?? {})) if (at) delete at.age_seconds;
  return report;
}

test('before the first commit: /api/report is 503 with one line, /api/status says there is no run yet', async (t) => {
  const mock = await startMockProvider();
  t.after(() => mock.close());
  const d = await startDaemon(t, mock, tempDir(t), { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'never' });
  await d.waitFor((l) => l.message === 'daemon started');
  const report = await get(d, '/api/report');
  assert.equal(report.status, 503);
  assert.match(report.body, /^no committed poll in the store yet: the report appears after the first poll \(next: \d{4}-01-01T00:00:00\.000Z\)\n$/);
  const status = JSON.parse((await get(d, '/api/status')).body) as { run: string | null; schedule: { interval_seconds: number } };
  assert.equal(status.run, null);
  assert.ok(status.schedule.interval_seconds >= 365 * 86_400, 'a yearly schedule\'s interval');
  assert.equal(await d.stop(), 0);
});

test('/api/report equals `report --format json` on the same store, filters and sections included; ETag, Last-Modified, 304; one computation per commit', async (t) => {
  const mock = await startMockProvider({ failIds: ['fw0080684'] });
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'always', HTTP_RETRIES: '0' });
  await d.waitFor(pollDone);
  const env = { DATA_DIR: d.data };

  // Ten requests at once before any computation: one computation answers them all.
  const first = await Promise.all(Array.from({ length: 10 }, () => get(d, '/api/report')));
  for (const r of first) assert.equal(r.status, 200);
  assert.equal(new Set(first.map((r) => r.body)).size, 1, 'one answer');
  assert.equal(d.count(computed), 1, 'one computation for ten requests');

  const cli = await runCli(['report', '--format', 'json'], { cwd, env });
  assert.equal(cli.code, 0, cli.stderr);
  const since = (json: string) => Date.parse((JSON.parse(json) as { filters: { since: string } }).filters.since);
  assert.ok(Math.abs(since(cli.stdout) - since(first[0]?.body ?? '')) < 120_000, 'both default to 7 days back');
  const noSince = (json: string) => {
    const r = timeless(json) as { filters: { since?: string } };
    delete r.filters.since;
    return r;
  };
  assert.deepEqual(noSince(first[0]?.body ?? ''), noSince(cli.stdout));

  for (const [query, args] of [
    ['?since=2020-01-01', ['--since', '2020-01-01']],
    ['?since=2020-01-01&provider=filmworld&film=empire&section=history', ['--since', '2020-01-01', '--provider', 'filmworld', '--film', 'empire', '--section', 'history']],
    ['?since=48h&section=health', ['--since', '48h', '--section', 'health']],
    ['?section=best-prices&film=tt0080684', ['--section', 'best-prices', '--film', 'tt0080684']],
  ] as const) {
    const api = await get(d, `/api/report${query}`);
    assert.equal(api.status, 200, api.body);
    const out = await runCli(['report', '--format', 'json', ...args], { cwd, env });
    assert.equal(out.code, 0, out.stderr);
    if (query.includes('48h') || !query.includes('since')) assert.deepEqual(noSince(api.body), noSince(out.stdout), query);
    else assert.deepEqual(timeless(api.body), timeless(out.stdout), query);
  }
  // The sections of one filter set come from one computation.
  const computations = d.count(computed);
  await get(d, '/api/report?since=2020-01-01&section=cheapest');
  await get(d, '/api/report?since=2020-01-01&section=health');
  assert.equal(d.count(computed), computations, 'sections are picked from the cached answer');
  assert.match(first[0]?.body ?? '', /"status":"partial"/, 'the partial poll is in the answer');

  // Validators from the last commit.
  const ok = first[0];
  const etag = ok?.headers.get('etag') ?? '';
  const lastModified = ok?.headers.get('last-modified') ?? '';
  const [run] = readdirSync(path.join(d.data, 'runs', readdirSync(path.join(d.data, 'runs'))[0] ?? '')).map((r) => r.replace(/\.parquet$/, ''));
  assert.ok(run && etag.includes(run), `${etag} names the run ${run}`);
  assert.ok(Math.abs(Date.parse(lastModified) - Date.now()) < 3_600_000, lastModified);
  assert.equal(ok?.headers.get('x-content-type-options'), 'nosniff');
  assert.match(ok?.headers.get('content-type') ?? '', /^application\/json/);
  const cached = await get(d, '/api/report', { headers: { 'if-none-match': etag } });
  assert.equal(cached.status, 304);
  assert.equal(cached.body, '');
  assert.equal(cached.headers.get('etag'), etag);
  assert.equal((await get(d, '/api/report', { headers: { 'if-modified-since': lastModified } })).status, 304);
  assert.equal((await get(d, '/api/report', { headers: { 'if-none-match': 'W/"other"', 'if-modified-since': lastModified } })).status, 200, 'If-None-Match wins');
  assert.equal((await get(d, '/api/report', { headers: { 'if-modified-since': new Date(Date.parse(lastModified) - 1000).toUTCString() } })).status, 200);
  const section = await get(d, '/api/report?section=health');
  assert.notEqual(section.headers.get('etag'), etag, 'another representation, another tag');
  const head = await get(d, '/api/report', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers.get('etag'), etag);
  const charts = JSON.parse((await get(d, '/api/charts')).body) as { charts: Array<{ film_key: string; data: unknown[] }> };
  assert.equal(charts.charts.length, mock.catalogue.films.length);
  assert.equal(d.count(computed), computations, 'the charts come from the same computation');

  // The page and its headers.
  const page = await get(d, '/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /^default-src 'none'; /);
  assert.match(csp, /script-src 'sha256-[^']+' 'sha256-[^']+';/);
  assert.match(csp, /connect-src 'self'/);
  assert.doesNotMatch(csp, /unsafe|\*|https?:/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.doesNotMatch(page.body, /\bsrc=|\bhref=/, 'nothing loaded from elsewhere');
  assert.equal(await d.stop(), 0);
});

test('bad requests: 400 naming the parameter, 405 for other methods, 404 for other paths, nosniff on every answer', async (t) => {
  const mock = await startMockProvider();
  t.after(() => mock.close());
  const d = await startDaemon(t, mock, tempDir(t), { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'never' });
  await d.waitFor((l) => l.message === 'daemon started');
  const cases: Array<[string, number, RegExp]> = [
    ['/api/report?since=2026-02-31', 400, /^bad request: parameter "since": expected a duration like 7d or 24h, or a real date like 2026-11-01\n$/],
    ['/api/report?since=yesterday', 400, /^bad request: parameter "since": /],
    ['/api/report?section=everything', 400, /^bad request: parameter "section": expected one of best-prices, cheapest, history, health, schema, alerts\n$/],
    ['/api/report?colour=red', 400, /^bad request: unknown parameter "colour": expected since, provider, film, section, sort, limit, offset\n$/],
    ['/api/report?limit=0', 400, /^bad request: parameter "limit": expected a whole number from 1 to 1000\n$/],
    ['/api/report?limit=1001', 400, /^bad request: parameter "limit": expected a whole number from 1 to 1000\n$/],
    ['/api/report?limit=1e3', 400, /^bad request: parameter "limit": /],
    ['/api/report?limit=%2010', 400, /^bad request: parameter "limit": /],
    ['/api/report?offset=-1', 400, /^bad request: parameter "offset": expected a whole number from 0 to 1000000\n$/],
    ['/api/report?offset=99999999999999999999', 400, /^bad request: parameter "offset": /],
    ['/api/report?sort=price;drop', 400, /^bad request: parameter "sort": expected one of film, price, saving, change, optionally with - first for descending/],
    ['/api/report?sort=--price', 400, /^bad request: parameter "sort": /],
    ['/api/report?film=a%00b', 400, /^bad request: parameter "film" contains a control character\n$/],
    ['/api/charts?limit=5', 400, /^bad request: unknown parameter "limit": expected since, provider, film\n$/],
    ['/api/report?provider=a&provider=b', 400, /^bad request: parameter "provider" given more than once\n$/],
    ['/api/report?film=', 400, /^bad request: parameter "film" is empty\n$/],
    [`/api/report?film=${'x'.repeat(201)}`, 400, /^bad request: parameter "film" is too long \(at most 200 characters\)\n$/],
    ['/api/charts?section=health', 400, /^bad request: unknown parameter "section": expected since, provider, film\n$/],
    ['/?since=tomorrow', 400, /^bad request: parameter "since": /],
    ['/api/status?x=1', 400, /^bad request: unknown parameter "x": this path takes none\n$/],
    [`/api/report?film=${'y'.repeat(3000)}`, 414, /^request target too long/],
    ['/nope', 404, /^not found: try \/, \/api\/report, \/api\/charts, \/api\/status, \/healthz, \/metrics\n$/],
  ];
  for (const [target, status, body] of cases) {
    const r = await get(d, target);
    assert.equal(r.status, status, target);
    assert.match(r.body, body, target);
    assert.equal(r.body.trim().split('\n').length, 1, `${target}: one line`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', target);
  }
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    for (const target of ['/', '/api/report', '/healthz']) {
      const r = await get(d, target, { method });
      assert.equal(r.status, 405, `${method} ${target}`);
      assert.equal(r.headers.get('allow'), 'GET, HEAD');
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    }
  }
  for (const target of ['/healthz', '/metrics', '/api/status']) assert.equal((await get(d, target)).headers.get('x-content-type-options'), 'nosniff', target);
  assert.equal(await d.stop(), 0);
});

test('a report that fails: 500 with one line, logged once, shown in /api/status; the daemon stays healthy', async (t) => {
  const mock = await startMockProvider();
  t.after(() => mock.close());
  const d = await startDaemon(t, mock, tempDir(t), { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'always' });
  await d.waitFor(pollDone);
  // A committed movies file that is not Parquet (a disk fault): DuckDB refuses the whole glob.
  const dt = readdirSync(path.join(d.data, 'movies'))[0] ?? '';
  const file = readdirSync(path.join(d.data, 'movies', dt, 'provider=filmworld'))[0] ?? '';
  writeFileSync(path.join(d.data, 'movies', dt, 'provider=filmworld', file), 'not parquet');
  for (let i = 0; i < 3; i++) {
    const r = await get(d, '/api/report');
    assert.equal(r.status, 500);
    assert.match(r.body, /^report failed: .+\n$/);
    assert.equal(r.body.trim().split('\n').length, 1);
  }
  assert.equal(d.count((l) => l.level === 'error' && /^live report failed/.test(l.message)), 1, 'logged once');
  const status = JSON.parse((await get(d, '/api/status')).body) as { report_error: string | null };
  assert.match(status.report_error ?? '', /.+/);
  assert.equal((await get(d, '/healthz')).status, 200, 'the daemon stays healthy');
  assert.equal(await d.stop(), 0);
});

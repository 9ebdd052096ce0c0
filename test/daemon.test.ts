// The daemon, for real: `movies-collector start` against the simulator over HTTP, driven by
// its schedule, config file edits and signals; the store read back by DuckDB.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider, type MockOptions } from '../src/mock/server.js';
import { writeParquetFile } from '../src/store/parquet/index.js';
import { RUNS_SCHEMA } from '../src/store/schema.js';
import { dtOf } from '../src/store/layout.js';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { query, table } from './duckdb.js';
import { runCli, tempDir } from './helpers.js';

const YEARLY = '0 0 1 1 *';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function mockFor(t: { after(fn: () => unknown): void }, options: MockOptions = {}) {
  const mock = await startMockProvider(options);
  t.after(() => mock.close());
  return mock;
}

async function getJson(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
  return { status: res.status, body: await res.text() };
}

test('on a 2-second schedule several polls commit; /healthz and /metrics report them; SIGTERM exits 0', async (t) => {
  const mock = await mockFor(t);
  const cwd = tempDir(t);
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: '*/2 * * * * *', RUN_ON_START: 'never' });
  await d.waitForCount(pollDone, 3);

  const health = await getJson(d.healthPort, '/healthz');
  assert.equal(health.status, 200);
  const h = JSON.parse(health.body) as { status: string; lastPoll: { status: string; run: string }; nextRun: string; consecutiveFailures: number };
  assert.equal(h.status, 'ok');
  assert.equal(h.lastPoll.status, 'complete');
  assert.match(h.lastPoll.run, /^\d{8}T\d{6}\.\d{3}Z-/);
  assert.ok(Date.parse(h.nextRun) > Date.now() - 1000);
  assert.equal(h.consecutiveFailures, 0);

  const metrics = (await getJson(d.healthPort, '/metrics')).body;
  const value = (name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+(?:\\.\\d+)?)$`, 'm').exec(metrics)?.[1]);
  assert.ok(value('collector_polls_total{status="complete"}') >= 3, metrics);
  assert.ok(value('collector_records_fetched_total{provider="cinemaworld"}') >= 21);
  assert.ok(value('collector_http_responses_total{provider="filmworld",status="200"}') >= 21);
  assert.ok(value('collector_last_success_timestamp_seconds') > Date.now() / 1000 - 60);
  assert.match(metrics, /^collector_poll_duration_seconds_count \d+$/m);
  assert.match(metrics, /^collector_ticks_skipped_total 0$/m);

  assert.equal(await d.stop('SIGTERM'), 0);
  const [runs] = await query(`SELECT count(DISTINCT run)::INT AS polls FROM ${table(d.data, 'runs')}`);
  assert.ok(Number(runs?.polls) >= 3);
  const lastLine = readFileSync(path.join(cwd, 'logs', 'current.log'), 'utf8').trim().split('\n').at(-1) ?? '';
  assert.equal(JSON.parse(lastLine).message, 'daemon stopped', 'the last log line reached the disk');
});

test('a simulator slower than the interval: ticks are skipped and logged, polls never overlap', async (t) => {
  const mock = await mockFor(t, { latencyMs: 700 });
  const cwd = tempDir(t);
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: '* * * * * *', RUN_ON_START: 'never' });
  await d.waitForCount(pollDone, 2, 30_000);
  await d.waitForCount(isMessage(/^tick skipped/), 2);
  const metrics = (await getJson(d.healthPort, '/metrics')).body;
  assert.ok(Number(/^collector_ticks_skipped_total (\d+)$/m.exec(metrics)?.[1]) >= 2);
  assert.equal(await d.stop(), 0);
  const polls = await query(`SELECT run, min(started_at) AS s, max(finished_at) AS f FROM ${table(d.data, 'runs')} GROUP BY run ORDER BY s`);
  for (let i = 1; i < polls.length; i++) {
    assert.ok((polls[i]?.s as Date) >= (polls[i - 1]?.f as Date), `poll ${i} started before poll ${i - 1} finished`);
  }
});

test('SIGTERM mid-poll past the grace period: exit 0, nothing of the poll committed, last lines on disk', async (t) => {
  const mock = await mockFor(t, { latencyMs: 400, movies: 40 });
  const cwd = tempDir(t);
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'always', HTTP_CONCURRENCY: '1', SHUTDOWN_GRACE_MS: '300' });
  await d.waitFor(isMessage(/^polling at start/));
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(await d.stop('SIGTERM'), 0);
  for (const tableName of ['runs', 'movies', 'rejects']) assert.ok(!existsSync(path.join(d.data, tableName)), `${tableName} has nothing`);
  assert.deepEqual(existsSync(path.join(d.data, '_staging')) ? readdirSync(path.join(d.data, '_staging')) : [], []);
  const log = readFileSync(path.join(cwd, 'logs', 'current.log'), 'utf8');
  assert.match(log, /shutdown grace period over: aborting the running poll/);
  assert.match(log, /poll aborted at shutdown: nothing of it was committed/);
  assert.match(log.trim().split('\n').at(-1) ?? '', /daemon stopped/);
});

test('SIGTERM mid-poll within the grace period: the poll finishes and commits', async (t) => {
  const mock = await mockFor(t, { latencyMs: 300 });
  const cwd = tempDir(t);
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'always', SHUTDOWN_GRACE_MS: '20000' });
  await d.waitFor(isMessage(/^polling at start/));
  assert.equal(await d.stop('SIGTERM'), 0);
  const [row] = await query(`SELECT count(*)::INT AS n FROM ${table(d.data, 'movies')}`);
  assert.equal(row?.n, 13);
});

test('a live cron edit takes effect; an invalid edit keeps the old schedule and logs the error', async (t) => {
  const mock = await mockFor(t);
  const cwd = tempDir(t);
  const file = path.join(cwd, 'config.json');
  writeFileSync(file, JSON.stringify({ schedule: { cron: YEARLY } }));
  const d = await startDaemon(t, mock, cwd, { CONFIG_FILE: file, RUN_ON_START: 'never' });
  await d.waitFor(isMessage(/^daemon started/));

  writeFileSync(file, JSON.stringify({ schedule: { cron: '* * * * * *' }, log: { level: 'debug' } }));
  const changed = await d.waitFor(isMessage(/^config reload: schedule changed/));
  assert.match(String(changed.to), /^\* \* \* \* \* \* \(UTC\)$/);
  await d.waitForCount(pollDone, 1);

  writeFileSync(file, JSON.stringify({ schedule: { cron: '61 * * * *' } }));
  const rejected = await d.waitFor(isMessage(/^config reload rejected/));
  assert.match(rejected.message, /schedule\.cron/);
  const before = d.count(pollDone);
  await d.waitForCount(pollDone, before + 2); // the every-second schedule goes on

  // (store.dir would be no test: DATA_DIR in the environment outranks the file.)
  writeFileSync(file, JSON.stringify({ schedule: { cron: '* * * * * *' }, log: { maxSize: '5m' } }));
  await d.waitFor(isMessage(/^config reload: log\.maxSize changed but needs a restart/));
  assert.equal(await d.stop(), 0);
});

test('a restart after a missed tick polls at once; a restart with nothing missed does not', async (t) => {
  const mock = await mockFor(t);
  const cwd = tempDir(t);
  const monthly = '0 0 1 * *';
  // A committed poll 40 days ago: the 1st of a month has passed since.
  const old = new Date(Date.now() - 40 * 86_400_000);
  const oldId = `${old.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}-0000`;
  mkdirSync(path.join(cwd, 'data', 'runs', `dt=${dtOf(old)}`), { recursive: true });
  await writeParquetFile(path.join(cwd, 'data', 'runs', `dt=${dtOf(old)}`, `${oldId}.parquet`), RUNS_SCHEMA, [], { run: oldId });
  const missed = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: monthly });
  const why = await missed.waitFor(isMessage(/^polling at start/));
  assert.match(why.message, /a scheduled poll was missed while the daemon was down/);
  await missed.waitForCount(pollDone, 1);
  assert.equal(await missed.stop(), 0);

  // The poll just made is the latest; no 1st-of-month midnight since.
  const again = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: monthly });
  await again.waitFor(isMessage(/^daemon started/));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(again.count(isMessage(/^polling at start/)), 0);
  assert.equal(await again.stop(), 0);
});

test('a tick that fires late (the process was paused across it) still polls, and says how late', async (t) => {
  const mock = await mockFor(t);
  const d = await startDaemon(t, mock, tempDir(t), { SCHEDULE_CRON: '*/5 * * * * *', RUN_ON_START: 'never' });
  const started = await d.waitFor(isMessage(/^daemon started/));
  let tick = new Date(String(started.nextRun)).getTime();
  if (tick - Date.now() < 1500) tick += 5000; // room to pause before it
  await sleep(tick - Date.now() - 500);
  d.child.kill('SIGSTOP'); // as `docker pause` or a suspended VM would
  await sleep(tick + 2500 - Date.now());
  d.child.kill('SIGCONT');
  const late = await d.waitFor(isMessage(/^tick ran \d+\.\d s late/), 4000);
  assert.equal(late.tick, new Date(tick).toISOString(), 'the tick the pause delayed');
  await d.waitForCount(pollDone, 1, 4000);
  assert.equal(d.count(isMessage(/missed/)), 0, 'not dropped as missed');
  assert.equal(await d.stop(), 0);
});

test('retention removes old dt partitions and keeps recent ones', async (t) => {
  const mock = await mockFor(t);
  const cwd = tempDir(t);
  const first = await runCli(['poll'], { cwd, env: { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url } });
  assert.equal(first.code, 0, first.stderr);
  for (const folder of ['movies/dt=2020-01-01/provider=cinemaworld', 'runs/dt=2020-01-01', 'alerts/dt=2020-01-01']) mkdirSync(path.join(cwd, 'data', folder), { recursive: true });
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'always', RETENTION_DAYS: '3' });
  const line = await d.waitFor(isMessage(/^retention: deleted/));
  assert.deepEqual(line.removed, ['runs/dt=2020-01-01', 'movies/dt=2020-01-01', 'alerts/dt=2020-01-01']);
  assert.equal(await d.stop(), 0);
  assert.deepEqual(readdirSync(path.join(cwd, 'data', 'movies')), [`dt=${dtOf(new Date())}`]);
  const [row] = await query(`SELECT count(DISTINCT run)::INT AS polls FROM ${table(d.data, 'runs')}`);
  assert.equal(row?.polls, 2, 'both of today\'s polls are kept');
});

test('a poll that throws (store unwritable) does not stop the daemon; /healthz turns 503, then recovers', async (t) => {
  const mock = await mockFor(t);
  const cwd = tempDir(t);
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: '* * * * * *', RUN_ON_START: 'never', HEALTH_MAX_CONSECUTIVE_FAILURES: '0' });
  await d.waitForCount(pollDone, 1);
  // A file where the staging folder must be: every write of the store fails (as root, chmod would not).
  rmSync(path.join(d.data, '_staging'), { recursive: true, force: true });
  writeFileSync(path.join(d.data, '_staging'), 'in the way');
  const failed = await d.waitFor(isMessage(/^poll failed: cannot write the store/));
  assert.match(failed.message, /this poll was not committed/);
  const health = await getJson(d.healthPort, '/healthz');
  assert.equal(health.status, 503);
  assert.equal(JSON.parse(health.body).status, 'failing');

  rmSync(path.join(d.data, '_staging'));
  const complete = isMessage(/^poll complete:/);
  const before = d.count(complete);
  await d.waitForCount(complete, before + 1);
  assert.equal((await getJson(d.healthPort, '/healthz')).status, 200);
  assert.equal(await d.stop(), 0);
});

test('SIGHUP reloads the config file; a lower log level is itself logged before it applies', async (t) => {
  const mock = await mockFor(t);
  const cwd = tempDir(t);
  const file = path.join(cwd, 'config.json');
  writeFileSync(file, JSON.stringify({ schedule: { cron: YEARLY }, log: { level: 'info' } }));
  const d = await startDaemon(t, mock, cwd, { CONFIG_FILE: file, RUN_ON_START: 'never', LOG_LEVEL: '' });
  await d.waitFor(isMessage(/^daemon started/));
  // The file is unchanged: only the signal can cause this reload.
  d.child.kill('SIGHUP');
  await d.waitFor(isMessage(/^config reloaded \(SIGHUP\)$/));

  writeFileSync(file, JSON.stringify({ schedule: { cron: YEARLY }, log: { level: 'warn' } }));
  const changed = await d.waitFor(isMessage(/^config reload: log level changed$/));
  assert.deepEqual([changed.from, changed.to], ['info', 'warn']);
  assert.equal(await d.stop(), 0);
  // At warn, the info line of the stop is no longer written.
  assert.equal(d.count(isMessage(/^daemon stopped$/)), 0);
});

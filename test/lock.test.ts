// One writer per store: the daemon and `poll` take DATA_DIR/_LOCK; a second daemon or a poll beside
// a daemon says who holds it and exits 75; a second poll waits; a dead holder's lock is taken over;
// a staged run whose id is in the store already never blocks later polls. Real processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider, type MockOptions } from '../src/mock/server.js';
import { LOCK_DIR, LOCK_INFO, STALE_MS, acquireStoreLock } from '../src/store/lock.js';
import { processStartTime, thisProcess } from '../src/runtime/process-identity.js';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { query, table } from './duckdb.js';
import { CLI, cleanEnv, runCli, tempDir } from './helpers.js';

const YEARLY = '0 0 1 1 *';

async function mockFor(t: { after(fn: () => unknown): void }, options: MockOptions = {}) {
  const mock = await startMockProvider(options);
  t.after(() => mock.close());
  return mock;
}

const pollIn = (dir: string, mock: { url: string; token: string }, env: Record<string, string> = {}) =>
  runCli(['poll'], { cwd: dir, env: { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), ...env } });

test('a second daemon on the same store exits 75 naming the first; a poll beside the daemon says why at once', { timeout: 90_000 }, async (t) => {
  const mock = await mockFor(t);
  const cwd = tempDir(t);
  const first = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'always' });
  await first.waitFor(pollDone);

  const second = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'always' });
  const code = await new Promise<number | null>((resolve) => second.child.once('exit', (c) => resolve(c)));
  assert.equal(code, 75);
  assert.ok(second.count(isMessage(new RegExp(`the store at .* is locked by \`start\` \\(pid ${first.child.pid} on host`))) >= 1, JSON.stringify(second.lines.slice(-3)));
  assert.equal(second.count(pollDone), 0, 'the second daemon never polled');

  const started = Date.now();
  const beside = await pollIn(cwd, mock);
  assert.equal(beside.code, 75, beside.stderr);
  assert.match(beside.stderr, new RegExp(`locked by \`start\` \\(pid ${first.child.pid} `));
  assert.ok(Date.now() - started < STALE_MS, 'a poll beside a daemon does not wait for it');

  assert.equal(await first.stop(), 0);
  const after = await pollIn(cwd, mock);
  assert.equal(after.code, 0, `the lock is released at a clean stop: ${after.stderr}`);
  const [runs] = await query(`SELECT count(DISTINCT run)::INT AS n FROM ${table(path.join(cwd, 'data'), 'runs')}`);
  assert.equal(runs?.n, 2);
});

test('two polls at once: the second waits for the first, both commit under different run ids', async (t) => {
  const mock = await mockFor(t, { latencyMs: 1500 }); // a poll of ~5 s: the two overlap even when one process starts late
  const dir = tempDir(t);
  const [a, b] = await Promise.all([pollIn(dir, mock), pollIn(dir, mock)]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(a.stderr + b.stderr, /the store is locked by `poll` \(pid \d+/);
  const runs = await query(`SELECT run, min(started_at) AS s, max(finished_at) AS f FROM ${table(path.join(dir, 'data'), 'runs')} GROUP BY run ORDER BY s`);
  assert.equal(runs.length, 2);
  assert.ok((runs[0]?.f as Date) <= (runs[1]?.s as Date), 'the polls did not overlap');
});

test('a lock left by a dead process is taken over once stale; a fresh one held by a daemon elsewhere is not', async (t) => {
  const mock = await mockFor(t);
  const dir = tempDir(t);
  const data = path.join(dir, 'data');
  mkdirSync(path.join(data, LOCK_DIR), { recursive: true });
  writeFileSync(path.join(data, LOCK_INFO), JSON.stringify({ pid: 999_999, host: 'gone', command: 'poll', since: '2026-01-01T00:00:00Z' }));
  const old = new Date(Date.now() - STALE_MS - 5000);
  utimesSync(path.join(data, LOCK_DIR), old, old);
  const taken = await pollIn(dir, mock);
  assert.equal(taken.code, 0, taken.stderr);

  // A fresh lock held by a daemon elsewhere (another container on the volume) is refused at once, naming it.
  mkdirSync(path.join(data, LOCK_DIR));
  writeFileSync(path.join(data, LOCK_INFO), JSON.stringify({ pid: 4242, host: 'elsewhere', command: 'start', since: '2026-11-25T00:00:00Z' }));
  const refused = await pollIn(dir, mock);
  assert.equal(refused.code, 75);
  assert.match(refused.stderr, /locked by `start` \(pid 4242 on host elsewhere, since 2026-11-25T00:00:00Z\): one collector writes a store at a time/);
});

test('a staged run whose id is already in the store (an older version\'s collision) is discarded, and polls go on', async (t) => {
  const mock = await mockFor(t);
  const dir = tempDir(t);
  const data = path.join(dir, 'data');
  assert.equal((await pollIn(dir, mock)).code, 0);
  // Stage a copy of the committed run, as a crash after _READY would have left it.
  const [dt] = readdirSync(path.join(data, 'runs'));
  const [run] = readdirSync(path.join(data, 'runs', dt ?? ''));
  const runId = String(run).replace(/\.parquet$/, '');
  for (const tableName of ['movies', 'rejects', 'runs']) {
    for (const file of readdirSync(path.join(data, tableName), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(`${runId}.parquet`))) {
      cpSync(path.join(data, tableName, file), path.join(data, '_staging', runId, tableName, file));
    }
  }
  writeFileSync(path.join(data, '_staging', runId, '_READY'), JSON.stringify({ runId, dt: String(dt).slice(3), tables: ['movies', 'rejects', 'runs'] }));

  for (let i = 0; i < 2; i++) {
    const next = await pollIn(dir, mock);
    assert.equal(next.code, 0, next.stderr);
    if (i === 0) assert.match(next.stderr, /recovery: the store already had this run id; discarded the staged copy/);
  }
  assert.deepEqual(readdirSync(path.join(data, '_staging')), []);
  const [counts] = await query(`SELECT count(DISTINCT run)::INT AS runs, count(*)::INT AS rows FROM ${table(data, 'movies')}`);
  assert.deepEqual(counts, { runs: 3, rows: 39 });
});

test('a lock whose holder on this host is dead, or whose mtime lies in the future, is taken over without waiting for it to go stale', async (t) => {
  const mock = await mockFor(t);
  const dir = tempDir(t);
  const data = path.join(dir, 'data');
  for (const [pid, mtime] of [[999_999, new Date(Date.now() - 5000)], [4242, new Date(Date.now() + 3_600_000)]] as const) {
    mkdirSync(path.join(data, LOCK_DIR), { recursive: true });
    const { boot, pidns } = thisProcess(); // recorded in this boot and pid namespace: its pid proves it gone
    writeFileSync(path.join(data, LOCK_INFO), JSON.stringify({ pid, host: pid === 4242 ? 'elsewhere' : hostname(), boot, pidns, command: 'start', since: '2026-01-01T00:00:00Z' }));
    utimesSync(path.join(data, LOCK_DIR), mtime, mtime);
    const taken = await pollIn(dir, mock);
    assert.equal(taken.code, 0, taken.stderr);
    assert.match(taken.stderr, pid === 4242 ? /taking over the store lock of `start` \(pid 4242 on host elsewhere.*\), which was refreshed in the future/ : /taking over the store lock of `start` \(pid 999999 .*\), which is no longer running/);
  }
});

test('a daemon frozen past the stale time loses its lock to a second one, exits 1, and leaves the new holder named', { timeout: 90_000 }, async (t) => {
  const mock = await mockFor(t);
  const cwd = tempDir(t);
  const first = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'never' });
  await first.waitFor(isMessage(/^daemon started/));
  first.child.kill('SIGSTOP'); // docker pause
  const second = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'never' });
  await second.waitFor(isMessage(/^daemon started/), 30_000);
  first.child.kill('SIGCONT');
  const code = await new Promise<number | null>((resolve) => first.child.once('exit', (c) => resolve(c)));
  assert.equal(code, 1);
  assert.ok(first.count(isMessage(/^store lock lost/)) === 1, JSON.stringify(first.lines.slice(-3)));
  const beside = await pollIn(cwd, mock);
  assert.equal(beside.code, 75);
  assert.match(beside.stderr, new RegExp(`locked by \`start\` \\(pid ${second.child.pid} `), 'the frozen daemon did not remove the new holder\'s name');
  assert.equal(await second.stop(), 0);
});

/** Whether a process is stopped (SIGSTOP): state T in /proc/<pid>/stat. */
function isStopped(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

test('a daemon frozen during its commit, whose lock was taken over meanwhile, makes nothing of its poll visible', { timeout: 90_000 }, async (t) => {
  const mock = await mockFor(t);
  const cwd = tempDir(t);
  // Stops itself (SIGSTOP) once its poll is staged, just before the renames that make it visible.
  const first = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'always', MOVIES_COLLECTOR_TEST_STOP_AT: 'staged' });
  const pid = first.child.pid ?? 0;
  for (let i = 0; i < 300 && !isStopped(pid); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(isStopped(pid), 'the first daemon froze in its commit');
  const staged = readdirSync(path.join(cwd, 'data', '_staging'));
  assert.equal(staged.length, 1);
  const frozenRun = String(staged[0]);

  const second = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'always' });
  await second.waitFor(pollDone, 40_000);
  first.child.kill('SIGCONT');
  const code = await new Promise<number | null>((resolve) => first.child.once('exit', (c) => resolve(c)));
  assert.equal(code, 1);
  assert.ok(first.count(isMessage(/store lock lost|lost the store lock/)) >= 1, JSON.stringify(first.lines.slice(-5)));
  for (const tableName of ['movies', 'rejects', 'runs']) {
    const dts = existsSync(path.join(cwd, 'data', tableName)) ? readdirSync(path.join(cwd, 'data', tableName)) : [];
    for (const dt of dts) assert.ok(!existsSync(path.join(cwd, 'data', tableName, dt, `run=${frozenRun}`)), `${tableName}: the frozen daemon's run became visible`);
  }
  const [runs] = await query(`SELECT count(DISTINCT run)::INT AS n FROM ${table(path.join(cwd, 'data'), 'runs')}`);
  assert.equal(runs?.n, 1, 'only the new holder\'s poll is committed');
  assert.equal(await second.stop(), 0);
});

test('the lock of a collector SIGKILLed on this host is taken over at once', { timeout: 60_000 }, async (t) => {
  const mock = await mockFor(t);
  const cwd = tempDir(t);
  const daemon = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'never' });
  await daemon.waitFor(isMessage(/^daemon started/));
  await daemon.stop('SIGKILL');
  const poll = await pollIn(cwd, mock);
  assert.equal(poll.code, 0, poll.stderr);
  assert.match(poll.stderr, new RegExp(`taking over the store lock of \`start\` \\(pid ${daemon.child.pid} .*\\), which is no longer running`));
  assert.doesNotMatch(poll.stderr, /waiting up to/, 'taken over without waiting for it to go stale');
});

test('a lock naming a pid that now belongs to another process (a reused pid) is taken over at once', async (t) => {
  const mock = await mockFor(t);
  const dir = tempDir(t);
  const data = path.join(dir, 'data');
  mkdirSync(path.join(data, LOCK_DIR), { recursive: true });
  // This test's own pid is alive, but it started at another time than the holder recorded.
  const { boot, pidns } = thisProcess();
  writeFileSync(path.join(data, LOCK_INFO), JSON.stringify({ pid: process.pid, host: hostname(), boot, pidns, command: 'start', since: '2026-01-01T00:00:00Z', started: '1' }));
  // A hand-made _LOCK.json does not name its lock folder: the folder's age vouches for it. Kept at
  // 5 s (past two refreshes, short of stale) however long the poll takes to start on a busy machine.
  const handMade = statSync(path.join(data, LOCK_DIR)).ino;
  const age = () => {
    const old = new Date(Date.now() - 5000);
    try {
      if (statSync(path.join(data, LOCK_DIR)).ino === handMade) utimesSync(path.join(data, LOCK_DIR), old, old); // never the poll's own lock
    } catch {
      // taken over already
    }
  };
  age();
  const ageing = setInterval(age, 100);
  const poll = await pollIn(dir, mock).finally(() => clearInterval(ageing));
  assert.equal(poll.code, 0, poll.stderr);
  assert.match(poll.stderr, /which is no longer running/);
});

/** The CLI in a pid namespace of its own (`unshare`, root only): as a container is, it runs as pid 1 under this host name. */
function inOwnPidNamespace(args: string[], env: Record<string, string>) {
  return spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', process.execPath, CLI, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}
const canUnshare = process.getuid?.() === 0 && existsSync('/usr/bin/unshare') ? false : 'needs root and unshare(1) for pid namespaces';

test('two containers with one host name, both pid 1 (own pid namespaces): the second is refused, never takes the live lock over; a holder from an older version (no namespace) waits for staleness', { skip: canUnshare, timeout: 60_000 }, async (t) => {
  const mock = await mockFor(t);
  const dir = tempDir(t);
  const env = { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), SCHEDULE_CRON: YEARLY, RUN_ON_START: 'never', HEALTH_PORT: '0' };
  const first = inOwnPidNamespace(['start'], env);
  t.after(() => first.kill('SIGKILL'));
  let out = '';
  first.stdout.setEncoding('utf8'); // whole characters, even when one spans two chunks
  first.stdout.on('data', (d: string) => (out += d));
  first.stderr.setEncoding('utf8'); // whole characters, even when one spans two chunks
  first.stderr.on('data', (d: string) => (out += d));
  for (let i = 0; i < 300 && !out.includes('daemon started'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(out, /daemon started/);
  const holder = JSON.parse(readFileSync(path.join(dir, 'data', LOCK_INFO), 'utf8')) as { pid: number; pidns: string };
  assert.equal(holder.pid, 1, 'the daemon runs as pid 1 in its namespace');
  assert.notEqual(holder.pidns, thisProcess().pidns);
  const second = inOwnPidNamespace(['poll'], env);
  let err = '';
  second.stderr.setEncoding('utf8'); // whole characters, even when one spans two chunks
  second.stderr.on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
  assert.equal(code, 75, err);
  assert.match(err, /locked by `start` \(pid 1 on host /);
  assert.doesNotMatch(err, /taking over/);
  // From this namespace the holder (pid 1 elsewhere) cannot be judged either: it is left alone too.
  const beside = await pollIn(dir, mock);
  assert.equal(beside.code, 75, beside.stderr);
  first.kill('SIGKILL'); // unshare does not pass SIGTERM on; --kill-child ends the daemon with it
  await new Promise((r) => first.once('exit', r));
  // An older version's _LOCK.json (no boot, no namespace) naming a gone pid on this host: waited for until stale, not taken at once.
  mkdirSync(path.join(dir, 'data', LOCK_DIR), { recursive: true });
  writeFileSync(path.join(dir, 'data', LOCK_INFO), JSON.stringify({ pid: 999_999, host: hostname(), command: 'start', since: '2026-01-01T00:00:00Z' }));
  const old = await pollIn(dir, mock);
  assert.equal(old.code, 75, old.stderr);
  assert.doesNotMatch(old.stderr, /taking over/);
});

test('a waiter names a holder that wrote _LOCK.json a moment after making _LOCK, not "another collector" or the previous holder', async (t) => {
  const root = tempDir(t);
  const holder = spawn('sleep', ['30']);
  t.after(() => holder.kill());
  mkdirSync(path.join(root, LOCK_DIR));
  // The previous holder's file is still there: it names another folder.
  writeFileSync(path.join(root, LOCK_INFO), JSON.stringify({ pid: 999_999, host: 'gone', command: 'poll', since: '2026-01-01T00:00:00Z', lock: { ino: 1, birthtimeMs: 1 } }));
  const folder = statSync(path.join(root, LOCK_DIR));
  setTimeout(() => writeFileSync(path.join(root, LOCK_INFO), JSON.stringify({
    pid: holder.pid, host: hostname(), command: 'poll', since: '2026-12-02T00:00:00Z', started: processStartTime(holder.pid ?? 0), lock: { ino: folder.ino, birthtimeMs: folder.birthtimeMs },
  })), 400);
  const waits: string[] = [];
  const refused = await acquireStoreLock(root, { command: 'poll', waitMs: 2_500, onWait: (h) => waits.push(h), onLost: () => undefined }).then(() => null, (err: Error) => err);
  assert.deepEqual(waits, [`\`poll\` (pid ${holder.pid} on host ${hostname()}, since 2026-12-02T00:00:00Z)`]);
  assert.match(refused?.message ?? 'acquired', new RegExp(`locked by \`poll\` \\(pid ${holder.pid} `));
});

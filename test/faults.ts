// Fault injection and the store's invariants, shared by the fast fault tests (npm test) and the
// full torture run (npm run torture). Faults are real: SIGKILL, a full tmpfs, a read-only mount.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { generator } from '../src/mock/random.js';
import { CURRENT_LOG } from '../src/log/log.js';
import { READY_MARKER, STAGING_DIR, TABLES } from '../src/store/layout.js';
import { CLI, cleanEnv } from './helpers.js';

export interface FaultResult {
  fault: string;
  injected: number;
  survived: number;
  committedPollsLost: number;
  partialFilesSeen: number;
  notes: string[];
  /** What the injections hit, printed under the table. */
  details?: string;
}

export interface StoreState {
  /** Committed polls (runs rows exist) → movie rows per provider. */
  committed: Map<string, Record<string, number>>;
  /** Files in the tables that DuckDB cannot read. */
  partialFiles: string[];
  /** Table partitions of polls that have no runs rows. */
  orphans: string[];
  /** Entries left in _staging. */
  staging: string[];
  /** Committed polls whose rows disagree with their runs rows. */
  problems: string[];
}

function partFiles(data: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  for (const table of TABLES) if (existsSync(path.join(data, table))) walk(path.join(data, table));
  return files;
}

/** Reads every file of the store on its own, and checks each committed poll against its runs rows. */
export async function inspectStore(data: string): Promise<StoreState> {
  const state: StoreState = { committed: new Map(), partialFiles: [], orphans: [], staging: [], problems: [] };
  state.staging = existsSync(path.join(data, STAGING_DIR)) ? readdirSync(path.join(data, STAGING_DIR)) : [];
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  try {
    const counts = new Map<string, number>(); // "<table>/<run>/<provider>" → rows
    const runRows = new Map<string, Array<{ provider: string; fetched: number; rejected: number }>>();
    for (const file of partFiles(data)) {
      const [table, , providerPart] = path.relative(data, file).split(path.sep);
      try {
        // The run id is a column: a poll's own file holds one run, a compacted day many.
        if (table === 'runs') {
          const rows = (await con.runAndReadAll(`SELECT run, provider, fetched, rejected FROM read_parquet($f)`, { f: file })).getRowObjectsJS();
          for (const r of rows) {
            const run = String(r.run);
            runRows.set(run, [...(runRows.get(run) ?? []), { provider: String(r.provider), fetched: Number(r.fetched), rejected: Number(r.rejected) }]);
          }
        } else {
          for (const row of (await con.runAndReadAll(`SELECT run, count(*)::INT AS n FROM read_parquet($f) GROUP BY run`, { f: file })).getRowObjectsJS()) {
            counts.set(`${table}/${String(row.run)}/${providerPart?.replace(/^provider=/, '')}`, Number(row.n));
          }
        }
      } catch {
        state.partialFiles.push(path.relative(data, file));
      }
    }
    for (const key of counts.keys()) {
      const run = key.split('/')[1] ?? '';
      if (!runRows.has(run)) state.orphans.push(key);
    }
    for (const [run, rows] of runRows) {
      const perProvider: Record<string, number> = {};
      for (const r of rows) {
        const movies = counts.get(`movies/${run}/${r.provider}`) ?? 0;
        const rejects = counts.get(`rejects/${run}/${r.provider}`) ?? 0;
        perProvider[r.provider] = movies;
        // The simulator runs without list rejects here, so every reject is a detail answer.
        if (rejects !== r.rejected || movies !== r.fetched - r.rejected) {
          state.problems.push(`${run}/${r.provider}: ${movies} movies + ${rejects} rejects, runs says fetched ${r.fetched}, rejected ${r.rejected}`);
        }
      }
      state.committed.set(run, perProvider);
    }
  } finally {
    con.closeSync();
    instance.closeSync();
  }
  return state;
}

/** Every poll committed before must still be there with the same rows. */
export function lostPolls(before: StoreState, after: StoreState): string[] {
  return [...before.committed].filter(([run, rows]) => JSON.stringify(after.committed.get(run)) !== JSON.stringify(rows)).map(([run]) => run);
}

export interface Target {
  url: string;
  token: string;
}

export function cliEnv(target: Target, cwd: string, extra: Record<string, string> = {}): Record<string, string> {
  return { API_TOKEN: target.token, PROVIDER_BASE_URL: target.url, DATA_DIR: path.join(cwd, 'data'), LOG_DIR: path.join(cwd, 'logs'), HEALTH_PORT: '0', ...extra };
}

export function spawnCli(args: string[], env: Record<string, string>, cwd: string): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8'); // whole characters, even when one spans two chunks
  child.stdout?.on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8'); // whole characters, even when one spans two chunks
  child.stderr?.on('data', (d: string) => (output += d));
  return Object.assign(child, { output: () => output });
}

const exited = (child: ChildProcess) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined));

/**
 * SIGKILL a poll or the daemon at a random moment, n times (seeded); restart the same command,
 * which recovers the staging itself; check the invariants. A restarted daemon must schedule a poll
 * (runOnStart off, so the commit comes from a tick) and stop cleanly.
 */
export async function killLoop(target: Target, cwd: string, iterations: number, seed: number): Promise<FaultResult> {
  const rand = generator(seed);
  const result: FaultResult = { fault: 'SIGKILL at a random moment (poll or daemon)', injected: 0, survived: 0, committedPollsLost: 0, partialFilesSeen: 0, notes: [] };
  const data = path.join(cwd, 'data');
  let before = await inspectStore(data);
  const hit = { inCommit: 0, rolledForward: 0, discarded: 0, daemons: 0 };
  for (let i = 0; i < iterations; i++) {
    const daemon = rand() < 0.4;
    const args = daemon ? ['start'] : ['poll'];
    const child = spawnCli(args, cliEnv(target, cwd, daemon ? { SCHEDULE_CRON: '* * * * * *', RUN_ON_START: 'always' } : {}), cwd);
    // 40% of the kills land anywhere; the rest inside a commit, windows too short for uniformly
    // random kills to hit often: 30% while files are staged, 30% once _READY is written (renaming).
    const pick = rand();
    const moment = pick < 0.4 ? 'anywhere' : pick < 0.7 ? 'staging' : 'renaming';
    const delay = moment === 'anywhere' ? 100 + Math.floor(rand() * (daemon ? 3000 : 1500)) : Math.floor(rand() * (moment === 'staging' ? 120 : 2));
    if (moment !== 'anywhere') await Promise.race([stagingReaches(data, moment, 20_000), exited(child)]);
    await Promise.race([sleep(delay), exited(child)]);
    const killedAlive = alive(child);
    child.kill('SIGKILL');
    await exited(child);
    result.injected++;
    const atKill = await inspectStore(data); // before any recovery: still no partial file in a table
    const { complaints, output } = await restartAfterKill(target, cwd, daemon, atKill);
    if (atKill.staging.length > 0) hit.inCommit++;
    if (/recovery: finished committing/.test(output)) hit.rolledForward++;
    if (/recovery: discarded/.test(output)) hit.discarded++;
    if (daemon) hit.daemons++;
    const after = await inspectStore(data);
    const lost = lostPolls(before, after);
    const partial = atKill.partialFiles.length + after.partialFiles.length;
    result.committedPollsLost += lost.length;
    result.partialFilesSeen += partial;
    if (after.orphans.length > 0) complaints.push(`orphans ${after.orphans.join(',')}`);
    if (after.staging.length > 0) complaints.push(`staging ${after.staging.join(',')}`);
    complaints.push(...after.problems);
    if (lost.length === 0 && partial === 0 && complaints.length === 0) result.survived++;
    else result.notes.push(`#${i} ${args[0]} killed ${moment === 'anywhere' ? 'at' : `${moment}, after`} ${delay} ms${killedAlive ? '' : ' (had exited)'}: lost ${lost.join(',')} partial ${[...atKill.partialFiles, ...after.partialFiles].join(',')} ${complaints.join('; ')}`);
    before = after;
  }
  result.details = `${hit.daemons} of ${iterations} kills hit the daemon (each restarted daemon scheduled a poll and stopped cleanly); ` +
    `${hit.inCommit} hit a commit with files in _staging: the restart rolled ${hit.rolledForward} forward and discarded ${hit.discarded}`;
  return result;
}

/** Resolves once a poll has started staging its files, or has written _READY (checked every millisecond or two). */
async function stagingReaches(data: string, step: 'staging' | 'renaming', timeoutMs: number): Promise<void> {
  const staging = path.join(data, STAGING_DIR);
  const reached = () => {
    const runs = existsSync(staging) ? readdirSync(staging) : [];
    return step === 'staging' ? runs.length > 0 : runs.some((run) => existsSync(path.join(staging, run, READY_MARKER)));
  };
  const deadline = Date.now() + timeoutMs;
  while (!reached() && Date.now() < deadline) await sleep(1);
}

/** Runs the killed command again; returns what went wrong (nothing, if it recovered and went on) and its output. */
async function restartAfterKill(target: Target, cwd: string, daemon: boolean, atKill: StoreState): Promise<{ complaints: string[]; output: string }> {
  const complaints: string[] = [];
  const data = path.join(cwd, 'data');
  let output: string;
  if (daemon) {
    const restarted = spawnCli(['start'], cliEnv(target, cwd, { SCHEDULE_CRON: '* * * * * *', RUN_ON_START: 'never' }), cwd);
    try {
      await until(async () => (await inspectStore(data)).committed.size > atKill.committed.size || !alive(restarted), 30_000, 'a scheduled poll after the restart');
      if (!alive(restarted)) complaints.push(`the restarted daemon exited ${restarted.exitCode}`);
      restarted.kill('SIGTERM');
      await exited(restarted);
      if (restarted.exitCode !== 0) complaints.push(`the restarted daemon exited ${restarted.exitCode} on SIGTERM`);
    } finally {
      if (alive(restarted)) restarted.kill('SIGKILL');
    }
    output = restarted.output();
  } else {
    const rerun = await runToEnd(['poll'], cliEnv(target, cwd), cwd);
    if (rerun.code !== 0 && rerun.code !== 2) complaints.push(`the poll run after the kill exited ${rerun.code}`);
    output = rerun.output;
  }
  // The log says what recovery did with each leftover.
  if (atKill.staging.length > 0 && !/recovery: (finished committing|discarded)/.test(output)) {
    complaints.push(`staging held ${atKill.staging.join(',')} but the restart logged no recovery`);
  }
  return { complaints, output };
}

// ---- filesystems ----------------------------------------------------------------------

export function mountTmpfs(dir: string, size: string): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return () => execFileSync('umount', ['-l', dir]);
}

/**
 * Remounts read-only once no file on it is open for writing: the kernel refuses (busy) while one is,
 * and a poll keeps its staged files open while it runs. Tries until a moment between polls.
 */
export async function remountReadOnlyBetweenWrites(dir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      remount(dir, 'ro');
      return;
    } catch (err) {
      if (attempt >= 500 || !/busy/.test(String((err as { stderr?: unknown }).stderr ?? err))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

export function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir]);
}

/** Fills a filesystem until ENOSPC, leaving `leaveBytes` free (roughly); returns the filler's path. */
export function fill(dir: string, leaveBytes = 0): string {
  const filler = path.join(dir, '.filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch {
    // ENOSPC: full
  } finally {
    closeSync(fd);
  }
  if (leaveBytes > 0) execFileSync('truncate', ['-s', `-${leaveBytes}`, filler]); // free a little room again
  return filler;
}

// ---- scenarios ------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

async function runToEnd(args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; output: string }> {
  const child = spawnCli(args, env, cwd);
  await exited(child);
  return { code: child.exitCode, output: child.output() };
}

/** Runs one scenario as one injection: survived when it returns no complaint. */
async function scenario(fault: string, body: (notes: string[]) => Promise<{ lost: number; partial: number }>): Promise<FaultResult> {
  const notes: string[] = [];
  try {
    const { lost, partial } = await body(notes);
    return { fault, injected: 1, survived: notes.length === 0 ? 1 : 0, committedPollsLost: lost, partialFilesSeen: partial, notes };
  } catch (err) {
    return { fault, injected: 1, survived: 0, committedPollsLost: 0, partialFilesSeen: 0, notes: [...notes, String(err)] };
  }
}

function expect(notes: string[], ok: boolean, complaint: string): void {
  if (!ok) notes.push(complaint);
}

/** DATA_DIR on a small tmpfs filled up: the poll fails cleanly, staging is cleaned, earlier polls are intact, and once space is freed polls succeed. */
export function diskFullPoll(target: Target, cwd: string): Promise<FaultResult> {
  return scenario('DATA_DIR full (poll)', async (notes) => {
    const data = path.join(cwd, 'data');
    const unmount = mountTmpfs(data, '2m');
    try {
      const env = cliEnv(target, cwd);
      expect(notes, (await runToEnd(['poll'], env, cwd)).code === 0, 'baseline poll failed');
      const before = await inspectStore(data);
      const filler = fill(data, 12 * 1024);
      const full = await runToEnd(['poll'], env, cwd);
      expect(notes, full.code === 1, `a poll on a full disk exited ${full.code}`);
      expect(notes, /cannot write the store .*\(ENOSPC\): the disk is full/.test(full.output), `no clear line about the full disk: ${full.output.slice(-300)}`);
      const after = await inspectStore(data);
      expect(notes, after.staging.length === 0, `staging not cleaned: ${after.staging.join(',')}`);
      rmSync(filler);
      const freed = await runToEnd(['poll'], env, cwd);
      expect(notes, freed.code === 0, `after freeing space the poll exited ${freed.code}`);
      const last = await inspectStore(data);
      expect(notes, last.committed.size === before.committed.size + 1, 'the poll after freeing space was not committed');
      return { lost: lostPolls(before, after).length + lostPolls(before, last).length, partial: after.partialFiles.length + last.partialFiles.length };
    } finally {
      unmount();
    }
  });
}

/** A running daemon whose DATA_DIR fills up (or turns read-only): polls fail, the daemon goes on, and succeeds once the disk is usable again. */
export function storeBrokenWhileRunning(target: Target, cwd: string, how: 'full' | 'read-only'): Promise<FaultResult> {
  return scenario(how === 'full' ? 'DATA_DIR full (daemon)' : 'DATA_DIR read-only while running', async (notes) => {
    const data = path.join(cwd, 'data');
    const unmount = mountTmpfs(data, '2m');
    const daemon = spawnCli(['start'], cliEnv(target, cwd, { SCHEDULE_CRON: '* * * * * *', RUN_ON_START: 'always' }), cwd);
    try {
      await until(async () => (await inspectStore(data)).committed.size >= 1, 20_000, 'a first commit');
      const before = await inspectStore(data);
      const filler = how === 'full' ? fill(data) : (await remountReadOnlyBetweenWrites(data), null);
      const cause = how === 'full' ? /cannot write the store .*\(ENOSPC\)/ : /cannot write the store .*\(EROFS\)/;
      await until(() => cause.test(daemon.output()), 20_000, `a failed poll (${how})`);
      expect(notes, alive(daemon), 'the daemon died');
      if (filler) rmSync(filler);
      else remount(data, 'rw');
      const failedAt = (await inspectStore(data)).committed.size;
      await until(async () => (await inspectStore(data)).committed.size > failedAt, 20_000, 'a commit after the disk came back');
      daemon.kill('SIGTERM');
      await exited(daemon);
      expect(notes, daemon.exitCode === 0, `SIGTERM exit ${daemon.exitCode}`);
      // No recovery here: after a clean stop the failed polls must have cleaned their own staging.
      const after = await inspectStore(data);
      expect(notes, after.staging.length === 0 && after.orphans.length === 0 && after.problems.length === 0, `store: ${JSON.stringify({ ...after, committed: after.committed.size })}`);
      return { lost: lostPolls(before, after).length, partial: after.partialFiles.length };
    } finally {
      if (alive(daemon)) daemon.kill('SIGKILL');
      unmount();
    }
  });
}

/** LOG_DIR fills up under a running daemon: it keeps collecting, and its log files resume once space is freed. */
export function logDirFull(target: Target, cwd: string): Promise<FaultResult> {
  return scenario('LOG_DIR full (daemon)', async (notes) => {
    const logs = path.join(cwd, 'logs');
    const data = path.join(cwd, 'data');
    const unmount = mountTmpfs(logs, '1m');
    const daemon = spawnCli(['start'], cliEnv(target, cwd, { SCHEDULE_CRON: '* * * * * *', RUN_ON_START: 'always', LOG_LEVEL: 'debug' }), cwd);
    try {
      await until(async () => (await inspectStore(data)).committed.size >= 1, 20_000, 'a first commit');
      const filler = fill(logs);
      const before = await inspectStore(data);
      await until(async () => (await inspectStore(data)).committed.size >= before.committed.size + 3, 30_000, 'three commits with the log folder full');
      expect(notes, /log\.dir: cannot write log files .*ENOSPC/.test(daemon.output()), 'no line saying the log folder is full');
      expect(notes, alive(daemon), 'the daemon died');
      rmSync(filler);
      const resumed = /log\.dir: writing log files in .* again/;
      await until(() => resumed.test(daemon.output()), 20_000, 'a line saying the log files resumed');
      // The files themselves take lines again: the resume line, then polls committed after it.
      const onDisk = () => readFileSync(path.join(logs, CURRENT_LOG), 'utf8');
      await until(() => resumed.test(onDisk()) && /"message":"poll (complete|partial)/.test(onDisk().slice(onDisk().search(resumed))), 20_000, 'poll lines in current.log after space was freed');
      const torn = onDisk().split('\n').filter((line) => line !== '' && !parsesAsJson(line));
      expect(notes, torn.length === 0, `current.log has ${torn.length} lines that are not JSON: ${torn.join(' | ').slice(0, 300)}`);
      daemon.kill('SIGTERM');
      await exited(daemon);
      expect(notes, daemon.exitCode === 0, `SIGTERM exit ${daemon.exitCode}`);
      const after = await inspectStore(data);
      return { lost: lostPolls(before, after).length, partial: after.partialFiles.length };
    } finally {
      if (alive(daemon)) daemon.kill('SIGKILL');
      unmount();
    }
  });
}

function parsesAsJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** A read-only DATA_DIR or LOG_DIR at start: exit 78 with a line naming the setting. */
export function readOnlyAtStart(target: Target, cwd: string, which: 'DATA_DIR' | 'LOG_DIR'): Promise<FaultResult> {
  return scenario(`${which} read-only at start`, async (notes) => {
    const dir = path.join(cwd, which === 'DATA_DIR' ? 'data' : 'logs');
    const unmount = mountTmpfs(dir, '1m');
    try {
      remount(dir, 'ro');
      for (const command of ['poll', 'start']) {
        const r = await runToEnd([command], cliEnv(target, cwd), cwd);
        const setting = which === 'DATA_DIR' ? 'store.dir' : 'log.dir';
        expect(notes, r.code === 78, `${command}: exit ${r.code}`);
        expect(notes, new RegExp(`^config error: ${setting.replace('.', '\\.')}: .*\\(EROFS\\).*\\(${which}\\)$`, 'm').test(r.output), `${command}: ${r.output}`);
      }
      return { lost: 0, partial: 0 };
    } finally {
      unmount();
    }
  });
}

// A year with everything on (figures, not a test; issue 28): the real daemon (`start`, as its bin
// runs it) with 3 alert rules, a webhook destination and the S3 sink shipping to a local Ceph
// radosgw, on a store of a year of 15-minute polls of the 13 films (compacted) and on a store of
// one day, side by side. Both stores are cached (bench/age-store.ts: built as 0.2.0 wrote them,
// given an alerts/ history, then upgraded and compacted by `movies-collector compact`); each run
// works on hard-link copies.
//
// Both daemons run at once, each against a simulator of its own with the same seed (the same
// prices, drifting at every poll, so the rules fire now and then), one webhook receiver answering
// 200, and one radosgw behind a counting proxy, each with a bucket of its own. They poll in turn (every --every seconds, half a period apart), so the
// machine's load falls on both alike. Each daemon starts with a cron that never fires; once
// /healthz says its sink has shipped the whole store (pendingPolls 0, idle), the config file's cron
// is switched to the fast one (the daemon applies schedule edits at once).
//   A. untraced: after --warmup polls, the CPU of the daemon and its descendants (utime + stime
//      of each, reaped children included, from /proc) between two commits (its `poll <status>:`
//      log lines), --polls times, with the bytes it wrote to disk (/proc/<pid>/io), the S3
//      requests (counted by the proxy) and the webhook deliveries of the same windows; then, the
//      cron back to "never", the CPU and S3 requests of --idle-minutes idle minutes (the sink's
//      idle passes and day checks, the stale check, the timers): between two commits 15 minutes
//      apart there are 15 of those, at the fast schedule a few seconds' worth;
//   B. the same daemons started again under strace (-f --seccomp-bpf: stopped only at the calls
//      counted), shipped already: openat (files, and folders: a folder listed is a folder opened;
//      with --strace-calls all also getdents64 and stat-like calls: newfstatat, statx, access...)
//      between two commits, --strace-polls times after the warm-up, and in one idle minute, with
//      the paths they touch and the distinct days (dt=) among them;
//   C. the stores after the run: files under alerts/ per closed day.
// Usage: npm run bench:age [-- --days 365 --interval 15 --alert-files-per-day 4 --polls 12
//          --warmup 3 --strace-polls 6 --every 10 --idle-minutes 2 --strace-calls openat|all
//          --fresh --keep DIR]
// --keep DIR caches the stores under DIR (default /var/tmp/mc-age) and keeps the run's copies,
// logs and strace files there; without it they are removed at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createS3Client } from '../src/s3/client.js';
import { startMockProvider } from '../src/mock/server.js';
import { HEAP_FLAGS } from '../src/runtime/heap.js';
import { dtFolders, dtOf } from '../src/store/layout.js';
import { startReceiver } from '../test/alerts-receiver.js';
import { freePort } from '../test/daemon-helpers.js';
import { cephInstalled, startCluster } from '../test/ceph.js';
import { startFaultProxy } from '../test/s3-proxy.js';
import { createBucket, s3Settings } from '../test/s3-helpers.js';
import { CACHE_ROOT, cachedStore, type CachedStore } from './age-store.js';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '365' },
    interval: { type: 'string', default: '15' },
    'alert-files-per-day': { type: 'string', default: '4' },
    polls: { type: 'string', default: '12' },
    warmup: { type: 'string', default: '3' },
    'strace-polls': { type: 'string', default: '6' },
    every: { type: 'string', default: '10' },
    'idle-minutes': { type: 'string', default: '2' },
    /** openat: files and folders opened (a folder opened is a folder listed); add getdents64 and stat-like calls with "all". */
    'strace-calls': { type: 'string', default: 'openat' },
    fresh: { type: 'boolean', default: false },
    keep: { type: 'string' },
  },
});
const DAYS = Number(values.days);
const INTERVAL = Number(values.interval);
const ALERT_FILES = Number(values['alert-files-per-day']);
const POLLS = Number(values.polls);
const WARMUP = Number(values.warmup);
const STRACE_POLLS = Number(values['strace-polls']);
const EVERY = Number(values.every);
const IDLE_MINUTES = Number(values['idle-minutes']);
if (!(POLLS >= 2 && STRACE_POLLS >= 1 && WARMUP >= 0 && DAYS >= 2 && INTERVAL > 0 && ALERT_FILES >= 0 && IDLE_MINUTES >= 0)) throw new Error('bench:age: --polls >= 2, --strace-polls >= 1, --days >= 2 expected');
if (!(EVERY >= 2 && EVERY <= 60 && 60 % EVERY === 0 && EVERY % 2 === 0)) throw new Error('bench:age: --every must divide 60 and be even (2, 4, 6, 10, 12, 20, 30, 60)');
if (spawnSync('sh', ['-c', 'command -v strace']).status !== 0) throw new Error('bench:age needs strace: apt-get install strace (npm test\'s pretest installs it)');
if (!cephInstalled()) throw new Error('bench:age needs Debian\'s ceph-mon, ceph-osd, radosgw and ceph-common (npm test\'s pretest installs them)');

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, '../src/cli.js');
const cacheRoot = values.keep ?? CACHE_ROOT;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const NEVER = '0 0 1 1 *';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Process tree CPU, from /proc

interface ProcStat { ppid: number; ticks: number }

function procStat(pid: string): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the command: state ppid ... utime(14) stime(15) cutime(16) cstime(17), 1-based in the whole line.
    const n = (i: number) => Number(rest[i - 3]);
    return { ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17) };
  } catch {
    return null; // gone meanwhile
  }
}

/** CPU ms of `pid` and every descendant (their reaped children included, via cutime and cstime). */
function treeCpuMs(pid: number): number {
  const all = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(name);
    if (s) all.set(Number(name), s);
  }
  const tree = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, s] of all) {
      if (!tree.has(p) && tree.has(s.ppid)) {
        tree.add(p);
        grew = true;
      }
    }
  }
  let ticks = 0;
  for (const p of tree) ticks += all.get(p)?.ticks ?? 0;
  return (ticks * 1000) / CLK_TCK;
}

/** Bytes the process has written to the storage layer (page cache included), less those cancelled (a file removed before write-back). */
function writtenBytes(pid: number): number {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
    return field('write_bytes') - field('cancelled_write_bytes');
  } catch {
    return NaN;
  }
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

// ---------------------------------------------------------------------------------------------
// The daemons

interface LogLine { level: string; message: string; timestamp?: string; [key: string]: unknown }

/** A commit seen in the log, with the counters read when its line arrived. */
interface PollMark { at: number; status: string; cpuMs: number; written: number; s3: number; s3Kinds: Record<string, number>; hooks: number }

interface Counters { s3: () => number; s3Kinds: () => Record<string, number>; hooks: () => number }

/** What an S3 request is, from its method and query (path style). */
function s3Kind(method: string, url: string): string {
  const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
  if (method === 'GET' && /[?&]list-type=2/.test(query)) return 'LIST';
  if (method === 'GET' && /[?&]uploads/.test(query)) return 'LIST uploads';
  return url.includes('_lease.json') ? `${method} lease` : url.includes('/_probe/') ? `${method} probe` : method;
}

class Daemon {
  readonly polls: PollMark[] = [];
  readonly warnings: string[] = [];
  private waiters: Array<() => void> = [];
  private exited = false;

  private constructor(
    readonly name: string,
    readonly cwd: string,
    readonly child: ChildProcess,
    readonly port: number,
    private readonly counters: Counters,
    private readonly writeConfig: (cron: string) => void,
    private readonly traced = false,
  ) {
    child.once('exit', () => {
      this.exited = true;
      for (const w of this.waiters) w();
    });
    let buffered = '';
    child.stderr?.setEncoding('utf8'); // whole characters, even when one spans two chunks
    child.stderr?.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          if (!text.startsWith('strace: ')) this.warnings.push(`(not JSON) ${text.slice(0, 300)}`);
          continue;
        }
        const poll = /^poll (complete|partial|failed):/.exec(line.message);
        if (poll) {
          this.polls.push({ at: Date.parse(line.timestamp ?? '') || Date.now(), status: poll[1] ?? '', cpuMs: treeCpuMs(this.pid), written: writtenBytes(this.pid), s3: this.counters.s3(), s3Kinds: this.counters.s3Kinds(), hooks: this.counters.hooks() });
          for (const w of this.waiters) w();
        } else if (line.level === 'error' || line.level === 'warn') {
          this.warnings.push(`${line.level}: ${line.message.slice(0, 300)}`);
        }
      }
    });
  }

  /** The daemon's pid (under strace, strace's child). */
  get pid(): number {
    const own = this.child.pid ?? 0;
    if (!this.traced) return own;
    for (const name of readdirSync('/proc')) {
      if (/^\d+$/.test(name) && procStat(name)?.ppid === own) return Number(name);
    }
    return own;
  }

  /**
   * Starts the daemon with a cron that never fires; with `straceFile`, under strace from its first
   * instruction: --seccomp-bpf stops it only at the calls counted (attaching to a running daemon
   * stops it at every call of every thread: a year's poll then blocked its event loop for seconds
   * and the store lock's refresh with it).
   */
  static async start(name: string, cwd: string, config: Record<string, unknown>, token: string, counters: Counters, straceFile?: string): Promise<Daemon> {
    const port = await freePort();
    mkdirSync(path.join(cwd, 'config'), { recursive: true });
    const file = path.join(cwd, 'config', 'config.json');
    const writeConfig = (cron: string) => {
      // Whole or not at all: the daemon checks the file every second.
      writeFileSync(`${file}.tmp`, JSON.stringify({ ...config, schedule: { cron, timezone: 'UTC', runOnStart: 'never' }, health: { port, host: '127.0.0.1' } }, null, 2));
      renameSync(`${file}.tmp`, file);
    };
    writeConfig(NEVER);
    // As the bin runs it (the heap flags of its #! line); a clean environment: the config file says the rest.
    const command = [process.execPath, ...HEAP_FLAGS, CLI, 'start'];
    const traced = straceFile === undefined ? command : ['strace', '-f', '--seccomp-bpf', ...STRACE_ARGS, '-o', straceFile, '--', ...command];
    const child = spawn(traced[0] as string, traced.slice(1), {
      cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', API_TOKEN: token }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    const daemon = new Daemon(name, cwd, child, port, counters, writeConfig, straceFile !== undefined);
    for (let i = 0; ; i++) {
      if (daemon.exited) throw new Error(`${name}: the daemon exited at start: ${daemon.warnings.join(' | ')}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status < 600) break;
      } catch {
        if (i > 1200) throw new Error(`${name}: the daemon did not open its port within 2 minutes`);
      }
      await sleep(100);
    }
    return daemon;
  }

  schedule(cron: string): void {
    this.writeConfig(cron);
  }

  async health(): Promise<{ status: string; s3?: { state: string; pendingPolls: number; shippedObjects: number; lastError: string | null } }> {
    return (await (await fetch(`http://127.0.0.1:${this.port}/healthz`)).json()) as { status: string; s3?: { state: string; pendingPolls: number; shippedObjects: number; lastError: string | null } };
  }

  /** Resolves once `count` polls in all have been seen. */
  async pollsSeen(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.polls.length < count) {
      if (this.exited) throw new Error(`${this.name}: the daemon exited: ${this.warnings.slice(-5).join(' | ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: ${this.polls.length} of ${count} polls after ${timeoutMs / 1000} s: ${this.warnings.slice(-5).join(' | ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 5_000));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(done);
      });
      this.waiters = [];
    }
  }

  async stop(): Promise<number | null> {
    if (this.exited) return this.child.exitCode;
    const exit = once(this.child, 'exit');
    process.kill(this.pid, 'SIGTERM'); // the daemon itself (strace exits with it, with its exit code)
    const timer = setTimeout(() => process.kill(this.pid, 'SIGKILL'), 60_000);
    const [code] = (await exit) as [number | null];
    clearTimeout(timer);
    return code;
  }
}

// ---------------------------------------------------------------------------------------------
// strace

interface Call { at: number; syscall: string; path: string }

const OPENS = ['openat', 'open'];
const LISTS = ['getdents64'];
const LOOKUPS = ['newfstatat', 'statx', 'stat', 'lstat', 'access', 'faccessat', 'faccessat2'];
/**
 * The calls traced. Each one stops the daemon (ptrace): on a year's store a poll makes ~33,000
 * openat, ~66,000 getdents64 and ~58,000 stat-like calls, and tracing all of them blocked its
 * event loop for 7 s in one run out of two, long enough for the store lock to go stale (the daemon
 * then stops, as it must). So openat alone by default (a folder listed is a folder opened).
 */
const TRACED = values['strace-calls'] === 'all' ? [...OPENS, ...LISTS, ...LOOKUPS] : values['strace-calls'].split(',').flatMap((c) => (c === 'openat' ? OPENS : [c]));
const TRACES_LISTS = LISTS.some((c) => TRACED.includes(c));
const TRACES_LOOKUPS = LOOKUPS.some((c) => TRACED.includes(c));
/** Epoch timestamps (to cut the trace at the log's commits), paths of descriptors, whole path strings. */
const STRACE_ARGS = ['-ttt', '-y', '-s', '4096', '-e', `trace=${TRACED.join(',')}`];

function parseStrace(file: string): Call[] {
  const calls: Call[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    // "<pid> <epoch.us> <syscall>(<args>" (whole, or "<unfinished ...>"); "<... x resumed>" lines are the same call.
    const m = /^\d+\s+(\d+\.\d+)\s+([a-z0-9_]+)\((.*)$/.exec(line);
    if (!m) continue;
    const [, at, syscall, rest] = m as unknown as [string, string, string, string];
    let p = '';
    if (syscall === 'getdents64') {
      p = /^\d+<([^>]*)>/.exec(rest)?.[1] ?? '?';
    } else {
      // The path argument (the first quoted string); relative to a directory fd, that fd's path first.
      const q = /(?:^|, )(?:(?:AT_FDCWD|\d+)<([^>]*)>, )?"((?:[^"\\]|\\.)*)"/.exec(rest);
      const dir = q?.[1] ?? '';
      const arg = q?.[2] ?? '';
      p = arg.startsWith('/') || dir === '' ? arg : arg === '' ? dir : `${dir}/${arg}`;
      if (syscall === 'openat' || syscall === 'open') {
        const dirFlag = /O_DIRECTORY/.test(rest);
        calls.push({ at: Number(at) * 1000, syscall: dirFlag ? 'openat(dir)' : 'openat', path: p });
        continue;
      }
    }
    calls.push({ at: Number(at) * 1000, syscall, path: p });
  }
  return calls;
}

/** A path with its days, run ids and numbers folded, relative to the daemon's folder. */
function pattern(p: string, cwd: string): string {
  return (p.startsWith(`${cwd}/`) ? p.slice(cwd.length + 1) : p)
    .replace(/dt=\d{4}-\d{2}-\d{2}/g, 'dt=*')
    .replace(/\d{8}T\d{6}(?:\.\d{3})?Z-[0-9a-f]{4,8}/g, '<run>')
    .replace(/\/proc\/\d+/g, '/proc/<pid>')
    .replace(/\.corrupt-\S+$/, '.corrupt-*')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>');
}

interface FileCounts {
  /** Per window (between two commits): calls by kind. */
  windows: Array<Record<string, number>>;
  /** Distinct days (dt=) touched per window. */
  days: number[];
  /** Calls per window by kind and path pattern (mean over windows). */
  byPattern: Map<string, number>;
}

function countFiles(calls: Call[], bounds: number[], cwd: string): FileCounts {
  const windows: Array<Record<string, number>> = [];
  const days: number[] = [];
  const byPattern = new Map<string, number>();
  for (let w = 0; w + 1 < bounds.length; w++) {
    const from = bounds[w] as number;
    const to = bounds[w + 1] as number;
    const counts: Record<string, number> = { openat: 0, 'openat(dir)': 0, getdents64: 0, lookups: 0 };
    const dts = new Set<string>();
    for (const c of calls) {
      if (c.at < from || c.at >= to) continue;
      const kind = LOOKUPS.includes(c.syscall) ? 'lookups' : c.syscall;
      counts[kind] = (counts[kind] ?? 0) + 1;
      for (const d of c.path.matchAll(/dt=(\d{4}-\d{2}-\d{2})/g)) dts.add(d[1] ?? '');
      const key = `${kind} ${pattern(c.path, cwd)}`;
      byPattern.set(key, (byPattern.get(key) ?? 0) + 1);
    }
    windows.push(counts);
    days.push(dts.size);
  }
  for (const [k, v] of byPattern) byPattern.set(k, v / Math.max(1, windows.length));
  return { windows, days, byPattern };
}

// ---------------------------------------------------------------------------------------------
// Figures

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
const diffs = (xs: number[]): number[] => xs.slice(1).map((x, i) => x - (xs[i] as number));

interface StoreFigures {
  name: string;
  store: CachedStore;
  preship: { seconds: number; requests: number; objects: number };
  cpu: number[];
  /** Bytes written to disk per poll (the daemon's /proc/<pid>/io). */
  written: number[];
  s3: number[];
  /** S3 requests per poll by kind (mean over the CPU windows). */
  s3Kinds: Record<string, number>;
  hooks: number;
  statuses: string[];
  files: FileCounts;
  idle: { cpuPerMinute: number; s3PerMinute: number; files: FileCounts | null };
  alerts: { closedDays: number; daysWithFiles: number; maxPerDay: number; meanPerDay: number; today: number };
  storeFiles: number;
  /** runs/dt= folders after the run (closed days and today). */
  storeDays: number;
  rssMb: number;
  warnings: string[];
  exit: number | null;
}

/** Files under alerts/ by day: closed days (before today, UTC) and today's. */
function alertFiles(data: string, today: string): StoreFigures['alerts'] {
  const dir = path.join(data, 'alerts');
  const closedDays = existsSync(path.join(data, 'runs')) ? dtFolders(readdirSync(path.join(data, 'runs'))).filter((d) => d < today).length : 0;
  const perDay: number[] = [];
  let todays = 0;
  if (existsSync(dir)) {
    for (const dt of dtFolders(readdirSync(dir))) {
      const n = readdirSync(path.join(dir, `dt=${dt}`)).filter((f) => f.endsWith('.parquet')).length;
      if (dt < today) perDay.push(n);
      else todays += n;
    }
  }
  return { closedDays, daysWithFiles: perDay.length, maxPerDay: Math.max(0, ...perDay), meanPerDay: perDay.reduce((a, b) => a + b, 0) / Math.max(1, closedDays), today: todays };
}

function countParquet(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) if (e.isFile() && e.name.endsWith('.parquet')) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// The run

async function main(): Promise<void> {
  const started = performance.now();
  const stores = {
    year: await cachedStore({ days: DAYS, intervalMinutes: INTERVAL, alertFilesPerDay: ALERT_FILES }, cacheRoot, values.fresh),
    day: await cachedStore({ days: 1, intervalMinutes: INTERVAL, alertFilesPerDay: ALERT_FILES }, cacheRoot, values.fresh),
  };
  const names = ['year', 'day'] as const;
  mkdirSync(cacheRoot, { recursive: true });
  const work = mkdtempSync(path.join(cacheRoot, 'run-'));
  say(`bench:age: working under ${work}`);
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const cluster = await startCluster();
    cleanups.push(() => cluster.stop());
    const admin = createS3Client(s3Settings(cluster.endpoint, cluster, 'x', ''));
    for (const name of names) await createBucket(admin, `age-${name}`);
    admin.destroy();
    // Requests by bucket (path style: /<bucket>/<key>), counted on their way to radosgw.
    const s3Requests: Record<string, number> = { year: 0, day: 0 };
    const s3Kinds: Record<string, Record<string, number>> = { year: {}, day: {} };
    const proxy = await startFaultProxy(cluster.endpoint, (req: http.IncomingMessage) => {
      const bucket = /^\/age-(year|day)(?:[/?]|$)/.exec(req.url ?? '')?.[1];
      if (bucket) {
        s3Requests[bucket] = (s3Requests[bucket] ?? 0) + 1;
        const kinds = s3Kinds[bucket] ?? {};
        const kind = s3Kind(req.method ?? '', req.url ?? '');
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
      return 'pass';
    });
    cleanups.push(() => proxy.close());
    // A simulator per daemon, same seed: both see the same prices. They move by up to 2% at each
    // poll (each list call): about one poll in three makes an alert.
    const mocks = new Map<string, Awaited<ReturnType<typeof startMockProvider>>>();
    for (const name of names) {
      const mock = await startMockProvider({ priceDrift: 0.02, seed: 28 });
      cleanups.push(() => mock.close());
      mocks.set(name, mock);
    }
    const mockOf = (name: string) => mocks.get(name) as Awaited<ReturnType<typeof startMockProvider>>;
    const receiver = await startReceiver({ after: () => undefined });
    cleanups.push(() => receiver.close());
    const hooks = (name: string) => receiver.received.filter((r) => r.path === `/hook-${name}`).length;

    const configs = new Map<string, Record<string, unknown>>();
    for (const name of names) {
      const cwd = path.join(work, name);
      mkdirSync(cwd, { recursive: true });
      const r = spawnSync('cp', ['-al', stores[name].data, path.join(cwd, 'data')], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`cp -al: ${r.stderr}`);
      configs.set(name, {
        api: { baseUrl: mockOf(name).url },
        store: { dir: path.join(cwd, 'data') },
        log: { dir: path.join(cwd, 'logs'), level: 'info' },
        alerts: {
          rules: [
            { name: 'drop', type: 'price-drop', percent: 2 },
            { name: 'cheapest', type: 'cheapest-change' },
            { name: 'target', type: 'target-price', film: 'Empire Strikes Back', price: 13 },
          ],
          destinations: [{ name: 'hook', type: 'webhook', url: `${receiver.url}/hook-${name}`, secret: 'bench-age-signing-key-0123456789' }],
        },
        s3: { bucket: `age-${name}`, endpoint: proxy.endpoint, forcePathStyle: true, region: 'us-east-1', accessKeyId: cluster.accessKeyId, secretAccessKey: cluster.secretAccessKey },
      });
    }
    const counters = (name: string): Counters => ({ s3: () => s3Requests[name] ?? 0, s3Kinds: () => ({ ...s3Kinds[name] }), hooks: () => hooks(name) });
    const startAll = async (trace: (name: string) => string | undefined) => {
      const daemons = new Map<string, Daemon>();
      for (const name of names) {
        const d = await Daemon.start(name, path.join(work, name), configs.get(name) ?? {}, mockOf(name).token, counters(name), trace(name));
        daemons.set(name, d);
        cleanups.push(() => d.stop());
      }
      return (name: string) => daemons.get(name) as Daemon;
    };
    /** Waits until each sink has shipped the whole store (pending 0, a pass finished). */
    const shipped = (get: (name: string) => Daemon) => Promise.all(names.map(async (name) => {
      const d = get(name);
      const t0 = performance.now();
      for (;;) {
        const h = await d.health();
        if (h.s3 && h.s3.state === 'idle' && h.s3.pendingPolls === 0) return { seconds: (performance.now() - t0) / 1000, requests: s3Requests[name] ?? 0, objects: h.s3.shippedObjects };
        if (performance.now() - t0 > 20 * 60_000) throw new Error(`${name}: not shipped within 20 minutes: ${JSON.stringify(h.s3)}`);
        await sleep(500);
      }
    }));
    // The daemons poll in turn: the year's at 0, every, 2 x every... s; the day's half a period later.
    const ticks = (offset: number) => Array.from({ length: 60 / EVERY }, (_, i) => i * EVERY + offset).join(',');
    const polling = (get: (name: string) => Daemon) => {
      get('year').schedule(`${ticks(0)} * * * * *`);
      get('day').schedule(`${ticks(EVERY / 2)} * * * * *`);
    };
    const pollTimeout = (n: number) => (n + 3) * EVERY * 1000 * 3 + 60_000;
    /** Waits for `n` more polls of each daemon; their marks (n + 1 of them: the last seen before, and the n new). */
    const nextPolls = async (get: (name: string) => Daemon, n: number) => {
      const from = new Map(names.map((name) => [name, get(name).polls.length]));
      await Promise.all(names.map((name) => get(name).pollsSeen((from.get(name) ?? 0) + n, pollTimeout(n))));
      return new Map(names.map((name) => [name, get(name).polls.slice(Math.max(0, (from.get(name) ?? 0) - 1), (from.get(name) ?? 0) + n)]));
    };

    // A. Untraced daemons: pre-shipping, CPU per poll, idle minutes.
    const a = await startAll(() => undefined);
    const preshipStarted = performance.now();
    const preshipped = await shipped(a);
    const preship = Object.fromEntries(names.map((n, i) => [n, preshipped[i] as StoreFigures['preship']]));
    say(`bench:age: stores shipped in ${((performance.now() - preshipStarted) / 1000).toFixed(0)} s (year ${preship.year?.objects ?? 0} objects, day ${preship.day?.objects ?? 0})`);
    polling(a);
    await nextPolls(a, WARMUP);
    say(`bench:age: ${WARMUP} warm-up polls each; measuring CPU over ${POLLS} polls`);
    const cpuMarks = await nextPolls(a, POLLS);
    const idle = new Map<string, { cpuPerMinute: number; s3PerMinute: number }>();
    if (IDLE_MINUTES > 0) {
      say(`bench:age: idle for ${IDLE_MINUTES} minute(s)`);
      for (const n of names) a(n).schedule(NEVER);
      await sleep(Math.max(15_000, EVERY * 2000)); // the last poll's side work ends
      const cpu0 = new Map(names.map((n) => [n, treeCpuMs(a(n).pid)]));
      const s30 = { ...s3Requests };
      await sleep(IDLE_MINUTES * 60_000);
      for (const n of names) idle.set(n, { cpuPerMinute: (treeCpuMs(a(n).pid) - (cpu0.get(n) ?? 0)) / IDLE_MINUTES, s3PerMinute: ((s3Requests[n] ?? 0) - (s30[n] ?? 0)) / IDLE_MINUTES });
    }
    const rss = new Map(names.map((n) => [n, rssMb(a(n).pid)]));
    const exits = new Map<string, number | null>();
    for (const n of names) {
      const h = await a(n).health();
      if ((h.s3?.pendingPolls ?? 0) > 0) a(n).warnings.push(`s3 still ${h.s3?.pendingPolls ?? 0} polls behind at the end`);
      exits.set(n, await a(n).stop());
    }

    // B. The same daemons again under strace: files opened and listed per poll, and in an idle minute.
    say(`bench:age: under strace: ${WARMUP} warm-up polls, then ${STRACE_POLLS} polls and an idle minute each`);
    const traceFile = (n: string, what: string) => path.join(work, `strace-${n}-${what}.txt`);
    const b = await startAll((n) => traceFile(n, 'all'));
    let traceMarks = new Map<string, PollMark[]>();
    let idleWindow: [number, number] | null = null;
    let traceError: string | null = null;
    try {
      await shipped(b);
      polling(b);
      await nextPolls(b, WARMUP);
      traceMarks = await nextPolls(b, STRACE_POLLS);
      if (IDLE_MINUTES > 0) {
        for (const n of names) b(n).schedule(NEVER);
        await sleep(Math.max(15_000, EVERY * 2000));
        const t0 = Date.now();
        await sleep(60_000);
        idleWindow = [t0, Date.now()];
      }
    } catch (err) {
      // The figures of phase A stand; say why these are missing.
      traceError = err instanceof Error ? err.message : String(err);
      say(`bench:age: the strace phase failed: ${traceError}`);
    }
    for (const n of names) {
      const code = await b(n).stop();
      if (exits.get(n) === 0 && traceError === null) exits.set(n, code);
    }

    // The stores after the run.
    const today = dtOf(new Date());
    const figures: StoreFigures[] = [];
    for (const n of names) {
      const calls = parseStrace(traceFile(n, 'all'));
      const cwd = path.join(work, n);
      const marks = cpuMarks.get(n) ?? [];
      const i = idle.get(n);
      figures.push({
        name: n, store: stores[n], preship: preship[n] as StoreFigures['preship'],
        cpu: diffs(marks.map((m) => m.cpuMs)), written: diffs(marks.map((m) => m.written)), s3: diffs(marks.map((m) => m.s3)), hooks: (marks.at(-1)?.hooks ?? 0) - (marks[0]?.hooks ?? 0),
        s3Kinds: kindsPerPoll(marks[0]?.s3Kinds ?? {}, marks.at(-1)?.s3Kinds ?? {}, marks.length - 1),
        statuses: marks.slice(1).map((m) => m.status),
        files: countFiles(calls, (traceMarks.get(n) ?? []).map((m) => m.at), cwd),
        idle: { cpuPerMinute: i?.cpuPerMinute ?? NaN, s3PerMinute: i?.s3PerMinute ?? NaN, files: idleWindow ? countFiles(calls, idleWindow, cwd) : null },
        alerts: alertFiles(path.join(cwd, 'data'), today), storeFiles: countParquet(path.join(cwd, 'data')), rssMb: rss.get(n) ?? NaN,
        storeDays: dtFolders(readdirSync(path.join(cwd, 'data', 'runs'))).length,
        warnings: [...a(n).warnings, ...b(n).warnings], exit: exits.get(n) ?? null,
      });
    }
    report(figures, (performance.now() - started) / 1000, traceError);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => say(`cleanup: ${String(err)}`));
    if (values.keep === undefined) rmSync(work, { recursive: true, force: true });
    else say(`bench:age: the run's copies, logs and strace files are under ${work}`);
  }
}

function report(figs: StoreFigures[], seconds: number, traceError: string | null): void {
  const [year, day] = figs as [StoreFigures, StoreFigures];
  const out: string[] = [];
  const row = (label: string, a: string, b: string, ratio = '') => out.push(`  ${label.padEnd(52)} ${a.padStart(16)} ${b.padStart(16)} ${ratio.padStart(8)}`);
  const r = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : '');
  const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
  const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
  const kinds = (c: FileCounts, k: string) => c.windows.map((w) => w[k] ?? 0);
  out.push('');
  out.push(`bench:age: the daemon with 3 alert rules, a webhook and the S3 sink (Ceph radosgw); ${year.store.polls} polls (${DAYS} days of ${INTERVAL}-minute polls, compacted) against ${day.store.polls} (one day); both polling every ${EVERY} s, ${EVERY / 2} s apart`);
  out.push(`  ${''.padEnd(52)} ${'year'.padStart(16)} ${'one day'.padStart(16)} ${'ratio'.padStart(8)}`);
  row('store: days, parquet files (after the run)', `${DAYS}, ${year.storeFiles}`, `1, ${day.storeFiles}`);
  row('pre-shipping: objects, requests, seconds', `${year.preship.objects}, ${year.preship.requests}, ${f0(year.preship.seconds)}`, `${day.preship.objects}, ${day.preship.requests}, ${f0(day.preship.seconds)}`);
  row(`daemon CPU per poll, median of ${year.cpu.length} (ms)`, f0(median(year.cpu)), f0(median(day.cpu)), r(median(year.cpu), median(day.cpu)));
  row('  min-max (ms)', `${f0(Math.min(...year.cpu))}-${f0(Math.max(...year.cpu))}`, `${f0(Math.min(...day.cpu))}-${f0(Math.max(...day.cpu))}`);
  row('  mean (ms)', f0(mean(year.cpu)), f0(mean(day.cpu)), r(mean(year.cpu), mean(day.cpu)));
  row('bytes written to disk per poll (KB, median)', f0(median(year.written) / 1024), f0(median(day.written) / 1024), r(median(year.written), median(day.written)));
  row('S3 requests per poll (mean; median)', `${f1(mean(year.s3))}; ${f0(median(year.s3))}`, `${f1(mean(day.s3))}; ${f0(median(day.s3))}`);
  const kindsText = (k: Record<string, number>) => Object.entries(k).sort((x, y) => y[1] - x[1]).map(([name, v]) => `${v.toFixed(1)} ${name}`).join(', ');
  out.push(`    year: ${kindsText(year.s3Kinds)}`);
  out.push(`    one day: ${kindsText(day.s3Kinds)}`);
  row('webhook deliveries in those polls', String(year.hooks), String(day.hooks));
  row(`files opened per poll (openat, median of ${year.files.windows.length})`, f0(median(kinds(year.files, 'openat'))), f0(median(kinds(day.files, 'openat'))), r(median(kinds(year.files, 'openat')), median(kinds(day.files, 'openat'))));
  row('folders opened per poll (openat O_DIRECTORY)', f0(median(kinds(year.files, 'openat(dir)'))), f0(median(kinds(day.files, 'openat(dir)'))), r(median(kinds(year.files, 'openat(dir)')), median(kinds(day.files, 'openat(dir)'))));
  if (TRACES_LISTS) row('getdents64 per poll', f0(median(kinds(year.files, 'getdents64'))), f0(median(kinds(day.files, 'getdents64'))), r(median(kinds(year.files, 'getdents64')), median(kinds(day.files, 'getdents64'))));
  if (TRACES_LOOKUPS) row('stat-like lookups per poll (statx, newfstatat, access)', f0(median(kinds(year.files, 'lookups'))), f0(median(kinds(day.files, 'lookups'))), r(median(kinds(year.files, 'lookups')), median(kinds(day.files, 'lookups'))));
  row('distinct days (dt=) touched per poll', f0(median(year.files.days)), f0(median(day.files.days)));
  // How often each day's folder is listed per poll: runs/dt=D folders opened, over the days the store has then.
  const walks = (f: StoreFigures, days: number) => (f.files.byPattern.get('openat(dir) data/runs/dt=*') ?? 0) / days;
  row('listings of each runs/dt= folder per poll', f1(walks(year, year.storeDays)), f1(walks(day, day.storeDays)));
  if (Number.isFinite(year.idle.cpuPerMinute)) {
    const idleKinds = (f: StoreFigures, k: string) => (f.idle.files ? (f.idle.files.windows[0]?.[k] ?? 0) : NaN);
    row(`idle minute: CPU (ms; mean of ${IDLE_MINUTES})`, f0(year.idle.cpuPerMinute), f0(day.idle.cpuPerMinute), r(year.idle.cpuPerMinute, day.idle.cpuPerMinute));
    row('idle minute: S3 requests', f1(year.idle.s3PerMinute), f1(day.idle.s3PerMinute));
    const idleCalls = ['openat', 'openat(dir)', ...(TRACES_LISTS ? ['getdents64'] : []), ...(TRACES_LOOKUPS ? ['lookups'] : [])];
    row(`idle minute: ${idleCalls.join(', ').replace('openat(dir)', 'folders')}`, idleCalls.map((k) => f0(idleKinds(year, k))).join(', '), idleCalls.map((k) => f0(idleKinds(day, k))).join(', '));
    row('idle minute: distinct days touched', f0(year.idle.files?.days[0] ?? NaN), f0(day.idle.files?.days[0] ?? NaN));
    // A window between two commits at --every seconds holds every/60 of a minute's background; at 15-minute polls, 15 minutes of it.
    const per15 = (f: StoreFigures) => median(f.cpu) + (15 - EVERY / 60) * f.idle.cpuPerMinute;
    row('CPU between commits 15 min apart, est. (poll + idle)', f0(per15(year)), f0(per15(day)), r(per15(year), per15(day)));
  }
  row('alerts/: files per closed day (max; mean)', `${year.alerts.maxPerDay}; ${year.alerts.meanPerDay.toFixed(2)}`, `${day.alerts.maxPerDay}; ${day.alerts.meanPerDay.toFixed(2)}`);
  row('alerts/: closed days, days with files, files today', `${year.alerts.closedDays}, ${year.alerts.daysWithFiles}, ${year.alerts.today}`, `${day.alerts.closedDays}, ${day.alerts.daysWithFiles}, ${day.alerts.today}`);
  row('daemon RSS at the end (MB)', f0(year.rssMb), f0(day.rssMb));
  row('poll statuses in the CPU phase', summarize(year.statuses), summarize(day.statuses));
  out.push('');
  out.push('  per poll by call and path (mean of the strace windows; days, run ids, tables and providers folded), year / one day:');
  patternRows(out, year.files.byPattern, day.files.byPattern, 30);
  if (year.idle.files && day.idle.files) {
    out.push('  an idle minute by call and path, year / one day:');
    patternRows(out, year.idle.files.byPattern, day.idle.files.byPattern, 20);
  }
  out.push('');
  out.push(`  CPU per poll (ms), year: ${year.cpu.map(f0).join(', ')}`);
  out.push(`  CPU per poll (ms), day:  ${day.cpu.map(f0).join(', ')}`);
  out.push(`  S3 requests per poll, year: ${year.s3.join(', ')}; day: ${day.s3.join(', ')}`);
  for (const f of figs) {
    const distinct = [...new Set(f.warnings)];
    if (distinct.length > 0) out.push(`  ${f.name}: ${f.warnings.length} warn/error lines, e.g. ${distinct.slice(0, 4).join(' | ')}`);
    if (f.exit !== 0) out.push(`  ${f.name}: the daemon exited ${String(f.exit)} at its stop`);
  }
  if (traceError !== null) out.push(`  the strace phase failed (its figures are n/a): ${traceError}`);
  out.push(`  run: ${(seconds / 60).toFixed(1)} min (store builds, when not cached, included); year store built in ${f0(year.store.seconds.build)} s + alerts ${f0(year.store.seconds.alerts)} s + compact ${f0(year.store.seconds.compact)} s (${f0(year.store.compactPeakMb)} MB)`);
  process.stdout.write(`${out.join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({
    bench: 'age', days: DAYS, interval: INTERVAL, every: EVERY,
    stores: Object.fromEntries(figs.map((f) => [f.name, {
      cpuMedianMs: median(f.cpu), cpuMs: f.cpu, writtenKbMedian: median(f.written) / 1024, s3PerPoll: mean(f.s3),
      openat: median(kinds(f.files, 'openat')), openatDir: median(kinds(f.files, 'openat(dir)')), daysTouched: median(f.files.days),
      getdents64: TRACES_LISTS ? median(kinds(f.files, 'getdents64')) : null, lookups: TRACES_LOOKUPS ? median(kinds(f.files, 'lookups')) : null,
      idleCpuMsPerMinute: f.idle.cpuPerMinute, idleS3PerMinute: f.idle.s3PerMinute, alerts: f.alerts, storeFiles: f.storeFiles, rssMb: f.rssMb,
    }])),
    cpuRatio: median(year.cpu) / median(day.cpu),
  })}\n`);
}

/** The data tables and their providers folded too, for a shorter list. */
function folded(byPattern: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of byPattern) {
    const key = k.replace(/data\/(movies|rejects|price_changes|runs)\//, 'data/<table>/').replace(/provider=[^/]+/, 'provider=*');
    out.set(key, (out.get(key) ?? 0) + v);
  }
  return out;
}

/** Calls by path pattern (tables and providers folded), year against one day: the ones the year adds most first ("GROWS": more than twice the day's, and 2 more). */
function patternRows(out: string[], yearCalls: Map<string, number>, dayCalls: Map<string, number>, limit: number): void {
  const year = folded(yearCalls);
  const day = folded(dayCalls);
  const keys = new Set([...year.keys(), ...day.keys()]);
  const rows = [...keys].map((k) => ({ k, y: year.get(k) ?? 0, d: day.get(k) ?? 0 })).sort((a, b) => b.y - b.d - (a.y - a.d) || b.y - a.y);
  for (const x of rows.slice(0, limit)) out.push(`    ${x.y.toFixed(1).padStart(9)} ${x.d.toFixed(1).padStart(9)}  ${x.y > 2 * x.d + 2 ? 'GROWS ' : '      '}${x.k}`);
  if (rows.length > limit) out.push(`    (${rows.length - limit} more patterns)`);
}

function kindsPerPoll(from: Record<string, number>, to: Record<string, number>, polls: number): Record<string, number> {
  return Object.fromEntries(Object.entries(to).map(([k, v]) => [k, (v - (from[k] ?? 0)) / Math.max(1, polls)]).filter(([, v]) => (v as number) > 0));
}

function summarize(statuses: string[]): string {
  const counts = new Map<string, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}

await main();

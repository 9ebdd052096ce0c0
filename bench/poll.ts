// Benchmark (figures, not a test; no asserts). Three sections, each against the simulator in its
// own process:
// 1. Load: 2 providers × --movies films, --latency-ms, --fail-rate, --concurrency. The collector's
//    poll (fetch, normalize, write) in a child process, so that its CPU and peak RSS are its own,
//    and a bare undici client (bench/bare-client.ts) over the same simulator and load: CPU per HTTP
//    attempt of each and their ratio, wall time against a lower bound that includes the retry
//    policy (and the old bound), completeness read back by DuckDB.
// 2. Daemon: polls of the 13 films in one long-lived process; CPU of the polls after the first.
// 3. The prototype's shape: --runs one-shot `poll` processes of the 13 films; CPU and wall of each.
// Usage: npm run bench [-- --movies 10000 --latency-ms 10 --fail-rate 0.1 --concurrency 50 --runs 7]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HEAP_FLAGS } from '../src/runtime/heap.js';

const { values } = parseArgs({
  options: {
    movies: { type: 'string', default: '10000' },
    'latency-ms': { type: 'string', default: '10' },
    'fail-rate': { type: 'string', default: '0.1' },
    concurrency: { type: 'string', default: '50' },
    runs: { type: 'string', default: '7' },
    /** Another build's dist/src/cli.js, for before/after figures of sections 2 and 3 (section 1 uses this build). */
    cli: { type: 'string' },
  },
});
const movies = Number(values.movies);
const latencyMs = Number(values['latency-ms']);
const failRate = Number(values['fail-rate']);
const concurrency = Number(values.concurrency);
const here = path.dirname(fileURLToPath(import.meta.url));
const cli = values.cli ?? path.resolve(here, '../src/cli.js');
/** The collector's retry policy (config defaults; src/providers/client.ts). */
const RETRIES = 5;
const RETRY_BASE_MS = 100;
const MAX_RETRY_DELAY_MS = 30_000;
const PROVIDERS = 2;

interface PollFigures { cpuMs: number; wallMs: number; attempts: number; status: string; movies: number; listed: number; retries: number; writeMs: number }
interface ChildFigures { polls: PollFigures[]; rssBeforeMb: number; peakRssMb: number; dataDir: string }

async function simulator(args: string[]): Promise<{ url: string; stop(): void }> {
  const mock = spawn(process.execPath, [cli, 'mock-provider', '--port', '0', '--seed', '1', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [banner] = (await once(mock.stdout, 'data')) as [Buffer];
  const url = /(http:\/\/\S+\/api\/)/.exec(banner.toString())?.[1];
  if (!url) throw new Error(`the simulator did not start: ${banner.toString()}`);
  return { url, stop: () => mock.kill('SIGTERM') };
}

/**
 * Runs a script and returns the JSON object on the last line of its stdout (log lines may come before it).
 * flags: Node's own flags (the collector's poll process runs with the CLI's, HEAP_FLAGS).
 */
function node(script: string, args: string[], flags: readonly string[] = []): string {
  const out = execFileSync(process.execPath, [...flags, script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  return out.trimEnd().split('\n').at(-1) ?? '';
}

/** Mean backoff before retry i (1-based): axios-retry's exponentialDelay is 2^i × base plus 0–20 % jitter (1.1 on average), capped. */
const backoff = (i: number) => Math.min(2 ** i * RETRY_BASE_MS * 1.1, MAX_RETRY_DELAY_MS);
/** Time of a call that fails k times in a row (then succeeds, or gives up after RETRIES retries): its attempts' latency plus its backoffs. */
function chain(k: number): number {
  let ms = Math.min(k + 1, RETRIES + 1) * latencyMs;
  for (let i = 1; i <= Math.min(k, RETRIES); i++) ms += backoff(i);
  return ms;
}

/**
 * Expected lower bound on the load's wall time under the retry policy. Each attempt fails on its
 * own with probability p (the simulator's fail rate), so a call fails k times in a row with
 * probability p^k (1 − p) (p^(R+1): it gives up after R retries) and takes chain(k) (above).
 * Providers run in parallel; within one, two limits hold, and so does their maximum:
 *  - throughput: N films × E[attempts] = N × Σ_{k=0..R} p^k attempts, each holding one of the C
 *    slots for at least the latency: N × Σ p^k × latency / C (the old bound: N / C × latency);
 *  - the slowest film: of M = 2N films, the longest run of failures K has
 *    P(K ≥ k) = 1 − (1 − p^k)^M, so E[its time] = Σ_k P(K = k) × chain(k). With p = 0.1 and
 *    M = 20,000, some film fails 4 times in a row (P ≈ 0.86): it alone takes ≈ 3.3 s of backoff.
 * The list call comes first: E[list] = Σ_k P(list fails k times) × chain(k).
 * bound = E[list] + max(throughput, E[slowest film]). A client that cost no CPU would still take this long.
 */
function retryBound(n: number): { boundMs: number; throughputMs: number; slowestMs: number; listMs: number } {
  const p = failRate;
  const pFails = (k: number) => (k > RETRIES ? p ** (RETRIES + 1) : p ** k * (k === RETRIES + 1 ? 1 : 1 - p));
  let listMs = 0;
  for (let k = 0; k <= RETRIES + 1; k++) listMs += pFails(k) * chain(k);
  let attemptsPerFilm = 0;
  for (let k = 0; k <= RETRIES; k++) attemptsPerFilm += p ** k;
  const throughputMs = (n * attemptsPerFilm * latencyMs) / concurrency;
  const m = PROVIDERS * n;
  const atLeast = (k: number) => (k === 0 ? 1 : 1 - (1 - p ** k) ** m);
  let slowestMs = 0;
  for (let k = 0; k <= RETRIES + 1; k++) slowestMs += (atLeast(k) - (k === RETRIES + 1 ? 0 : atLeast(k + 1))) * chain(k);
  return { boundMs: listMs + Math.max(throughputMs, slowestMs), throughputMs, slowestMs, listMs };
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
function print(title: string, rows: Array<[string, string]>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\n== ${title}\n`);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'mc-bench-'));
try {
  // 1. Load.
  const load = await simulator(['--movies', String(movies), '--latency-ms', String(latencyMs), '--fail-rate', String(failRate)]);
  let collector: ChildFigures;
  let bare: { attempts: number; films: number; cpuMs: number; wallMs: number };
  let fetchOnly: PollFigures;
  try {
    bare = JSON.parse(node(path.join(here, 'bare-client.js'), ['--url', load.url, '--concurrency', String(concurrency)])) as typeof bare;
    const harvest = JSON.parse(node(path.join(here, 'poll-child.js'), ['--url', load.url, '--dir', path.join(work, 'fetch'), '--concurrency', String(concurrency), '--fetch-only'], HEAP_FLAGS)) as ChildFigures;
    fetchOnly = harvest.polls[0] as PollFigures;
    collector = JSON.parse(node(path.join(here, 'poll-child.js'), ['--url', load.url, '--dir', path.join(work, 'load'), '--concurrency', String(concurrency)], HEAP_FLAGS)) as ChildFigures;
  } finally {
    load.stop();
  }
  const poll = collector.polls[0] as PollFigures;
  // Loaded only now, in this process: the poll's child never loads DuckDB.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const stored = (await con.runAndReadAll(`SELECT count(DISTINCT (provider, provider_movie_id))::INT AS n FROM read_parquet('${collector.dataDir}/movies/**/*.parquet', hive_partitioning = true) WHERE price_cents IS NOT NULL`)).getRowObjectsJS()[0]?.n;
  con.closeSync();
  db.closeSync();
  const perAttempt = (poll.cpuMs * 1000) / poll.attempts;
  const barePerAttempt = (bare.cpuMs * 1000) / bare.attempts;
  const oldBoundMs = latencyMs * (1 + Math.ceil(movies / concurrency));
  const bound = retryBound(movies);
  print(`load: 2 x ${movies} films, ${latencyMs} ms latency, ${failRate} fail rate, concurrency ${concurrency}`, [
    ['collector CPU (whole poll)', `${fmt(poll.cpuMs)} for ${poll.attempts} attempts = ${perAttempt.toFixed(0)} µs per attempt (fetch, normalize, write)`],
    ['bare undici client CPU', `${fmt(bare.cpuMs)} for ${bare.attempts} attempts = ${barePerAttempt.toFixed(0)} µs per attempt (wall ${fmt(bare.wallMs)}, no backoff)`],
    ['ratio collector / bare per attempt', `${(perAttempt / barePerAttempt).toFixed(2)}  (target <= 2.0, issue 30)`],
    ['fetch only (client + source)', `${fmt(fetchOnly.cpuMs)} for ${fetchOnly.attempts} attempts = ${((fetchOnly.cpuMs * 1000) / fetchOnly.attempts).toFixed(0)} µs per attempt, ${((fetchOnly.cpuMs * 1000) / fetchOnly.attempts / barePerAttempt).toFixed(2)} x bare (no normalize, no write)`],
    ['wall time', fmt(poll.wallMs)],
    ['lower bound with retry policy', `${fmt(bound.boundMs)}  (list ${fmt(bound.listMs)} + max(throughput ${fmt(bound.throughputMs)}, slowest film ${fmt(bound.slowestMs)}))`],
    ['ratio wall / retry bound', (poll.wallMs / bound.boundMs).toFixed(2)],
    ['old bound, ratio', `${fmt(oldBoundMs)}, ${(poll.wallMs / oldBoundMs).toFixed(2)}  (latency x (1 + ceil(N / concurrency)); no retries)`],
    ['completeness', `${((100 * poll.movies) / poll.listed).toFixed(2)} %  (${poll.movies} of ${poll.listed} committed; ${String(stored)} films read back by DuckDB)`],
    ['retries', String(poll.retries)],
    ['peak RSS of the poll process', `${collector.peakRssMb.toFixed(0)} MB  (target <= 200; ${collector.rssBeforeMb.toFixed(0)} MB after imports, before the poll)`],
    ['Parquet write (stage + fsync)', `${fmt(poll.writeMs)}`],
    ['status', poll.status],
  ]);

  // 2 and 3 run against the 13 films, no latency, no faults.
  const films = await simulator([]);
  try {
    const daemon = JSON.parse(node(path.join(here, 'poll-child.js'), ['--url', films.url, '--dir', path.join(work, 'daemon'), '--polls', '6'], HEAP_FLAGS)) as ChildFigures;
    const later = daemon.polls.slice(1).map((p) => p.cpuMs);
    print('daemon: 6 polls of the 13 films in one process', [
      ['first poll CPU', `${daemon.polls[0]?.cpuMs.toFixed(0)} ms`],
      ['later polls CPU', `${later.map((c) => c.toFixed(0)).join(', ')} ms; median ${median(later).toFixed(0)} ms  (target <= 50)`],
    ]);

    const runs = Number(values.runs);
    const time = ['/usr/bin/time', '/bin/time'].find((t) => existsSync(t));
    if (!time) {
      print(`prototype shape: ${runs} one-shot polls`, [['skipped', 'needs GNU time (/usr/bin/time) to read each process\'s CPU']]);
    } else {
      // Each build as shipped: no NODE_COMPILE_CACHE here (it would turn Node's cache on for a build that
      // does not ask for it); TMPDIR points a build that does at an empty folder, so poll 1 compiles.
      const tmp = path.join(work, 'tmp');
      mkdirSync(tmp);
      const figures: Array<{ cpu: number; wall: number; rssMb: number; code: number }> = [];
      for (let i = 0; i < runs; i++) {
        const env = {
          PATH: process.env.PATH, HOME: process.env.HOME, API_TOKEN: 'mock-token', PROVIDER_BASE_URL: films.url, DATA_DIR: path.join(work, 'proto', 'data'),
          LOG_DIR: path.join(work, 'proto', 'logs'), HEALTH_PORT: '0', TMPDIR: tmp,
        };
        const child = spawn(time, ['-f', 'TIME %U %S %e %M', process.execPath, ...HEAP_FLAGS, cli, 'poll'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.setEncoding('utf8'); // whole characters, even when one spans two chunks
        child.stderr.on('data', (d: string) => (err += d));
        const [code] = (await once(child, 'close')) as [number];
        const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(err);
        if (!m) throw new Error(`no figures from ${time}: ${err}`);
        figures.push({ cpu: Number(m[1]) + Number(m[2]), wall: Number(m[3]), rssMb: Number(m[4]) / 1024, code });
      }
      const warm = figures.slice(1);
      print(`prototype shape: ${runs} one-shot \`poll\` processes of the 13 films (${cli === path.resolve(here, '../src/cli.js') ? 'this build' : cli})`, [
        ...figures.map((f, i): [string, string] => [`poll ${i + 1}${i === 0 ? ' (empty compile cache)' : ''}`, `CPU ${f.cpu.toFixed(2)} s, wall ${f.wall.toFixed(2)} s, peak RSS ${f.rssMb.toFixed(0)} MB, exit ${f.code}`]),
        ['median of polls 2..', `CPU ${median(warm.map((f) => f.cpu)).toFixed(2)} s (target <= 0.4), wall ${median(warm.map((f) => f.wall)).toFixed(2)} s`],
        ['bare `node -e 0`', `CPU ${bareNode(time).toFixed(2)} s (Node's own start-up on this machine)`],
      ]);
    }
  } finally {
    films.stop();
  }
  process.stdout.write(`\nmachine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

function bareNode(time: string): number {
  const { stderr } = spawnSync(time, ['-f', 'TIME %U %S', process.execPath, '-e', '0'], { encoding: 'utf8' });
  const m = /TIME ([\d.]+) ([\d.]+)/.exec(stderr);
  return m ? Number(m[1]) + Number(m[2]) : NaN;
}

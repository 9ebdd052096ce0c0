// A real catalogue (figures, not a test; issue 26): stores of N films per provider x D days of
// 15-minute polls (bench/catalogue-store.ts, cached under /var/tmp/mc-catalogue), then for each
// size, with the collector's real commands:
//   1. `compact` on a copy of the store as 0.2.0 wrote it (upgrade + compaction) and on a copy of
//      the current layout's store (compaction only): wall, CPU, peak RSS, exit code, the rows and
//      price sum before and after (DuckDB);
//   2. `report --since 7d --format json` on the compacted and on the uncompacted store (30d too
//      for stores of 30 days): CPU and peak RSS;
//   3. the daemon (`start`, a cron that never fires) on the compacted store: the first
//      /api/report, /api/report?limit=50 (n/a when refused), /api/charts, the peak RSS of its
//      whole process tree (sampled from /proc every 50 ms);
//   4. the page in Chromium: first table row, bytes received, canvases, DOM nodes, search.
// Each figure that fails prints `failed: <one line>` and the bench goes on. A table at the end,
// then one JSON line. Copies of the cached stores are hard-link trees (the collector never
// writes a file in place: compaction and the upgrade write new files and rename).
// Usage: npm run bench:catalogue [-- --only 13films,2x1000x7,2x5000x7,2x1000x30 --fresh
//          --skip compact,report,daemon,page --keep --workers 2 --max-age-hours 24
//          --row-selector '#best-prices tbody tr' --move-share 0.05]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { MOCK_PROVIDERS } from '../src/mock/catalogue.js';
import { HEAP_FLAGS } from '../src/runtime/heap.js';
import { CACHE_ROOT, MOVE_SHARE, catalogueOf, catalogueStore, parquetSize, type CachedStore, type Layout } from './catalogue-store.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: '13films,2x1000x7,2x5000x7,2x1000x30' },
    skip: { type: 'string', default: '' },
    fresh: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    workers: { type: 'string' },
    'max-age-hours': { type: 'string', default: '24' },
    'row-selector': { type: 'string', default: '#best-prices tbody tr' },
    'timeout-minutes': { type: 'string', default: '60' },
    /** Share of each provider's films whose price moves at each poll (1: every price at every poll). */
    'move-share': { type: 'string', default: String(MOVE_SHARE) },
  },
});
const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, '../src/cli.js');
const TIME = '/usr/bin/time';
/** The CLI as its `bin` runs it: with the heap flags of its #! line. */
const NODE = [process.execPath, ...HEAP_FLAGS];
const skip = new Set(values.skip.split(',').filter(Boolean));
const timeoutMs = Number(values['timeout-minutes']) * 60_000;
const ROWS = values['row-selector'];
const moveShare = Number(values['move-share']);
if (!(moveShare > 0 && moveShare <= 1)) throw new Error('--move-share: expected a share above 0 and at most 1, e.g. 0.05');
const work = path.join(CACHE_ROOT, `work-${process.pid}`);
const MB = 2 ** 20;
if (!existsSync(TIME)) throw new Error('bench:catalogue needs GNU time (/usr/bin/time): apt-get install time');

// ---------------------------------------------------------------------------------------------
// Sizes

interface Size {
  label: string;
  films: number | null;
  days: number;
}

/** `2x1000x7` (2 providers x 1,000 films x 7 days), `13films` (7 days) or `13filmsx30`. */
function parseSize(label: string): Size {
  const synthetic = /^2x(\d+)x(\d+)$/.exec(label);
  if (synthetic) return { label, films: Number(synthetic[1]), days: Number(synthetic[2]) };
  const star = /^13films(?:x(\d+))?$/.exec(label);
  if (star) return { label, films: null, days: Number(star[1] ?? 7) };
  throw new Error(`--only: "${label}" is not a size like 2x1000x7 or 13films`);
}

// ---------------------------------------------------------------------------------------------
// Measuring processes

interface Measured {
  wall: number;
  cpu: number;
  /** GNU time's maximum resident set size (the largest process of the tree). */
  rssMb: number;
  /** The sum of RSS over the command's process tree, sampled every 50 ms. */
  treeMb: number;
  code: number;
  stdout: string;
  /** The line a user reads about the failure (empty when the command succeeded). */
  why: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pids below `root` (not itself), from /proc/<pid>/task/<tid>/children. */
function descendants(root: number): number[] {
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(' ').filter(Boolean)) {
        found.push(Number(c));
        queue.push(Number(c));
      }
    }
  }
  return found;
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM), 0 when gone. */
function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Samples the RSS sum of a process tree every 50 ms until stopped; `self` counts the root itself. */
function treeSampler(root: number, self: boolean) {
  let peakKb = 0;
  const hwm = new Map<number, number>();
  const sample = () => {
    const pids = [...(self ? [root] : []), ...descendants(root)];
    let sum = 0;
    for (const pid of pids) {
      sum += statusKb(pid, 'VmRSS');
      hwm.set(pid, Math.max(hwm.get(pid) ?? 0, statusKb(pid, 'VmHWM')));
    }
    peakKb = Math.max(peakKb, sum);
  };
  sample();
  const timer = setInterval(sample, 50);
  return {
    /** The largest sum seen (MB). */
    peakMb: () => peakKb / 1024,
    /** The largest VmHWM of one process of the tree (MB). */
    processPeakMb: () => Math.max(0, ...hwm.values()) / 1024,
    stop: () => {
      sample();
      clearInterval(timer);
    },
  };
}

/** The line that says why a command failed: the CLI's own line, else DuckDB's error, else the last line. */
function failureLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('@@'));
  const text = (l: string) => {
    try {
      const j = JSON.parse(l) as { message?: unknown };
      return typeof j.message === 'string' ? j.message : l;
    } catch {
      return l;
    }
  };
  const own = lines.find((l) => l.startsWith('movies-collector:')) ?? lines.map(text).find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '';
  return text(own).slice(0, 400);
}

/** Runs a command under GNU time, its process tree sampled; stdout kept unless `discard` (then > /dev/null). */
async function measured(args: string[], env: Record<string, string>, options: { discard?: boolean } = {}): Promise<Measured> {
  const started = performance.now();
  const child = spawn(TIME, ['-f', '@@ %e %U %S %M', ...args], { cwd: work, env, stdio: ['ignore', options.discard ? 'ignore' : 'pipe', 'pipe'] });
  const sampler = treeSampler(child.pid ?? 0, false);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => void (stdout = (stdout + c.toString()).slice(-1 << 20)));
  child.stderr?.on('data', (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-1 << 18)));
  const timer = setTimeout(() => {
    for (const pid of descendants(child.pid ?? 0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }, timeoutMs);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  clearTimeout(timer);
  sampler.stop();
  const m = /@@ ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(stderr);
  const exit = /Command (?:exited with non-zero status|terminated by signal) (\d+)/.exec(stderr);
  const wall = m ? Number(m[1]) : (performance.now() - started) / 1000;
  const failed = code !== 0;
  return {
    wall, cpu: m ? Number(m[2]) + Number(m[3]) : NaN, rssMb: m ? Number(m[4]) / 1024 : NaN, treeMb: sampler.peakMb(),
    code: exit && code !== 0 ? Number(exit[1]) : code, stdout, why: failed ? (performance.now() - started > timeoutMs ? `killed after ${values['timeout-minutes']} min` : failureLine(stderr)) : '',
  };
}

/** Median of three by CPU when the first run is cheap (under 20 s of CPU), else the one run. */
async function medianIfCheap(run: () => Promise<Measured>): Promise<Measured & { runs: number }> {
  const first = await run();
  if (first.code !== 0 || first.cpu > 20) return { ...first, runs: 1 };
  const all = [first, await run(), await run()].sort((a, b) => a.cpu - b.cpu);
  return { ...(all[1] as Measured), rssMb: all.map((r) => r.rssMb).sort((a, b) => a - b)[1] ?? NaN, runs: 3 };
}

const cliEnv = (data: string, extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', DATA_DIR: data, LOG_DIR: path.join(path.dirname(data), 'logs'), LOG_LEVEL: 'warn', ...extra,
});

/** A hard-link copy of a store (cp -al): the collector only ever writes new files and renames. */
function linkCopy(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(path.dirname(to), { recursive: true });
  const r = spawnSync('cp', ['-al', from, to], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cp -al ${from} ${to}: ${r.stderr.trim()}`);
}

/** Rows and price sum of the movies table, as a user reads it (DuckDB, the README's glob). */
async function moviesTotals(data: string): Promise<{ rows: number; sum: number }> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT count(*)::BIGINT AS n, coalesce(sum(price_cents), 0)::BIGINT AS s FROM read_parquet('${data}/movies/**/*.parquet', hive_partitioning = true, union_by_name = true)`,
    );
    const row = reader.getRowObjectsJS()[0] as { n: bigint; s: bigint };
    return { rows: Number(row.n), sum: Number(row.s) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP, the daemon

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** GET with node:http (no client-side time limit below `timeoutMs`: a first report can take minutes). */
function get(url: string): Promise<{ status: number; bytes: number; ms: number; body: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, bytes: body.byteLength, ms: performance.now() - started, body: body.byteLength < 4096 ? body.toString() : '' });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${values['timeout-minutes']} min`)));
    req.on('error', reject);
  });
}

interface Daemon {
  base: string;
  pid: number;
  sampler: ReturnType<typeof treeSampler>;
  stderr: () => string;
  stop: () => Promise<void>;
}

/** `movies-collector start` on `data` with a config file whose cron never fires soon; resolves once /healthz answers. */
async function startDaemon(data: string, name: string): Promise<Daemon> {
  const port = await freePort();
  const config = path.join(work, `${name}.config.json`);
  writeFileSync(config, JSON.stringify({
    schedule: { cron: '0 0 1 1 *', runOnStart: 'never' },
    api: { baseUrl: 'http://127.0.0.1:9/api/', token: 'bench-token' },
    store: { dir: data },
    log: { dir: path.join(work, `${name}-logs`), level: 'warn' },
    health: { port, host: '127.0.0.1' },
  }, null, 2));
  const child = spawn(NODE[0] as string, [...NODE.slice(1), CLI, 'start', '--config', config], {
    cwd: work, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-1 << 16)));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const sampler = treeSampler(child.pid ?? 0, true);
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    sampler.stop();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    }
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the daemon exited ${child.exitCode}: ${failureLine(stderr)}`);
    }
    try {
      if ((await get(`${base}/healthz`)).status > 0) break;
    } catch {
      if (i > 600) {
        await stop();
        throw new Error('the daemon did not answer /healthz within 60 s');
      }
    }
    await sleep(100);
  }
  return { base, pid: child.pid ?? 0, sampler, stderr: () => stderr, stop };
}

// ---------------------------------------------------------------------------------------------
// Figures

type Figures = Record<string, unknown>;
const results: Array<{ size: string; figures: Figures; display: Array<[string, string]> }> = [];

/** Runs one figure: its failure is one line and the bench goes on. */
async function figure(out: { figures: Figures; display: Array<[string, string]> }, key: string, label: string, body: () => Promise<{ value: unknown; text: string }>): Promise<unknown> {
  let text: string;
  let value: unknown;
  try {
    ({ value, text } = await body());
  } catch (err) {
    text = `failed: ${(err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''}`;
    value = { failed: text.slice('failed: '.length) };
  }
  out.figures[key] = value;
  out.display.push([label, text]);
  process.stdout.write(`  ${label.padEnd(58)} ${text}\n`);
  return value;
}

const mb = (x: number) => `${x.toFixed(0)} MB`;
const show = (m: Measured) =>
  m.code === 0
    ? `${m.cpu.toFixed(2)} s CPU, ${mb(m.rssMb)} peak RSS (tree ${mb(m.treeMb)}), ${m.wall.toFixed(1)} s wall`
    : `failed: exit ${m.code} after ${m.wall.toFixed(0)} s (${m.cpu.toFixed(1)} s CPU, ${mb(m.rssMb)}): ${m.why}`;
const json = (m: Measured, extra: Figures = {}) => ({ wall_s: round(m.wall), cpu_s: round(m.cpu), peak_rss_mb: Math.round(m.rssMb), tree_peak_mb: Math.round(m.treeMb), exit: m.code, ...(m.why ? { why: m.why } : {}), ...extra });
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A title that is its film's alone: no other title of the catalogue contains it (case-insensitive). */
function uniqueTitle(films: number | null): string {
  const titles = catalogueOf(films).films.filter((f) => MOCK_PROVIDERS.every((p) => f.basePriceCents[p] !== undefined)).map((f) => f.title);
  const lower = titles.map((t) => t.toLowerCase());
  for (let i = titles.length - 1; i >= 0; i--) {
    const t = lower[i] as string;
    if (lower.filter((o) => o.includes(t)).length === 1) return titles[i] as string;
  }
  return titles[0] ?? '';
}

async function benchSize(size: Size): Promise<void> {
  const out = { size: size.label, figures: {} as Figures, display: [] as Array<[string, string]> };
  results.push(out);
  process.stdout.write(`\n${size.label}: 2 providers x ${size.films ?? '13-film catalogue (7 + 6)'}${size.films ? ' films' : ''}, ${size.days} days of 15-minute polls, ${Math.round(moveShare * 100)}% of prices moving per poll\n`);
  const stores: Partial<Record<Layout, CachedStore>> = {};
  for (const layout of ['legacy', 'current'] as const) {
    await figure(out, `store_${layout}`, `${layout} store: polls, movie rows, files, MB`, async () => {
      const s = await catalogueStore({ layout, films: size.films, days: size.days, moveShare }, {
        fresh: values.fresh, maxAgeHours: Number(values['max-age-hours']), progress: true, ...(values.workers ? { workers: Number(values.workers) } : {}),
      });
      stores[layout] = s;
      const m = s.marker;
      const made = s.generated ? `generated in ${m.seconds.toFixed(0)} s (${m.cpuSeconds.toFixed(0)} s CPU, ${m.workers} threads)` : `cached (generated in ${m.seconds.toFixed(0)} s; ends ${m.end.slice(0, 16)}Z)`;
      return {
        value: { polls: m.polls, movie_rows: m.movieRows, reject_rows: m.rejectRows, files: m.files, mb: round(m.bytes / MB, 1), generated: s.generated, generation_s: round(m.seconds, 1), generation_cpu_s: round(m.cpuSeconds, 1), end: m.end },
        text: `${m.polls}, ${m.movieRows.toLocaleString('en-US')}, ${m.files.toLocaleString('en-US')}, ${(m.bytes / MB).toFixed(0)}; ${made}`,
      };
    });
  }
  const dir = path.join(work, size.label);
  const compacted: Partial<Record<Layout, string>> = {};

  // 1. compact: the upgrade of the 0.2.0 layout + compaction, and compaction alone.
  for (const layout of ['legacy', 'current'] as const) {
    const source = stores[layout];
    if (skip.has('compact') || !source) continue;
    const copy = path.join(dir, `compact-${layout}`, 'data');
    const what = layout === 'legacy' ? 'compact of the 0.2.0 store (upgrade + compaction)' : 'compact of the current-layout store (compaction)';
    await figure(out, `compact_${layout}`, what, async () => {
      linkCopy(source.data, copy);
      const before = await moviesTotals(source.data);
      const m = await measured([...NODE, CLI, 'compact'], cliEnv(copy));
      if (m.code !== 0) return { value: json(m), text: show(m) };
      const after = await moviesTotals(copy);
      const same = after.rows === before.rows && after.sum === before.sum && before.rows === source.marker.movieRows && before.sum === source.marker.priceSumCents;
      if (same) compacted[layout] = copy;
      const files = parquetSize(copy);
      return {
        value: json(m, { rows_before: before.rows, rows_after: after.rows, price_sum_before: before.sum, price_sum_after: after.sum, same, files_after: files.files, mb_after: round(files.bytes / MB, 1) }),
        text: `${show(m)}; rows ${before.rows.toLocaleString('en-US')} → ${after.rows.toLocaleString('en-US')}, price sum ${same ? 'equal' : `${before.sum} → ${after.sum}: DIFFERENT`}; ${files.files} files`,
      };
    });
  }
  // The compacted store: the upgraded one, else the compacted current one. The daemon and the
  // page read it, or the uncompacted store when compaction failed (what a user then has).
  const compactedStore = compacted.legacy ?? compacted.current;
  const served = compactedStore ?? stores.current?.data;
  const servedLabel = compacted.legacy ? 'compacted (upgraded from 0.2.0)' : compacted.current ? 'compacted (current layout; the upgrade failed)' : 'UNCOMPACTED (compaction failed or skipped)';
  await figure(out, 'served_store', 'store the daemon and the page read', async () => ({ value: servedLabel, text: servedLabel }));

  // 2. report --since 7d (and 30d) on the compacted and the uncompacted store.
  if (!skip.has('report')) {
    const report = async (data: string, since: string) => {
      const copy = path.join(dir, `report-${path.basename(path.dirname(data))}`, 'data');
      linkCopy(data, copy); // a report may leave files in _staging (spill): never in the cache
      return medianIfCheap(() => measured([...NODE, CLI, 'report', '--since', since, '--format', 'json'], cliEnv(copy), { discard: true }));
    };
    const noCompacted = 'no compacted store (compaction failed or skipped)';
    let week: Measured | null = null;
    await figure(out, 'report_7d', 'report --since 7d, compacted store', async () => {
      if (!compactedStore) throw new Error(noCompacted);
      const m = await report(compactedStore, '7d');
      if (m.code === 0) week = m;
      return { value: json(m, { runs: m.runs }), text: `${show(m)}${m.runs === 3 ? ' (median of 3)' : ''}` };
    });
    await figure(out, 'report_7d_uncompacted', 'report --since 7d, uncompacted current-layout store', async () => {
      if (!stores.current) throw new Error('no current-layout store');
      const m = await report(stores.current.data, '7d');
      return { value: json(m, { runs: m.runs }), text: `${show(m)}${m.runs === 3 ? ' (median of 3)' : ''}` };
    });
    if (size.days >= 30) {
      await figure(out, 'report_30d', 'report --since 30d, compacted store (CPU ratio 30d/7d)', async () => {
        if (!compactedStore) throw new Error(noCompacted);
        const m = await report(compactedStore, '30d');
        const w = week as Measured | null;
        const ratio = w && m.code === 0 ? m.cpu / w.cpu : NaN;
        return { value: json(m, { runs: m.runs, cpu_ratio_30d_7d: round(ratio) }), text: `${show(m)}${m.runs === 3 ? ' (median of 3)' : ''}; ratio ${Number.isNaN(ratio) ? 'n/a' : ratio.toFixed(2)}` };
      });
    }
  }

  // 3. the daemon on the compacted store: what a page load asks, on a fresh daemon each time.
  if (!skip.has('daemon') && served) {
    const data = path.join(dir, 'daemon', 'data');
    linkCopy(served, data);
    let treePeak = 0;
    let daemonPeak = 0;
    await figure(out, 'daemon_report', 'daemon: first /api/report (time, bytes)', async () => {
      const d = await startDaemon(data, 'daemon-report');
      try {
        await get(`${d.base}/`);
        const report = await get(`${d.base}/api/report`);
        if (report.status !== 200) throw new Error(`/api/report answered ${report.status}: ${report.body.trim().split('\n')[0] ?? ''}`);
        const charts = await get(`${d.base}/api/charts`);
        if (charts.status !== 200) throw new Error(`/api/charts answered ${charts.status}: ${charts.body.trim().split('\n')[0] ?? ''}`);
        await sleep(500); // the report process's exit
        d.sampler.stop();
        treePeak = Math.max(treePeak, d.sampler.peakMb());
        daemonPeak = Math.max(daemonPeak, statusKb(d.pid, 'VmHWM') / 1024);
        out.figures.daemon_charts = { bytes: charts.bytes, ms: Math.round(charts.ms) };
        return {
          value: { ms: Math.round(report.ms), bytes: report.bytes, charts_bytes: charts.bytes, charts_ms: Math.round(charts.ms), tree_peak_mb: Math.round(d.sampler.peakMb()), daemon_hwm_mb: Math.round(statusKb(d.pid, 'VmHWM') / 1024), process_peak_mb: Math.round(d.sampler.processPeakMb()) },
          text: `${(report.ms / 1000).toFixed(1)} s, ${(report.bytes / MB).toFixed(2)} MB; then /api/charts ${(charts.bytes / MB).toFixed(2)} MB in ${(charts.ms / 1000).toFixed(1)} s`,
        };
      } finally {
        await d.stop();
      }
    });
    await figure(out, 'daemon_report_limit50', 'daemon: first /api/report?limit=50', async () => {
      const d = await startDaemon(data, 'daemon-limit');
      try {
        const r = await get(`${d.base}/api/report?limit=50`);
        d.sampler.stop();
        treePeak = Math.max(treePeak, d.sampler.peakMb());
        if (r.status === 400) return { value: 'n/a', text: `n/a (400: ${r.body.trim().split('\n')[0] ?? ''})` };
        if (r.status !== 200) throw new Error(`answered ${r.status}: ${r.body.trim().split('\n')[0] ?? ''}`);
        return { value: { ms: Math.round(r.ms), bytes: r.bytes }, text: `${(r.ms / 1000).toFixed(1)} s, ${(r.bytes / 1024).toFixed(0)} KB` };
      } finally {
        await d.stop();
      }
    });
    await figure(out, 'daemon_tree_peak', 'daemon: process tree peak RSS (daemon + report processes)', async () => {
      if (treePeak === 0) throw new Error('no daemon ran');
      return { value: { tree_peak_mb: Math.round(treePeak), daemon_hwm_mb: Math.round(daemonPeak) }, text: `${mb(treePeak)} (the daemon alone: ${mb(daemonPeak)})` };
    });
    const charts = out.figures.daemon_charts as { bytes: number } | undefined;
    if (charts) await figure(out, 'charts_bytes', '/api/charts', async () => ({ value: charts.bytes, text: `${(charts.bytes / MB).toFixed(2)} MB` }));

    // 4. the page in Chromium, on a fresh daemon (its first row waits for the first computation).
    if (!skip.has('page')) await pageFigures(out, data, size);
  }
}

async function pageFigures(out: { figures: Figures; display: Array<[string, string]> }, data: string, size: Size): Promise<void> {
  let d: Daemon | null = null;
  let browser: import('playwright-core').Browser | null = null;
  const figures: Figures = {};
  try {
    await figure(out, 'page_first_row', 'page: navigation → first table row', async () => {
      const { chromium } = await import('playwright-core');
      d = await startDaemon(data, 'daemon-page');
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const tab = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const cdp = await tab.context().newCDPSession(tab);
      await cdp.send('Network.enable');
      let bytes = 0;
      let lastFinished = performance.now();
      let counting = true;
      cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => {
        if (!counting) return;
        bytes += e.encodedDataLength;
        lastFinished = performance.now();
      });
      const started = performance.now();
      await tab.goto(`${(d as Daemon).base}/`);
      await tab.locator(ROWS).first().waitFor({ state: 'visible', timeout: timeoutMs });
      const firstRow = performance.now() - started;
      // Before any interaction: until nothing more arrived for 2 s (the page's own refreshes are small).
      const quietFrom = performance.now();
      while (performance.now() - lastFinished < 2000 && performance.now() - quietFrom < 120_000) await sleep(200);
      counting = false;
      const dom = await tab.evaluate(() => ({
        canvases: document.querySelectorAll('canvas').length,
        nodes: document.getElementsByTagName('*').length,
        height: document.documentElement.scrollHeight,
        search: document.querySelector('input[type=search]') !== null,
      }));
      Object.assign(figures, { bytes, ...dom });
      (d as Daemon).sampler.stop();
      figures.tree_peak_mb = Math.round((d as Daemon).sampler.peakMb());
      figures.search_ms = 'n/a';
      if (dom.search) {
        const title = uniqueTitle(size.films);
        const typed = performance.now();
        await tab.locator('input[type=search]').first().fill(title);
        await tab.waitForFunction(({ selector, title: t }) => {
          const rows = [...document.querySelectorAll(selector)].filter((r) => (r as HTMLElement).offsetParent !== null);
          return rows.length === 1 && (rows[0]?.textContent ?? '').includes(t);
        }, { selector: ROWS, title }, { timeout: 30_000 }).then(
          () => void (figures.search_ms = Math.round(performance.now() - typed)),
          (err: unknown) => void (figures.search_ms = { failed: (err instanceof Error ? err.message : String(err)).split('\n')[0] }),
        );
        figures.search_title = title;
      }
      return { value: Math.round(firstRow), text: `${(firstRow / 1000).toFixed(1)} s` };
    });
    if (figures.bytes !== undefined) {
      const f = figures as { bytes: number; canvases: number; nodes: number; height: number; search_ms: unknown; tree_peak_mb: number };
      await figure(out, 'page_bytes', 'page: bytes received before any interaction', async () => ({ value: f.bytes, text: `${(f.bytes / MB).toFixed(2)} MB` }));
      await figure(out, 'page_canvases', 'page: canvas elements (charts drawn) before scrolling', async () => ({ value: f.canvases, text: f.canvases.toLocaleString('en-US') }));
      await figure(out, 'page_dom_nodes', 'page: DOM nodes (page height)', async () => ({ value: { nodes: f.nodes, height_px: f.height }, text: `${f.nodes.toLocaleString('en-US')} (${f.height.toLocaleString('en-US')} px tall)` }));
      await figure(out, 'page_search', 'page: typing a title → that film the only row', async () => {
        if (typeof f.search_ms === 'object' && f.search_ms !== null) throw new Error(String((f.search_ms as { failed: string }).failed));
        return { value: f.search_ms, text: typeof f.search_ms === 'number' ? `${f.search_ms} ms` : 'n/a (no search field)' };
      });
      await figure(out, 'page_tree_peak', 'page: daemon process tree peak RSS meanwhile', async () => ({ value: f.tree_peak_mb, text: mb(f.tree_peak_mb) }));
    }
  } finally {
    await (browser as import('playwright-core').Browser | null)?.close().catch(() => undefined);
    await (d as Daemon | null)?.stop();
  }
}

// ---------------------------------------------------------------------------------------------

const sizes = values.only.split(',').filter(Boolean).map(parseSize);
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' }).stdout.trim();
const benchStarted = performance.now();
mkdirSync(work, { recursive: true });
process.stdout.write(`bench:catalogue (commit ${commit || '?'}, Node ${process.version}, ${new Date().toISOString()}, ${Math.round(moveShare * 100)}% of prices moving per poll); stores cached under ${CACHE_ROOT}\n`);
try {
  for (const size of sizes) {
    const started = performance.now();
    await benchSize(size);
    (results.at(-1) as { figures: Figures }).figures.bench_s = Math.round((performance.now() - started) / 1000);
    process.stdout.write(`  (${size.label}: ${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
    if (!values.keep) rmSync(path.join(work, size.label), { recursive: true, force: true });
  }
} finally {
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}

// The table: one row per figure, one column per size.
// A figure only some sizes have (30d) goes right after the figure it followed there.
const labels: string[] = [];
for (const r of results) {
  let previous = -1;
  for (const [label] of r.display) {
    if (!labels.includes(label)) labels.splice(previous + 1, 0, label);
    previous = labels.indexOf(label);
  }
}
const cell = (r: (typeof results)[number], label: string) => r.display.find(([l]) => l === label)?.[1] ?? '';
process.stdout.write(`\n| figure | ${results.map((r) => r.size).join(' | ')} |\n|---|${results.map(() => '---|').join('')}\n`);
for (const label of labels) process.stdout.write(`| ${label} | ${results.map((r) => cell(r, label).replaceAll('|', '/')).join(' | ')} |\n`);
process.stdout.write(`\nwhole bench: ${((performance.now() - benchStarted) / 1000).toFixed(0)} s\n`);
process.stdout.write(`${JSON.stringify({ bench: 'catalogue', commit, node: process.version, at: new Date().toISOString(), seconds: Math.round((performance.now() - benchStarted) / 1000), move_share: moveShare, sizes: Object.fromEntries(results.map((r) => [r.size, r.figures])) })}\n`);

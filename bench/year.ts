// A year of polls (figures, not a test): builds a 0.2.0-layout store of `--days` days of polls
// every `--interval` minutes of the 13-film catalogue (365 x 15 min = 35,040 polls, 175,200
// files) and a 7-day store the same way, compacts both with `movies-collector compact` (which
// upgrades the layout first), and prints files and bytes before and after, compaction's wall,
// CPU and peak RSS, `report --since 7d|30d|365d` next to the 7-day store's, the daemon's
// recomputation after a commit (its report child, alone), the daemon's RSS after serving a
// year-long window, a fresh DuckDB count(*) over the README's glob, and a poll's CPU on the year
// store against an empty one. Each process is measured by GNU time (/usr/bin/time).
// Usage: npm run bench:year [-- --days 365 --interval 15 --keep DIR]
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HEAP_FLAGS } from '../src/runtime/heap.js';
import { buildLegacyStore } from './year-store.js';

const { values } = parseArgs({ options: { days: { type: 'string', default: '365' }, interval: { type: 'string', default: '15' }, keep: { type: 'string' } } });
const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../src/cli.js');
const worker = path.resolve(here, '../src/report/live-worker.js');
const root = values.keep ?? mkdtempSync(path.join(os.tmpdir(), 'mc-bench-year-'));
const TIME = '/usr/bin/time';
/** The CLI as its `bin` runs it: with the heap flags of its #! line. */
const NODE = [process.execPath, ...HEAP_FLAGS];
if (!existsSync(TIME)) throw new Error('bench:year needs GNU time (/usr/bin/time): apt-get install time');

interface Measured { wall: number; cpu: number; rssMb: number; code: number; stdout: string }

/** Runs a command under GNU time; its figures come from time's last stderr line. */
function measured(args: string[], env: Record<string, string> = {}): Measured {
  const r = spawnSync(TIME, ['-f', '@@ %e %U %S %M', ...args], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 30 });
  const m = /@@ ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`no figures from ${args.join(' ')}: ${r.stderr.slice(-500)}`);
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), rssMb: Number(m[4]) / 1024, code: r.status ?? -1, stdout: r.stdout };
}
const show = (m: Measured) => `wall ${m.wall.toFixed(2)} s, CPU ${m.cpu.toFixed(2)} s, peak RSS ${m.rssMb.toFixed(0)} MB${m.code === 0 ? '' : `, exit ${m.code}`}`;
/** The median run of three (by wall time): these machines are shared and noisy. */
function median3(args: string[], env: Record<string, string> = {}): Measured {
  const runs = [measured(args, env), measured(args, env), measured(args, env)].sort((a, b) => a.wall - b.wall);
  return runs[1] as Measured;
}

function storeSize(dir: string): { files: number; mb: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.parquet')) continue;
    files++;
    bytes += statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return { files, mb: bytes / 2 ** 20 };
}

const line = (label: string, value: string) => process.stdout.write(`  ${label.padEnd(48)} ${value}\n`);
const env = (data: string) => ({ DATA_DIR: data, LOG_DIR: path.join(path.dirname(data), 'logs'), LOG_LEVEL: 'warn' });

const end = new Date(Math.floor(Date.now() / 900_000) * 900_000 - 900_000); // the last poll: a quarter hour ago
const year = path.join(root, 'year', 'data');
const week = path.join(root, 'week', 'data');
for (const [dir, days] of [[year, Number(values.days)], [week, 7]] as const) {
  if (existsSync(path.join(dir, 'runs'))) continue;
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`building ${days} days of polls every ${values.interval} minutes under ${dir}…\n`);
  const built = await buildLegacyStore(dir, days, Number(values.interval), end, true);
  process.stderr.write(`  ${built.polls} polls, ${built.files} files, ${built.movieRows} movie rows in ${built.seconds.toFixed(0)} s\n`);
}

process.stdout.write(`\nbench:year: ${values.days} days of ${values.interval}-minute polls, 13 films (store under ${root})\n`);
const before = storeSize(year);
line('year store before: files, MB', `${before.files}, ${before.mb.toFixed(1)}`);
line('report --since 7d before compaction', show(measured([...NODE, cli, 'report', '--format', 'json', '--since', '7d'], env(year))));

const compactYear = measured([...NODE, cli, 'compact'], env(year));
const compactWeek = measured([...NODE, cli, 'compact'], env(week));
const after = storeSize(year);
line('compact (upgrade + compaction) of the year', show(compactYear));
line('compact of the 7-day store', show(compactWeek));
line('year store after: files, MB', `${after.files}, ${after.mb.toFixed(1)}  (${(before.files / after.files).toFixed(0)}x fewer files)`);

const report = (data: string, since: string) => median3([...NODE, cli, 'report', '--format', 'json', '--since', since], env(data));
const week7 = report(week, '7d');
const year7 = report(year, '7d');
line('report --since 7d, 7-day store', show(week7));
line('report --since 7d, year store', `${show(year7)}  (CPU ${(year7.cpu / week7.cpu).toFixed(2)}x the 7-day store's)`);
line('report --since 30d, year store', show(report(year, '30d')));
line('report --since 365d, year store', show(report(year, '365d')));

// The daemon's recomputation after a commit: its report child, given the page's default query.
const recompute = (data: string) => {
  const r = spawnSync(TIME, ['-f', '@@ %e %U %S %M', process.execPath, '--input-type=module', '-e', `
    import { fork } from 'node:child_process';
    const child = fork(${JSON.stringify(worker)}, { stdio: 'inherit', execArgv: [] });
    child.send({ root: ${JSON.stringify(data)}, query: { since: '7d' } });
    child.once('message', (m) => { if (m.kind !== 'ok') { console.error(JSON.stringify(m)); process.exitCode = 1; } });`], { encoding: 'utf8' });
  const m = /@@ ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (!m || r.status !== 0) throw new Error(`recomputation: ${r.stderr}`);
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), rssMb: Number(m[4]) / 1024, code: r.status ?? -1, stdout: '' };
};
line('daemon recomputation (report child), 7-day store', show(recompute(week)));
line('daemon recomputation (report child), year store', show(recompute(year)));

const count = measured([process.execPath, '--input-type=module', '-e', `
  import { DuckDBInstance } from '@duckdb/node-api';
  const t = performance.now();
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  const r = await con.runAndReadAll("SELECT count(*)::BIGINT AS n FROM read_parquet('${year}/movies/**/*.parquet', hive_partitioning = true)");
  console.log(String(r.getRowObjectsJS()[0].n), ((performance.now() - t) / 1000).toFixed(2));`]);
const [rows, seconds] = count.stdout.trim().split(' ');
line('fresh DuckDB count(*) over movies/**/*.parquet', `${rows ?? '?'} rows in ${seconds ?? '?'} s (process: ${show(count)})`);

// The simulator, for a real poll and the daemon.
const mock = spawn(process.execPath, [cli, 'mock-provider', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const [banner] = (await once(mock.stdout, 'data')) as [Buffer];
  const url = /(http:\/\/\S+\/api\/)/.exec(banner.toString())?.[1] ?? '';
  const pollEnv = (data: string) => ({ ...env(data), PROVIDER_BASE_URL: url, API_TOKEN: 'mock-token' });
  const empty = path.join(root, 'empty', 'data');
  mkdirSync(empty, { recursive: true });
  const pollEmpty = measured([...NODE, cli, 'poll'], pollEnv(empty));
  const pollYear = measured([...NODE, cli, 'poll'], pollEnv(year));
  line('poll on an empty store', show(pollEmpty));
  line('poll on the year store', `${show(pollYear)}  (CPU ${(pollYear.cpu / pollEmpty.cpu).toFixed(2)}x)`);

  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const daemon = spawn(process.execPath, [cli, 'start'], {
    env: { ...process.env, ...pollEnv(year), HEALTH_PORT: String(port), HEALTH_HOST: '127.0.0.1', SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'never' },
    stdio: 'ignore',
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) break;
      } catch {
        if (i > 600) throw new Error('the daemon did not start');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = performance.now();
    const answer = await (await fetch(`${base}/api/report?since=365d`)).arrayBuffer();
    const reportMs = performance.now() - started;
    const charts = await (await fetch(`${base}/api/charts?since=365d`)).arrayBuffer();
    await fetch(`${base}/`);
    const rss = Number(/^process_resident_memory_bytes (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1]) / 2 ** 20;
    line('daemon: /api/report?since=365d (first, computed)', `${reportMs.toFixed(0)} ms, ${(answer.byteLength / 1024).toFixed(0)} KB`);
    line('daemon: /api/charts?since=365d', `${(charts.byteLength / 1024).toFixed(0)} KB`);
    line('daemon RSS after serving the year-long window', `${rss.toFixed(0)} MB`);
  } finally {
    daemon.kill('SIGTERM');
    await once(daemon, 'exit');
  }
} finally {
  mock.kill('SIGTERM');
}

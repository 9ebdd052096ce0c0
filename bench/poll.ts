// Benchmark of one poll (figures, not a test): the simulator in its own process with
// --movies N per provider, latency and failures; the poll runs in this process so its peak
// RSS is this process's. Usage: npm run bench [-- --movies 10000 --latency-ms 10 --fail-rate 0.1 --concurrency 50]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { runPoll } from '../src/poll.js';

const { values } = parseArgs({
  options: {
    movies: { type: 'string', default: '10000' },
    'latency-ms': { type: 'string', default: '10' },
    'fail-rate': { type: 'string', default: '0.1' },
    concurrency: { type: 'string', default: '50' },
  },
});
const movies = Number(values.movies);
const latencyMs = Number(values['latency-ms']);
const concurrency = Number(values.concurrency);
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');

const mock = spawn(process.execPath, [cli, 'mock-provider', '--port', '0', '--movies', String(movies), '--latency-ms', String(latencyMs), '--fail-rate', values['fail-rate'], '--seed', '1'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [banner] = (await once(mock.stdout, 'data')) as [Buffer];
const url = /(http:\/\/\S+\/api\/)/.exec(banner.toString())?.[1];
if (!url) throw new Error(`the simulator did not start: ${banner.toString()}`);

const work = mkdtempSync(path.join(os.tmpdir(), 'mc-bench-'));
try {
  const { settings } = loadConfig({
    cwd: work,
    env: {
      API_TOKEN: 'mock-token', PROVIDER_BASE_URL: url, DATA_DIR: path.join(work, 'data'), LOG_DIR: path.join(work, 'logs'),
      HTTP_CONCURRENCY: String(concurrency), POLL_DEADLINE_MS: '600000', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    requireToken: true,
  });
  const log = createLogger({ ...settings.log, secrets: [], consoleFormat: 'json' });
  const rssBefore = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const summary = await runPoll({ settings, logger: log.logger });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const peakRssMb = process.resourceUsage().maxRSS / 1024; // before DuckDB loads for the read-back
  await log.close();

  const listed = summary.runs.reduce((n, r) => n + r.listed, 0);
  const retries = summary.runs.reduce((n, r) => n + r.retries, 0);
  const lowerBoundMs = latencyMs * (1 + Math.ceil(movies / concurrency)); // providers run in parallel

  // Loaded only now: the collector's poll never loads DuckDB, so it must not count in its RSS.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const stored = (await con.runAndReadAll(`SELECT count(*)::INT AS n FROM read_parquet('${settings.store.dir}/movies/**/*.parquet', hive_partitioning = true)`)).getRowObjectsJS()[0]?.n;
  con.closeSync();
  db.closeSync();

  const figures: Array<[string, string]> = [
    ['films per provider', String(movies)],
    ['latency / fail rate / concurrency', `${latencyMs} ms / ${values['fail-rate']} / ${concurrency}`],
    ['wall time', `${(wallMs / 1000).toFixed(2)} s`],
    ['lower bound', `${(lowerBoundMs / 1000).toFixed(2)} s  (latency x (1 + ceil(N / concurrency)))`],
    ['ratio wall / lower bound', `${(wallMs / lowerBoundMs).toFixed(2)}  (target <= 1.5)`],
    ['completeness', `${((100 * summary.movies) / listed).toFixed(2)} %  (${summary.movies} of ${listed}; ${String(stored)} rows read back by DuckDB)`],
    ['retries', String(retries)],
    ['collector CPU time', `${((cpu.user + cpu.system) / 1e6).toFixed(2)} s (user + system, this process)`],
    ['peak RSS', `${peakRssMb.toFixed(0)} MB  (target <= 300; ${(rssBefore / 2 ** 20).toFixed(0)} MB before the poll)`],
    ['Parquet write (stage + fsync)', `${(summary.writeMs / 1000).toFixed(2)} s, ${Math.round(summary.movies / (summary.writeMs / 1000))} rows/s`],
    ['status', summary.status],
  ];
  const width = Math.max(...figures.map(([k]) => k.length));
  for (const [k, v] of figures) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
} finally {
  mock.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}

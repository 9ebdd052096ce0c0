// Live report benchmark (figures, not a test): the daemon (`movies-collector start`) over the
// 1,000,000-row report store (bench/report-store.ts), polling the simulator on a schedule.
// Prints /api/report's first answer and the median of 20 after it, the daemon's RSS before and
// after the first report, and the daemon's poll durations without and with the page requested
// 10 times a second: --traffic page (default) asks what an open page asks (/api/status, then
// /api/report with If-None-Match; /api/charts and the whole report when the ETag changed);
// --traffic full asks /, /api/status and the whole /api/report every time (10 fresh page loads a second).
// Usage: npm run bench:live [-- --traffic page|full --polls 100 --films 5000 --movies 1000 --interval 15 --keep DIR]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildReportStore } from './report-store.js';

const { values } = parseArgs({
  options: {
    polls: { type: 'string', default: '100' },
    films: { type: 'string', default: '5000' },
    movies: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '15' },
    'polls-each': { type: 'string', default: '3' },
    /** page: what an open page asks (status, report with If-None-Match; charts and the report when it changed); full: /, status and the whole report every time. */
    traffic: { type: 'string', default: 'page' },
    keep: { type: 'string' },
  },
});
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');
const root = values.keep ?? mkdtempSync(path.join(os.tmpdir(), 'mc-bench-live-'));
const store = path.join(root, 'store');
const pollsEach = Number(values['polls-each']);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

process.stderr.write(`building the store under ${store} (if absent)…\n`);
await buildReportStore(store, Number(values.polls), Number(values.films));

const mock = spawn(process.execPath, [cli, 'mock-provider', '--port', '0', '--movies', values.movies ?? '1000', '--latency-ms', '5', '--seed', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
const [banner] = (await once(mock.stdout, 'data')) as [Buffer];
const url = /(http:\/\/\S+\/api\/)/.exec(banner.toString())?.[1];
if (!url) throw new Error(`the simulator did not start: ${banner.toString()}`);

const port = await new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(p));
  });
});
const daemon = spawn(process.execPath, [cli, 'start'], {
  cwd: root,
  env: {
    PATH: process.env.PATH, API_TOKEN: 'mock-token', PROVIDER_BASE_URL: url, DATA_DIR: store, LOG_DIR: path.join(root, 'logs'),
    HEALTH_PORT: String(port), HEALTH_HOST: '127.0.0.1', SCHEDULE_CRON: `*/${values.interval} * * * * *`, RUN_ON_START: 'never', LOG_LEVEL: 'debug',
  },
  stdio: ['ignore', 'ignore', 'pipe'],
});
const polls: number[] = [];
const computations: number[] = [];
let buffered = '';
daemon.stderr.setEncoding('utf8'); // whole characters, even when one spans two chunks
daemon.stderr.on('data', (chunk: string) => {
  buffered += chunk;
  let nl: number;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    try {
      const l = JSON.parse(line) as { message: string; durationMs?: number; ms?: number };
      if (l.message === 'live report computed' && typeof l.ms === 'number') computations.push(l.ms);
      if (/^poll (complete|partial|failed):/.test(l.message) && typeof l.durationMs === 'number') polls.push(l.durationMs);
    } catch {
      // not a log line
    }
  }
});

const base = `http://127.0.0.1:${port}`;
const timed = async (target: string, headers: Record<string, string> = {}) => {
  const started = performance.now();
  const res = await fetch(base + target, { headers });
  const body = await res.arrayBuffer();
  return { ms: performance.now() - started, status: res.status, bytes: body.byteLength, etag: res.headers.get('etag') ?? '' };
};
const rss = async () => Number(/^process_resident_memory_bytes (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1]) / 1e6;
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      if (i > 200) throw new Error('the daemon did not start');
    }
    await sleep(100);
  }
  const rssBefore = await rss();
  const first = await timed('/api/report');
  if (first.status !== 200) throw new Error(`/api/report answered ${first.status}`);
  const rssAfter = await rss();
  const again: number[] = [];
  for (let i = 0; i < 20; i++) again.push((await timed('/api/report')).ms);
  const notModified: number[] = [];
  for (let i = 0; i < 20; i++) notModified.push((await timed('/api/report', { 'if-none-match': first.etag })).ms);

  // Poll durations: without traffic, then with the page's traffic 10 times a second.
  const waitPolls = async (n: number) => {
    const start = polls.length;
    while (polls.length < start + n) await sleep(200);
    return polls.slice(start, start + n);
  };
  await waitPolls(1); // the first poll loads the poll's modules: not counted
  const quiet = await waitPolls(pollsEach);
  let stop = false;
  let pageLoads = 0;
  let slowest = 0;
  let seen = first.etag;
  let bytes = 0;
  const load = (async () => {
    while (!stop) {
      const tick = performance.now();
      const requests = values.traffic === 'full' ? [timed('/'), timed('/api/status'), timed('/api/report')] : [timed('/api/status'), timed('/api/report', { 'if-none-match': seen })];
      void Promise.all(requests).then(async (rs) => {
        const etag = rs.at(-1)?.etag ?? '';
        if (etag !== seen) {
          seen = etag;
          rs.push(await timed('/api/charts'));
          if (values.traffic !== 'full') rs.push(await timed('/api/report'));
        }
        pageLoads++;
        bytes += rs.reduce((n, r) => n + r.bytes, 0);
        slowest = Math.max(slowest, ...rs.map((r) => r.ms));
      });
      await sleep(Math.max(0, 100 - (performance.now() - tick)));
    }
  })();
  const busy = await waitPolls(pollsEach);
  stop = true;
  await load;
  const rssEnd = await rss();

  const line = (name: string, value: string) => process.stdout.write(`${name.padEnd(46)} ${value}\n`);
  line('store', `${values.polls} polls x 2 x ${values.films} films (${Number(values.polls) * 2 * Number(values.films)} movie rows)`);
  line('/api/report, first (computes, loads DuckDB)', `${first.ms.toFixed(0)} ms (${(first.bytes / 1e6).toFixed(1)} MB)`);
  line('/api/report, median of 20 after it', `${median(again).toFixed(1)} ms (target < 100 ms)`);
  line('/api/report 304, median of 20', `${median(notModified).toFixed(1)} ms`);
  line('daemon RSS before / after the first report', `${rssBefore.toFixed(0)} / ${rssAfter.toFixed(0)} MB (end: ${rssEnd.toFixed(0)} MB)`);
  line(`poll of 2 x ${values.movies} films, no page traffic`, `${quiet.map((p) => p.toFixed(0)).join(', ')} ms (median ${median(quiet).toFixed(0)})`);
  line(`same, page requested 10 times a second (${values.traffic})`, `${busy.map((p) => p.toFixed(0)).join(', ')} ms (median ${median(busy).toFixed(0)})`);
  line('  the page traffic meanwhile', `${pageLoads} page requests, ${(bytes / 1e6).toFixed(0)} MB, slowest answer ${slowest.toFixed(0)} ms`);
  line('ratio with / without', `${(median(busy) / median(quiet)).toFixed(2)}`);
  line('report computations (niced child process)', `${computations.length}, median ${median(computations).toFixed(0)} ms`);
} finally {
  daemon.kill('SIGTERM');
  mock.kill('SIGTERM');
  await once(daemon, 'exit');
  if (!values.keep) rmSync(root, { recursive: true, force: true });
}

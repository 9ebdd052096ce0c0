// Soak (figures, not a test): the real daemon polling every second against the simulator for a
// set number of polls; RSS and open file descriptors of the daemon read from /proc.
// Usage: npm run soak [-- --polls 300 --fail-rate 0.1]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { polls: { type: 'string', default: '300' }, 'fail-rate': { type: 'string', default: '0.1' } } });
const target = Number(values.polls);
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');

const freePort = async (): Promise<number> => {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  s.close();
  return port;
};

const mock = spawn(process.execPath, [cli, 'mock-provider', '--port', '0', '--fail-rate', values['fail-rate'], '--latency-ms', '5', '--price-drift', '0.05'], { stdio: ['ignore', 'pipe', 'inherit'] });
const [banner] = (await once(mock.stdout, 'data')) as [Buffer];
const url = /(http:\/\/\S+\/api\/)/.exec(banner.toString())?.[1] ?? '';
const work = mkdtempSync(path.join(os.tmpdir(), 'mc-soak-'));
const healthPort = await freePort();
const daemon = spawn(process.execPath, [cli, 'start'], {
  cwd: work,
  env: { PATH: process.env.PATH, API_TOKEN: 'mock-token', PROVIDER_BASE_URL: url, SCHEDULE_CRON: '* * * * * *', RUN_ON_START: 'never', HEALTH_PORT: String(healthPort), HEALTH_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'ignore'],
});

const pid = daemon.pid ?? 0;
const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
const fds = () => readdirSync(`/proc/${pid}/fd`).length;
const metric = async (name: string): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
};
const polls = () => metric('collector_polls_total');
const waitForPolls = async (n: number) => {
  for (;;) {
    try {
      if ((await polls()) >= n) return;
    } catch {
      // the health endpoint is not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

try {
  const started = Date.now();
  await waitForPolls(1);
  const first = { rss: rssMb(), fds: fds() };
  await waitForPolls(Math.min(10, target));
  const warm = { rss: rssMb(), fds: fds() };
  await waitForPolls(target);
  const end = { rss: rssMb(), fds: fds() };
  const failed = await metric('collector_polls_total\\{status="failed"\\}');
  const skipped = await metric('collector_ticks_skipped_total');
  const done = await polls();
  const rows: Array<[string, string]> = [
    ['polls done / skipped ticks / failed', `${done} / ${skipped} / ${failed}  (${((Date.now() - started) / 1000).toFixed(0)} s)`],
    ['RSS after poll 1 / 10 / end', `${first.rss.toFixed(1)} / ${warm.rss.toFixed(1)} / ${end.rss.toFixed(1)} MB`],
    ['RSS growth from poll 10 to end', `${((100 * (end.rss - warm.rss)) / warm.rss).toFixed(1)} %  (target < 20 %)`],
    ['RSS growth from poll 1 to end', `${((100 * (end.rss - first.rss)) / first.rss).toFixed(1)} %`],
    ['open fds after poll 1 / 10 / end', `${first.fds} / ${warm.fds} / ${end.fds}  (target: flat)`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
} finally {
  daemon.kill('SIGTERM');
  await once(daemon, 'exit');
  mock.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}

// Start-up benchmark (figures, not a test; issue 30): what each command a person or a host's cron
// types costs before and around its work, against Node's own start-up (`node -e 0`) in the same
// run. Each command runs --runs times after one warm-up run (which fills Node's compile cache, as
// the first run on a host does), the commands interleaved round-robin so that a busy moment of the
// machine costs every command alike; CPU (user + sys), wall and peak RSS come from GNU time.
//   node -e 0                      the floor
//   libraries only                 the owner's libraries a healthy poll loads, nothing done (startup-floor.ts)
//   --help                         `node dist/src/cli.js --help`, and the bin (the file run through its #! line)
//   check-config                   with the simulator's token, writable folders, health port off
//   poll                           one-shot poll of the simulator's 13 films, as `node dist/src/cli.js poll` and as the bin
//   report                         `report --since 7d` of a compacted 7-day store of the 13 films (15-minute polls)
// Usage: npm run bench:startup [-- --runs 7 --before OTHER/dist/src/cli.js --only poll,report]
// (--before: another build's CLI, measured in the same run, interleaved with this one, each row
// marked [before]; the simulator and the stores are this build's.)
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { catalogueStore } from './catalogue-store.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    before: { type: 'string' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: expected a whole number from 1');
const here = path.dirname(fileURLToPath(import.meta.url));
const OWN_CLI = path.resolve(here, '../src/cli.js');
const before = values.before === undefined ? null : path.resolve(values.before);
const TIME = '/usr/bin/time';
if (!existsSync(TIME)) throw new Error('bench:startup needs GNU time (/usr/bin/time): apt-get install time');

interface Figures { cpu: number; wall: number; rssMb: number; code: number }
interface Command { name: string; argv: string[]; env: Record<string, string>; target?: { cpu?: number; wall?: number }; expect: number[] }

/** Runs argv under GNU time; its CPU counts every process it waited for (an exec'd Node included). */
async function measure(argv: string[], env: Record<string, string>): Promise<Figures> {
  const child = spawn(TIME, ['-f', 'TIME %U %S %e %M', ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8'); // whole characters, even when one spans two chunks
  child.stderr.on('data', (d: string) => (err += d));
  const [code] = (await once(child, 'close')) as [number];
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(err);
  if (!m) throw new Error(`no figures from ${TIME} for ${argv.join(' ')}: ${err.slice(-2000)}`);
  return { cpu: Number(m[1]) + Number(m[2]), wall: Number(m[3]), rssMb: Number(m[4]) / 1024, code };
}

async function simulator(): Promise<{ url: string; stop(): void }> {
  const mock = spawn(process.execPath, [OWN_CLI, 'mock-provider', '--port', '0', '--seed', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [banner] = (await once(mock.stdout, 'data')) as [Buffer];
  const url = /(http:\/\/\S+\/api\/)/.exec(banner.toString())?.[1];
  if (!url) throw new Error(`the simulator did not start: ${banner.toString()}`);
  return { url, stop: () => mock.kill('SIGTERM') };
}

/** A compacted copy of the cached 7-day 13-film store (as a daemon leaves it: closed days in one file each). */
async function reportStore(work: string, env: Record<string, string>): Promise<string> {
  const cached = await catalogueStore({ layout: 'current', films: null, days: 7 }, { progress: true });
  const data = path.join(work, 'report-data');
  const copy = spawnSync('cp', ['-al', cached.data, data], { encoding: 'utf8' });
  if (copy.status !== 0) throw new Error(`cp -al: ${copy.stderr}`);
  const compact = spawnSync(process.execPath, [OWN_CLI, 'compact'], { env: { ...env, DATA_DIR: data }, encoding: 'utf8' });
  if (compact.status !== 0) throw new Error(`compact of the report store: ${compact.stderr}`);
  return data;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const work = mkdtempSync(path.join(os.tmpdir(), 'mc-startup-'));
const films = await simulator();
try {
  // A compile cache of this bench's own (<TMPDIR>/node-compile-cache): filled by the warm-up run.
  const tmp = path.join(work, 'tmp');
  mkdirSync(tmp);
  const base = {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmp, TMPDIR: tmp, API_TOKEN: 'mock-token', PROVIDER_BASE_URL: films.url,
    DATA_DIR: path.join(work, 'data'), LOG_DIR: path.join(work, 'logs'), HEALTH_PORT: '0',
  };
  const node = process.execPath;
  const reportEnv = { ...base, DATA_DIR: await reportStore(work, base) };
  const commandsOf = (cli: string, tag: string): Command[] => {
    chmodSync(cli, 0o755); // as the image and npm's bin link make it
    return [
      { name: `--help${tag}`, argv: [node, cli, '--help'], env: base, target: { cpu: 0.1 }, expect: [0] },
      { name: `--help (bin)${tag}`, argv: [cli, '--help'], env: base, target: { cpu: 0.1 }, expect: [0] },
      { name: `check-config${tag}`, argv: [node, cli, 'check-config'], env: base, target: { cpu: 0.12 }, expect: [0] },
      { name: `poll${tag}`, argv: [node, cli, 'poll'], env: base, target: { cpu: 0.3 }, expect: [0] },
      { name: `poll (bin)${tag}`, argv: [cli, 'poll'], env: base, target: { cpu: 0.3 }, expect: [0] },
      { name: `report --since 7d${tag}`, argv: [node, cli, 'report', '--since', '7d'], env: reportEnv, target: { wall: 0.5 }, expect: [0] },
    ];
  };
  const commands: Command[] = [
    { name: 'node -e 0', argv: [node, '-e', '0'], env: base, expect: [0] },
    { name: 'libraries only', argv: [node, path.join(here, 'startup-floor.js')], env: base, expect: [0] },
    // Each command of this build beside the same of the other: a busy moment costs both alike.
    ...commandsOf(OWN_CLI, '').flatMap((c, i) => (before ? [c, commandsOf(before, ' [before]')[i] as Command] : [c])),
  ];
  const only = values.only?.split(',').filter(Boolean);
  const chosen = commands.filter((c) => c.name === 'node -e 0' || c.name === 'libraries only' || !only || only.some((o) => c.name.startsWith(o)));
  const figures = new Map<string, Figures[]>(chosen.map((c) => [c.name, []]));
  for (let i = 0; i <= runs; i++) {
    for (const c of chosen) {
      const f = await measure(c.argv, c.env);
      if (!c.expect.includes(f.code)) throw new Error(`${c.name} exited ${f.code}`);
      if (i > 0) figures.get(c.name)?.push(f); // run 0 warms the compile cache and the page cache
    }
  }
  const floor = median(figures.get('node -e 0')?.map((f) => f.cpu) ?? []);
  const rows = chosen.map((c) => {
    const fs = figures.get(c.name) ?? [];
    const cpu = median(fs.map((f) => f.cpu));
    const wall = median(fs.map((f) => f.wall));
    const met = (c.target?.cpu === undefined || cpu <= c.target.cpu) && (c.target?.wall === undefined || wall <= c.target.wall);
    const target = c.target ? `${c.target.cpu !== undefined ? `CPU <= ${c.target.cpu.toFixed(2)} s` : `wall <= ${c.target.wall?.toFixed(2)} s`}: ${met ? 'met' : 'MISSED'}` : '';
    return { name: c.name, cpu, wall, rssMb: median(fs.map((f) => f.rssMb)), ratio: cpu / floor, cpus: fs.map((f) => f.cpu), target };
  });
  process.stdout.write(`\n== start-up: median of ${runs} runs after one warm-up (this build${before ? `; [before]: ${before}` : ''})\n`);
  process.stdout.write(`${'command'.padEnd(20)} ${'CPU'.padStart(7)} ${'wall'.padStart(7)} ${'RSS'.padStart(7)} ${'x node'.padStart(7)}  target\n`);
  for (const r of rows) {
    process.stdout.write(`${r.name.padEnd(20)} ${`${r.cpu.toFixed(2)} s`.padStart(7)} ${`${r.wall.toFixed(2)} s`.padStart(7)} ${`${r.rssMb.toFixed(0)} MB`.padStart(7)} ${r.ratio.toFixed(2).padStart(7)}  ${r.target}\n`);
  }
  process.stdout.write(`\nmachine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify({ runs, before, rows })}\n`);
} finally {
  films.stop();
  rmSync(work, { recursive: true, force: true });
}

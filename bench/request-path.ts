// Benchmark (figures, no asserts): the request path's CPU per HTTP attempt against the bare undici
// client, in alternating rounds against one simulator (2 × --movies films, 10 ms latency, 10 % 5xx,
// concurrency 50), so that a busy machine weighs on every figure alike. Each round runs the bare
// client, then for this build (and --baseline, another checkout's built tree, for before/after)
// the collector's whole poll and its fetch-only harvest (bench/poll-child.ts), each in its own
// process. Prints each figure's median and every round's value.
// Usage: node dist/bench/request-path.js [--rounds 5] [--movies 5000] [--baseline /path/to/other/checkout]
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HEAP_FLAGS } from '../src/runtime/heap.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, movies: { type: 'string', default: '5000' }, baseline: { type: 'string' } } });
const here = path.dirname(fileURLToPath(import.meta.url));
const builds = [{ name: 'this build', bench: here }, ...(values.baseline ? [{ name: 'baseline', bench: path.resolve(values.baseline, 'dist/bench') }] : [])];

const sim = spawn(process.execPath, [path.resolve(here, '../src/cli.js'), 'mock-provider', '--port', '0', '--seed', '1', '--movies', values.movies, '--latency-ms', '10', '--fail-rate', '0.1'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [banner] = (await once(sim.stdout, 'data')) as [Buffer];
const url = /(http:\/\/\S+\/api\/)/.exec(banner.toString())?.[1];
if (!url) throw new Error(`the simulator did not start: ${banner.toString()}`);
const work = mkdtempSync(path.join(os.tmpdir(), 'mc-request-path-'));

/** The JSON object on the last line of a script's stdout. */
function run(script: string, args: string[], flags: readonly string[] = []): Record<string, unknown> {
  const out = execFileSync(process.execPath, [...flags, script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  return JSON.parse(out.trimEnd().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

const figures = new Map<string, number[]>();
const add = (key: string, value: number) => figures.set(key, [...(figures.get(key) ?? []), value]);
let n = 0;
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
    const bare = run(path.join(here, 'bare-client.js'), ['--url', url, '--concurrency', '50']) as { cpuMs: number; attempts: number };
    const bareUs = (bare.cpuMs * 1000) / bare.attempts;
    add('bare client, µs per attempt', bareUs);
    for (const build of builds) {
      for (const mode of ['whole poll', 'fetch only'] as const) {
        const child = run(path.join(build.bench, 'poll-child.js'), ['--url', url, '--dir', path.join(work, String(n++)), '--concurrency', '50', ...(mode === 'fetch only' ? ['--fetch-only'] : [])], HEAP_FLAGS);
        const poll = (child.polls as Array<{ cpuMs: number; attempts: number }>)[0];
        if (!poll) throw new Error('no poll figures');
        const us = (poll.cpuMs * 1000) / poll.attempts;
        add(`${build.name}, ${mode}, µs per attempt`, us);
        add(`${build.name}, ${mode}, × bare`, us / bareUs);
      }
    }
    process.stderr.write(`round ${round} done\n`);
  }
} finally {
  sim.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const width = Math.max(...[...figures.keys()].map((k) => k.length));
process.stdout.write(`\n== request path: 2 x ${values.movies} films, 10 ms latency, 0.1 fail rate, concurrency 50, ${values.rounds} alternating rounds\n`);
for (const [key, xs] of figures) process.stdout.write(`${key.padEnd(width)}  median ${median(xs).toFixed(2).padStart(7)}   (${xs.map((x) => x.toFixed(2)).join(', ')})\n`);
process.stdout.write(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}\n`);

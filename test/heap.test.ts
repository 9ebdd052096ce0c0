// The young generation's bound (src/runtime/heap.ts), in every way the CLI starts: through its #!
// line (the bin, `npm exec`, the Docker image) Node starts with the V8 flag; as
// `node dist/src/cli.js poll` (the README's form, the scripts') the process keeps the same bound
// from inside, without starting Node a second time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { HEAP_FLAGS, SEMI_SPACE_MB } from '../src/runtime/heap.js';
import { startMockProvider } from '../src/mock/server.js';
import { CLI, runCli, tempDir } from './helpers.js';

const MB = 2 ** 20;

test('the CLI run as a command (through its shebang, as the Docker image runs it) starts Node with the heap flags', (t) => {
  const dir = tempDir(t);
  const preload = path.join(dir, 'argv.mjs');
  const out = path.join(dir, 'argv.json');
  writeFileSync(preload, `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.execArgv)));\n`);
  chmodSync(CLI, 0o755); // as the Dockerfile does
  execFileSync(CLI, ['--version'], { env: { PATH: process.env.PATH, NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` }, stdio: 'ignore' });
  const execArgv = JSON.parse(readFileSync(out, 'utf8')) as string[];
  for (const flag of HEAP_FLAGS) assert.ok(execArgv.includes(flag), `node started with ${JSON.stringify(execArgv)}, without ${flag}`);
});

/**
 * A one-shot poll of 2 × 1,000 films run as `node [flags] dist/src/cli.js poll`: the largest new
 * space V8 had (both semi-spaces, read after every GC by a preload), the process's command-line
 * and how many times Node started (the preload runs at each start-up, an exec'd one included).
 */
async function pollNewSpace(t: { after(fn: () => unknown): void }, url: string, token: string, flags: string[]): Promise<{ maxNewSpace: number; starts: number }> {
  const dir = tempDir(t);
  const preload = path.join(dir, 'heap.mjs');
  const out = path.join(dir, 'heap.jsonl');
  writeFileSync(
    preload,
    `import { appendFileSync } from 'node:fs';\nimport { PerformanceObserver } from 'node:perf_hooks';\nimport v8 from 'node:v8';\n` +
      `appendFileSync(${JSON.stringify(out)}, '{"start":true}\\n');\n` + // each Node start-up (an exec'd one too: exit never fires in the first)
      `let max = 0;\nconst look = () => { max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0); };\n` +
      `new PerformanceObserver(look).observe({ entryTypes: ['gc'] });\n` +
      `process.on('exit', () => { look(); appendFileSync(${JSON.stringify(out)}, JSON.stringify({ max, execArgv: process.execArgv }) + '\\n'); });\n`,
  );
  const run = await runCli(['poll'], {
    cwd: dir,
    timeoutMs: 180_000,
    env: { API_TOKEN: token, PROVIDER_BASE_URL: url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), NODE_OPTIONS: [...flags, `--import=${pathToFileURL(preload).href}`].join(' ') },
  });
  assert.equal(run.code, 0, run.stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { start?: true; max?: number });
  return { maxNewSpace: Math.max(...lines.map((l) => l.max ?? 0)), starts: lines.filter((l) => l.start).length };
}

test('`node dist/src/cli.js poll`, started without the heap flags, keeps the young generation within the bound in its one Node process', async (t) => {
  const mock = await startMockProvider({ seed: 3, movies: 1000 });
  t.after(() => mock.close());
  const bound = 2 * SEMI_SPACE_MB * MB;
  // The control: with a semi-space size given by the user (kept as given), this poll grows the new space past the bound.
  const unbounded = await pollNewSpace(t, mock.url, mock.token, ['--max-semi-space-size=64']);
  assert.ok(unbounded.maxNewSpace > bound, `this poll grows an unbounded new space past ${bound / MB} MB (it reached ${unbounded.maxNewSpace / MB} MB): the check below means something`);
  const plain = await pollNewSpace(t, mock.url, mock.token, []);
  assert.equal(plain.starts, 1, 'one Node start-up (no exec of a second one)');
  assert.ok(plain.maxNewSpace <= bound, `the new space reached ${plain.maxNewSpace / MB} MB, past its bound of ${bound / MB} MB`);
});

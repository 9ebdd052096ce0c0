// The V8 flag that bounds the young generation (src/heap.ts) must be given when the process
// starts: the CLI's shebang line carries it, so the installed command (the Docker image's
// `movies-collector`) starts Node with it; `node dist/src/cli.js poll` (the README's form, the
// scripts') execs itself again with it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { HEAP_FLAGS } from '../src/runtime/heap.js';
import { startMockProvider } from '../src/mock/server.js';
import { CLI, runCli, tempDir } from './helpers.js';

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


test('`node dist/src/cli.js poll`, started without the heap flags, polls in a Node whose young generation they bound', async (t) => {
  const dir = tempDir(t);
  // V8's own figure, not the command line: heap_size_limit counts the young generation's maximum.
  const limit = (flags: readonly string[]) => Number(execFileSync(process.execPath, [...flags, '-p', 'v8.getHeapStatistics().heap_size_limit'], { encoding: 'utf8' }));
  const bounded = limit(HEAP_FLAGS);
  assert.notEqual(bounded, limit([]), 'the flags change heap_size_limit on this machine');
  const preload = path.join(dir, 'heap.mjs');
  const out = path.join(dir, 'heap.json');
  writeFileSync(preload, `import { writeFileSync } from 'node:fs';\nimport v8 from 'node:v8';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(out)}, JSON.stringify({ limit: v8.getHeapStatistics().heap_size_limit, execArgv: process.execArgv })));\n`);
  const mock = await startMockProvider({ seed: 3 });
  t.after(() => mock.close());
  const run = await runCli(['poll'], {
    cwd: dir,
    env: { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` },
  });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /cinemaworld\s+complete/);
  const seen = JSON.parse(readFileSync(out, 'utf8')) as { limit: number; execArgv: string[] };
  assert.equal(seen.limit, bounded, `the poll ran with ${JSON.stringify(seen.execArgv)}`);
});

// The V8 flag that bounds the young generation (src/heap.ts) must be given when the process
// starts: the CLI's shebang line carries it, so the installed command (the Docker image's
// `movies-collector`) starts Node with it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { HEAP_FLAGS } from '../src/runtime/heap.js';
import { CLI, tempDir } from './helpers.js';

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


// What a one-shot `poll` loads and does at start-up: no module the command does not use (the
// Parquet reader and its AWS S3 client, undici's index, the progress bars off a terminal), no
// DEP0005 stack captures, and Node's compile cache in use. Figures are in `npm run bench`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { startMockProvider } from '../src/mock/server.js';
import { query, table } from './duckdb.js';
import { CLI, runCli, tempDir } from './helpers.js';

/** A preload that writes every CommonJS module the process loaded (as a path) when it exits. */
function loadedModulesPreload(dir: string): { preload: string; out: string } {
  const preload = path.join(dir, 'loaded.mjs');
  const out = path.join(dir, 'loaded.txt');
  writeFileSync(
    preload,
    `import { createRequire } from 'node:module';\nimport { writeFileSync } from 'node:fs';\n` +
      `process.on('exit', () => writeFileSync(${JSON.stringify(out)}, Object.keys(createRequire(import.meta.url).cache).join('\\n')));\n`,
  );
  return { preload, out };
}

test('a one-shot poll loads only what it uses (no Parquet reader, AWS S3 client, undici index or progress bars) and fills the compile cache', async (t) => {
  const mock = await startMockProvider({});
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const cache = path.join(cwd, 'compile-cache');
  const { preload, out } = loadedModulesPreload(cwd);
  const run = await runCli(['poll'], {
    cwd,
    env: {
      API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(cwd, 'data'), LOG_DIR: path.join(cwd, 'logs'),
      NODE_COMPILE_CACHE: cache, NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`,
    },
  });
  assert.equal(run.code, 0, run.stderr);
  const [row] = await query(`SELECT count(*)::INT AS n FROM ${table(path.join(cwd, 'data'), 'movies')} WHERE price_cents > 0`);
  assert.equal(row?.n, 13, 'the poll wrote its 13 films');

  const loaded = readFileSync(out, 'utf8').split('\n');
  const hits = (part: string) => loaded.filter((f) => f.includes(part));
  assert.ok(hits(`${path.sep}@dsnp${path.sep}parquetjs${path.sep}`).length > 0, 'the check itself sees CommonJS modules (parquetjs is loaded)');
  assert.ok(hits(`${path.sep}undici${path.sep}`).length > 0, 'the check sees undici');
  for (const unused of ['@aws-sdk', `parquetjs${path.sep}dist${path.sep}lib${path.sep}reader.js`, `parquetjs${path.sep}dist${path.sep}parquet.js`, `undici${path.sep}index.js`, 'cli-progress']) {
    assert.deepEqual(hits(unused), [], `${unused} is not loaded by a poll`);
  }
  assert.doesNotMatch(run.stderr, /DEP0005|Buffer\(\) is deprecated/);
  assert.ok(readdirSync(cache, { recursive: true }).length > 0, 'the compile cache was written');
});

test("DEP0005: Node's one Buffer() warning is spent silently, so calls from node_modules are never checked; other deprecations still warn", (t) => {
  const dir = tempDir(t);
  const script = path.join(dir, 'check.mjs');
  const shim = pathToFileURL(path.resolve(path.dirname(CLI), 'store/parquet/buffer-deprecation.js')).href;
  // Without the shim, a Buffer() call from outside node_modules (this script) warns DEP0005.
  writeFileSync(
    script,
    `import { settleBufferDeprecation } from ${JSON.stringify(shim)};\n` +
      `const seen = [];\nprocess.on('warning', (w) => seen.push(w.code));\n` +
      `settleBufferDeprecation();\nconst noDeprecationAfter = String(process.noDeprecation);\n` +
      `new Buffer(1);\nprocess.emitWarning('other', 'DeprecationWarning', 'DEP_OTHER');\n` +
      `setImmediate(() => process.stdout.write(JSON.stringify({ seen, noDeprecationAfter })));\n`,
  );
  const run = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { seen: ['DEP_OTHER'], noDeprecationAfter: 'undefined' });
  assert.doesNotMatch(run.stderr, /DEP0005/);
});

// A hostile or broken upstream, for real over HTTP: the poll caps, refuses, times out, rejects
// or encodes, commits what is good, and the token never reaches another origin.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { query, table } from './duckdb.js';
import { runCli, tempDir } from './helpers.js';
import { startHostile, startRecorder } from './hostile-server.js';

const TOKEN = 'hostile-test-token';

test('huge body, cross-origin redirect, dripped bytes, invalid UTF-8, deep nesting, unsafe and duplicate IDs, an empty list', async (t) => {
  const elsewhere = await startRecorder();
  t.after(() => elsewhere.close());
  const hostile = await startHostile(TOKEN, elsewhere.url);
  t.after(() => hostile.close());
  const cwd = tempDir(t);
  writeFileSync(path.join(cwd, 'c.json'), JSON.stringify({ providers: ['hostile', 'empty'], http: { timeoutMs: 1500, retries: 1 } }));
  const started = Date.now();
  const run = await runCli(['poll'], { cwd, env: { API_TOKEN: TOKEN, PROVIDER_BASE_URL: hostile.url, CONFIG_FILE: path.join(cwd, 'c.json') } });
  assert.equal(run.code, 2, run.stdout + run.stderr);
  assert.ok(Date.now() - started < 30_000, 'the dripped answer was cut by the per-attempt timeout');

  assert.deepEqual(elsewhere.requests, [], 'the redirect was not followed: the token never reached another origin');
  const paths = hostile.requests.map((r) => r.path);
  for (const p of paths) assert.match(p, /^\/api\/(hostile|empty)\/(movies|movie\/(ok1|ok2|big|redirect|drip|badutf8|deep|dup))$/, `unexpected request ${p}`);
  assert.equal(paths.filter((p) => p.endsWith('/dup')).length, 1, 'a duplicate ID is fetched once');

  const data = path.join(cwd, 'data');
  const runs = await query(`SELECT provider, status, listed, fetched, failed, rejected, responses FROM ${table(data, 'runs')} ORDER BY provider`);
  assert.deepEqual(runs.map((r) => [r.provider, r.status, r.listed, r.fetched, r.failed, r.rejected]), [
    ['empty', 'complete', 0, 0, 0, 0],
    ['hostile', 'partial', 8, 5, 3, 4],
  ]);
  const movies = await query(`SELECT provider_movie_id AS id, title FROM ${table(data, 'movies')} ORDER BY id`);
  assert.deepEqual(movies.map((m) => m.id), ['badutf8', 'dup', 'ok1', 'ok2']);
  assert.match(String(movies[0]?.title), /^bad \uFFFD/, 'invalid UTF-8 is decoded with replacement characters, not a crash');
  const rejects = await query(`SELECT provider_movie_id AS id, reason FROM ${table(data, 'rejects')} ORDER BY reason`);
  assert.deepEqual(rejects.map((r) => r.id).sort(), ['../../x', 'a?b', 'c#d', 'deep'].sort());
  assert.match(String(rejects.find((r) => r.id === 'deep')?.reason), /not a JSON object|malformed JSON/);
  const log = run.stderr;
  assert.match(log, /maxContentLength size of \d+ exceeded \(http\.maxBodyBytes\)/);
  assert.match(log, /redirect to http:\/\/127\.0\.0\.1:\d+\/steal refused/);
  assert.match(log, /timed out \(http\.timeoutMs\)/);
});

const LIST_SIZE = process.env.TORTURE ? 50_000 : 5000;

test(`a list of ${LIST_SIZE.toLocaleString('en-US')} films is collected in full (npm run torture: 50,000)`, async (t) => {
  const hostile = await startHostile(TOKEN, 'http://127.0.0.1:9', LIST_SIZE);
  t.after(() => hostile.close());
  const cwd = tempDir(t);
  writeFileSync(path.join(cwd, 'c.json'), JSON.stringify({ providers: ['many'], http: { concurrency: 50 } }));
  const run = await runCli(['poll'], { cwd, env: { API_TOKEN: TOKEN, PROVIDER_BASE_URL: hostile.url, CONFIG_FILE: path.join(cwd, 'c.json') }, timeoutMs: 300_000 });
  assert.equal(run.code, 0, run.stderr);
  const [row] = await query(`SELECT count(DISTINCT provider_movie_id)::INT AS n FROM ${table(path.join(cwd, 'data'), 'movies')}`);
  assert.equal(row?.n, LIST_SIZE);
});

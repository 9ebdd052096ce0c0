// One poll end to end: the real CLI against the simulator over HTTP, the store read back by DuckDB.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider, type MockOptions, type MockProvider } from '../src/mock/server.js';
import { query, table } from './duckdb.js';
import { runCli, tempDir, type CliResult } from './helpers.js';

interface Ctx {
  after(fn: () => unknown): void;
}

async function mockFor(t: Ctx, options: MockOptions = {}): Promise<MockProvider> {
  const mock = await startMockProvider(options);
  t.after(() => mock.close());
  return mock;
}

/** Runs `poll` in a fresh folder (or `dir`) against the mock; returns the result and the data dir. */
async function poll(t: Ctx, mock: MockProvider, env: Record<string, string> = {}, dir?: string): Promise<CliResult & { data: string; dir: string }> {
  const cwd = dir ?? tempDir(t);
  const result = await runCli(['poll'], {
    cwd,
    env: { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(cwd, 'data'), LOG_DIR: path.join(cwd, 'logs'), ...env },
  });
  return { ...result, data: path.join(cwd, 'data'), dir: cwd };
}

const stagingEntries = (data: string) => (existsSync(path.join(data, '_staging')) ? readdirSync(path.join(data, '_staging')) : []);

test('happy path: 13 typed rows, Snappy everywhere, readable from the table roots, nothing left in staging', async (t) => {
  const mock = await mockFor(t);
  const run = await poll(t, mock);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /cinemaworld\s+complete\s+7\s+7\s+0\s+0/);
  assert.match(run.stdout, /filmworld\s+complete\s+6\s+6\s+0\s+0/);

  const counts = await query(`SELECT provider, count(*)::INT AS n FROM ${table(run.data, 'movies')} GROUP BY 1 ORDER BY 1`);
  assert.deepEqual(counts, [{ provider: 'cinemaworld', n: 7 }, { provider: 'filmworld', n: 6 }]);

  const types = Object.fromEntries(
    (await query(`DESCRIBE SELECT * FROM ${table(run.data, 'movies')}`)).map((r) => [r.column_name, r.column_type]),
  );
  assert.deepEqual(types, {
    film_key: 'VARCHAR', provider_movie_id: 'VARCHAR', title: 'VARCHAR', year: 'INTEGER', rated: 'VARCHAR', released: 'DATE',
    runtime_minutes: 'INTEGER', genres: 'VARCHAR[]', director: 'VARCHAR', writers: 'VARCHAR[]', actors: 'VARCHAR[]', plot: 'VARCHAR',
    language: 'VARCHAR', country: 'VARCHAR', awards: 'VARCHAR', poster: 'VARCHAR', metascore: 'INTEGER', rating: 'DOUBLE', votes: 'BIGINT',
    type: 'VARCHAR', price_cents: 'BIGINT', warnings: 'VARCHAR[]', polled_at: 'TIMESTAMP WITH TIME ZONE', fetched_at: 'TIMESTAMP WITH TIME ZONE', raw: 'VARCHAR',
    dt: 'DATE', run: 'VARCHAR', provider: 'VARCHAR',
  });
  const runTypes = Object.fromEntries((await query(`DESCRIBE SELECT * FROM ${table(run.data, 'runs')}`)).map((r) => [r.column_name, r.column_type]));
  assert.equal(runTypes.started_at, 'TIMESTAMP WITH TIME ZONE');
  assert.equal(runTypes.duration_ms, 'BIGINT');
  assert.equal(runTypes.listed, 'INTEGER');

  const [hope] = await query(`SELECT * FROM ${table(run.data, 'movies')} WHERE provider_movie_id = 'cw0076759'`);
  assert.ok(hope);
  assert.equal(hope.film_key, 'tt0076759');
  assert.equal(hope.price_cents, 12350n);
  assert.equal(hope.votes, 915459n);
  assert.equal(hope.runtime_minutes, 121);
  assert.equal(hope.year, 1977);
  assert.deepEqual(hope.released, new Date(Date.UTC(1977, 4, 25)));
  assert.deepEqual(hope.genres, ['Action', 'Adventure', 'Fantasy']);
  assert.equal(hope.metascore, 92);
  assert.equal(hope.rating, 8.7);
  assert.deepEqual(hope.warnings, []);
  assert.equal(JSON.parse(String(hope.raw)).Votes, '915,459');
  const [fwHope] = await query(`SELECT awards, price_cents, film_key FROM ${table(run.data, 'movies')} WHERE provider_movie_id = 'fw0076759'`);
  assert.deepEqual(fwHope, { awards: null, price_cents: 2950n, film_key: 'tt0076759' });
  const [jedi] = await query(`SELECT metascore FROM ${table(run.data, 'movies')} WHERE provider_movie_id = 'cw0086190'`);
  assert.equal(jedi?.metascore, null, '"N/A" becomes null');

  // Every column chunk of every file in every table is Snappy-compressed.
  const codecs = await query(`SELECT DISTINCT compression FROM parquet_metadata('${run.data}/*/**/*.parquet')`);
  assert.deepEqual(codecs, [{ compression: 'SNAPPY' }]);
  // Partition columns (dt, provider) live in the path only; the run id is a column (a compacted day holds many runs).
  const inFile = await query(`SELECT DISTINCT name FROM parquet_schema('${run.data}/movies/**/*.parquet') WHERE name IN ('dt', 'run', 'provider')`);
  assert.deepEqual(inFile, [{ name: 'run' }]);

  const runs = await query(`SELECT provider, status, listed, fetched, failed, rejected, run FROM ${table(run.data, 'runs')} ORDER BY provider`);
  assert.deepEqual(runs.map((r) => [r.provider, r.status, r.listed, r.fetched, r.failed, r.rejected]), [
    ['cinemaworld', 'complete', 7, 7, 0, 0],
    ['filmworld', 'complete', 6, 6, 0, 0],
  ]);
  assert.match(String(runs[0]?.run), /^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}$/);
  assert.deepEqual(stagingEntries(run.data), []);
});

test('with 30% 5xx and 5% hangs, retries collect every film', async (t) => {
  const mock = await mockFor(t, { failRate: 0.3, hangRate: 0.05, seed: 11 });
  const run = await poll(t, mock, { HTTP_TIMEOUT_MS: '300', HTTP_RETRIES: '12' });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const [row] = await query(`SELECT count(*)::INT AS n, count(DISTINCT provider_movie_id)::INT AS ids FROM ${table(run.data, 'movies')}`);
  assert.deepEqual(row, { n: 13, ids: 13 });
  const [runs] = await query(`SELECT sum(retries)::INT AS retries FROM ${table(run.data, 'runs')}`);
  assert.ok(Number(runs?.retries) > 0, 'faults were retried');
  const stats = mock.stats();
  assert.ok((stats.byStatus['500'] ?? 0) + (stats.byStatus['503'] ?? 0) > 0, 'the simulator did fail requests');
});

test('a rejected token: exit 1, one clear line, no retries, the failure recorded in runs', async (t) => {
  const mock = await mockFor(t, { token: 'the-right-one' });
  const run = await poll(t, mock, { API_TOKEN: 'the-wrong-one' });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^poll failed: the provider API rejected the access token for cinemaworld, filmworld; check API_TOKEN/m);
  assert.ok(!run.stderr.includes('the-wrong-one') && !run.stdout.includes('the-wrong-one'), 'the token is never printed');
  assert.equal(mock.stats().requests, 2, 'one list call per provider, not retried');
  const runs = await query(`SELECT status, error FROM ${table(run.data, 'runs')}`);
  assert.equal(runs.length, 2);
  for (const r of runs) {
    assert.equal(r.status, 'failed');
    assert.match(String(r.error), /401/);
  }
  const logs = readdirSync(path.join(run.dir, 'logs')).filter((f) => f.endsWith('.log'));
  assert.ok(logs.length > 0);
});

test('an unreachable API: exit 1 with a line naming PROVIDER_BASE_URL', async (t) => {
  const mock = await mockFor(t);
  await mock.close(); // nothing listens on that port now
  const run = await poll(t, mock, { HTTP_RETRIES: '1' });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /poll failed: no provider could be polled .*ECONNREFUSED.*PROVIDER_BASE_URL/);
});

test('malformed bodies become rejects with reasons; every film is accounted for', async (t) => {
  const mock = await mockFor(t, { malformedRate: 0.5, seed: 4 });
  const run = await poll(t, mock);
  assert.equal(run.code, 2, `a poll with rejects is partial: ${run.stderr}`);
  const rejects = await query(`SELECT provider, provider_movie_id, reason, raw, http_status FROM ${table(run.data, 'rejects')}`);
  for (const provider of ['cinemaworld', 'filmworld']) {
    const status = rejects.some((r) => r.provider === provider) ? 'partial' : 'complete';
    assert.match(run.stdout, new RegExp(`${provider}\\s+${status}`), 'a provider with a rejected film is partial');
  }
  const [movies] = await query(`SELECT count(*)::INT AS n FROM ${table(run.data, 'movies')}`);
  assert.ok(rejects.length > 0, 'some bodies were malformed');
  assert.equal(rejects.length + Number(movies?.n), 13);
  for (const r of rejects) {
    assert.match(String(r.reason), /^(malformed JSON|ID: expected a string)/);
    assert.ok(String(r.raw).length > 0);
    assert.equal(r.http_status, 200);
  }
  const [counted] = await query(`SELECT sum(rejected)::INT AS rejected FROM ${table(run.data, 'runs')}`);
  assert.equal(counted?.rejected, rejects.length);
});

test('requests in flight never exceed http.concurrency', async (t) => {
  const mock = await mockFor(t, { movies: 40, latencyMs: 30, failRate: 0.2, seed: 9 });
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'one-provider.json'), JSON.stringify({ providers: ['cinemaworld'] }));
  const run = await poll(t, mock, { HTTP_CONCURRENCY: '3', CONFIG_FILE: path.join(dir, 'one-provider.json') }, dir);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(mock.stats().maxInFlight, 3);
});

test('the poll deadline is honoured: what was collected is committed as partial (exit 2)', async (t) => {
  const mock = await mockFor(t, { movies: 200, latencyMs: 100 });
  const started = Date.now();
  const run = await poll(t, mock, { HTTP_CONCURRENCY: '2', POLL_DEADLINE_MS: '1500' });
  const elapsed = Date.now() - started;
  assert.equal(run.code, 2, run.stderr);
  assert.ok(elapsed < 15_000, `the poll stopped near its deadline (took ${elapsed} ms)`);
  const runs = await query(`SELECT status, listed, fetched, failed FROM ${table(run.data, 'runs')}`);
  for (const r of runs) {
    assert.equal(r.status, 'partial');
    assert.equal(r.listed, 200);
    assert.ok(Number(r.failed) > 0 && Number(r.fetched) > 0);
    assert.equal(Number(r.fetched) + Number(r.failed), 200);
  }
  assert.match(run.stderr, /poll deadline reached/);
});

/** Committed polls: those with runs rows, and their movie rows. */
async function committed(data: string): Promise<Map<string, number>> {
  const rows = await query(
    `SELECT r.run, count(m.provider_movie_id)::INT AS n FROM (SELECT DISTINCT run FROM ${table(data, 'runs')}) r
     LEFT JOIN ${table(data, 'movies')} m USING (run) GROUP BY 1`,
  );
  return new Map(rows.map((r) => [String(r.run), Number(r.n)]));
}

for (const killAt of ['file-written', 'staged', 'renamed:movies', 'renamed:rejects'] as const) {
  test(`crash safety: SIGKILL at ${killAt}, then the next poll recovers and no committed poll is lost`, async (t) => {
    // One provider at concurrency 1 keeps the simulator's fault sequence, and so the rejects, deterministic.
    // Seed 6: each poll has rejects (wrong types) even now that cut-short bodies are retried away.
    const mock = await mockFor(t, { malformedRate: 0.3, seed: 6 });
    const dir = tempDir(t);
    writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ providers: ['cinemaworld'], http: { concurrency: 1 } }));
    const env = { CONFIG_FILE: path.join(dir, 'c.json') };
    const first = await poll(t, mock, env, dir);
    assert.equal(first.code, (await rejectedTotal(first.data)) > 0 ? 2 : 0, first.stderr);
    const before = await committed(first.data);
    assert.equal(before.size, 1);

    const killed = await poll(t, mock, { ...env, MOVIES_COLLECTOR_TEST_KILL_AT: killAt }, dir);
    assert.equal(killed.signal, 'SIGKILL', `killed at ${killAt}: ${killed.stderr}`);
    assert.equal(stagingEntries(first.data).length, 1, 'the killed poll is left in staging');
    assert.deepEqual(await committed(first.data), before, 'a reader counting committed polls sees no part of the killed one');

    const next = await poll(t, mock, env, dir);
    assert.ok(next.code === 0 || next.code === 2, next.stderr);
    assert.deepEqual(stagingEntries(first.data), []);
    const after = await committed(first.data);
    const rolledForward = killAt !== 'file-written'; // _READY was written: the poll is finished, not lost
    assert.equal(after.size, rolledForward ? 3 : 2);
    for (const [runId, n] of before) assert.equal(after.get(runId), n, 'earlier committed polls are intact');
    const [totals] = await query(`SELECT sum(fetched)::INT AS fetched FROM ${table(first.data, 'runs')}`);
    const [rows] = await query(`SELECT count(*)::INT AS n FROM ${table(first.data, 'movies')}`);
    assert.equal(rows?.n, Number(totals?.fetched) - (await rejectedTotal(first.data)), 'every committed poll has all its movie rows');
    assert.match(next.stderr, rolledForward ? /recovery: finished committing/ : /recovery: discarded what a crash left in staging/);
  });
}

test('a torn _READY marker (a crash while an earlier version wrote it) is discarded, and polling goes on', async (t) => {
  const mock = await mockFor(t);
  const dir = tempDir(t);
  const first = await poll(t, mock, {}, dir);
  assert.equal(first.code, 0, first.stderr);
  const killed = await poll(t, mock, { MOVIES_COLLECTOR_TEST_KILL_AT: 'file-written' }, dir);
  assert.equal(killed.signal, 'SIGKILL');
  const [run] = stagingEntries(first.data);
  assert.ok(run);
  writeFileSync(path.join(first.data, '_staging', run, '_READY'), '{"runId":"2026'); // cut short

  const next = await poll(t, mock, {}, dir);
  assert.equal(next.code, 0, next.stderr);
  assert.match(next.stderr, /recovery: a staged poll has an unreadable _READY marker; treating it as unfinished/);
  assert.match(next.stderr, /recovery: discarded what a crash left in staging/);
  assert.deepEqual(stagingEntries(first.data), []);
  assert.equal((await committed(first.data)).size, 2);
});

test('a poll run beside a collector that is mid-commit leaves its staging alone; the paused one, having lost the lock, makes nothing visible, and a later recovery commits it whole', async (t) => {
  const mock = await mockFor(t);
  const dir = tempDir(t);
  const data = path.join(dir, 'data');
  // The first poll pauses itself (SIGSTOP) after its first staged file, as a slow disk or a busy host would.
  const first = poll(t, mock, { MOVIES_COLLECTOR_TEST_STOP_AT: 'file-written' }, dir);
  let pid = 0;
  for (let i = 0; i < 200 && pid === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [run] = stagingEntries(data);
    const owner = run ? path.join(data, '_staging', run, '_OWNER') : '';
    if (owner && existsSync(owner) && /\) T /.test(readFileSync(`/proc/${(JSON.parse(readFileSync(owner, 'utf8')) as { pid: number }).pid}/stat`, 'utf8'))) {
      pid = (JSON.parse(readFileSync(owner, 'utf8')) as { pid: number }).pid;
    }
  }
  assert.ok(pid > 0, 'the first poll paused mid-commit');

  const second = await poll(t, mock, {}, dir);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /recovery: left a staged poll alone: its collector is still running/);
  assert.equal(stagingEntries(data).length, 1, 'the paused poll\'s staging is still there');

  process.kill(pid, 'SIGCONT');
  const resumed = await first;
  // Its lock was taken over while it was paused: the fence stops its commit (issue 19, item 5).
  assert.equal(resumed.code, 1, resumed.stderr);
  assert.match(resumed.stderr, /store lock lost/);
  assert.deepEqual([...(await committed(data)).values()], [13], 'only the lock holder\'s poll is visible');
  assert.equal(stagingEntries(data).length, 1, 'the paused poll is left staged, as a crash would leave it');

  // The next holder's recovery finishes it (it was whole), under its own lock.
  const third = await poll(t, mock, {}, dir);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /recovery: finished committing/);
  assert.deepEqual(stagingEntries(data), []);
  assert.deepEqual([...(await committed(data)).values()], [13, 13, 13], 'every poll committed with every movie row');
});

async function rejectedTotal(data: string): Promise<number> {
  const [row] = await query(`SELECT sum(rejected)::INT AS n FROM ${table(data, 'runs')}`);
  return Number(row?.n);
}

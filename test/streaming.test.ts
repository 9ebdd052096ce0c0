// Records flow into the staged files while a poll runs: the staging folder and its files exist
// from the start, a full row group reaches the disk before the file is closed, an aborted poll
// leaves nothing behind, and the summary counts what was written.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/settings.js';
import { createLogger } from '../src/log/log.js';
import { startMockProvider, type MockOptions } from '../src/mock/server.js';
import { PollAbortedError, runPoll, type PollOptions } from '../src/poll/poll.js';
import { StagedRun } from '../src/store/committer.js';
import { ParquetFileWriter, ROW_GROUP_SIZE } from '../src/store/parquet/index.js';
import { MOVIES_SCHEMA } from '../src/store/schema.js';
import { query, table } from './duckdb.js';
import { tempDir } from './helpers.js';

type Ctx = Parameters<typeof tempDir>[0];

/** An in-process poll against the simulator, with hooks into its progress. */
async function setup(t: Ctx, mock: MockOptions) {
  const server = await startMockProvider(mock);
  t.after(() => server.close());
  const dir = tempDir(t);
  const data = path.join(dir, 'data');
  const { settings } = loadConfig({
    cwd: dir,
    env: { API_TOKEN: server.token, PROVIDER_BASE_URL: server.url, DATA_DIR: data, LOG_DIR: path.join(dir, 'logs'), LOG_LEVEL: 'error' },
    requireToken: true,
  });
  const log = createLogger({ ...settings.log, secrets: [], consoleFormat: 'json' });
  t.after(() => log.close());
  const poll = (extra: Partial<PollOptions> = {}) => runPoll({ settings, logger: log.logger, ...extra });
  return { data, poll };
}

const staged = (data: string) => (existsSync(path.join(data, '_staging')) ? readdirSync(path.join(data, '_staging')) : []);

test('the staging folder and every provider\'s movies and rejects files exist while the poll runs; the summary counts match the store', async (t) => {
  const { data, poll } = await setup(t, { malformedRate: 0.3, seed: 6 });
  const seen: string[] = [];
  const summary = await poll({
    onProgress: (provider, done) => {
      if (done !== 1) return;
      const [run] = staged(data);
      assert.ok(run, 'staging exists once the first answer is in');
      for (const t of ['movies', 'rejects']) {
        const [dt] = readdirSync(path.join(data, '_staging', run, t));
        const file = path.join(data, '_staging', run, t, dt ?? '', `provider=${provider}`, `${run}.parquet`);
        assert.ok(existsSync(file), `${file} is open`);
        seen.push(`${t}/${provider}`);
      }
    },
  });
  assert.deepEqual(seen.sort(), ['movies/cinemaworld', 'movies/filmworld', 'rejects/cinemaworld', 'rejects/filmworld']);
  assert.deepEqual(staged(data), []);
  const movies = await query(`SELECT provider, count(*)::INT AS n FROM ${table(data, 'movies')} GROUP BY 1 ORDER BY 1`);
  assert.deepEqual(Object.fromEntries(movies.map((r) => [r.provider, r.n])), summary.moviesByProvider);
  const [rejects] = await query(`SELECT count(*)::INT AS n FROM ${table(data, 'rejects')}`);
  assert.ok(summary.rejects > 0, 'seed 6 gives rejects');
  assert.equal(rejects?.n, summary.rejects);
  const runs = await query(`SELECT provider, fetched, rejected FROM ${table(data, 'runs')} WHERE fetched > 0 ORDER BY 1`);
  for (const r of runs) {
    const [n] = await query(`SELECT count(*)::INT AS n FROM ${table(data, 'rejects')} WHERE provider = '${String(r.provider)}'`);
    assert.equal(r.rejected, n?.n, `${String(r.provider)}: rejected = its rejects rows`);
    assert.equal(Number(r.fetched), (summary.moviesByProvider[String(r.provider)] ?? 0) + Number(r.rejected), 'fetched = movies + rejected (the list had no bad entries)');
  }
});

test('an aborted poll (shutdown) removes its staging folder, files and all, and commits nothing', async (t) => {
  const { data, poll } = await setup(t, { latencyMs: 5 });
  const abort = new AbortController();
  let stagedWhileRunning = 0;
  await assert.rejects(
    poll({
      signal: abort.signal,
      onProgress: (_provider, done) => {
        if (done === 5) {
          stagedWhileRunning = staged(data).length;
          abort.abort();
        }
      },
    }),
    PollAbortedError,
  );
  assert.equal(stagedWhileRunning, 1);
  assert.deepEqual(staged(data), []);
  assert.deepEqual(readdirSync(data).filter((e) => e !== '_staging' && !e.startsWith('.')), [], 'no table folder was made');
});

test('a full row group reaches the staged file before the file is closed', async (t) => {
  const dir = tempDir(t);
  const run = await StagedRun.create(dir, '20261125T101500Z-abcd', '2026-11-25');
  const writer: ParquetFileWriter = await run.openFile('movies', 'cinemaworld', MOVIES_SCHEMA);
  const row = {
    film_key: 'tt1', provider_movie_id: 'cw1', title: 'A', year: null, rated: null, released: null, runtime_minutes: null, genres: null, director: null,
    writers: null, actors: null, plot: null, language: null, country: null, awards: null, poster: null, metascore: null, rating: null, votes: null,
    type: null, price_cents: 1n, warnings: [], polled_at: new Date(), fetched_at: new Date(), raw: '{}',
  };
  let flushing: Promise<void> | undefined;
  for (let i = 0; i < ROW_GROUP_SIZE; i++) flushing = writer.write(row) ?? flushing;
  assert.ok(flushing, 'the row that completes a group waits for its write');
  await flushing;
  assert.ok(statSync(writer.file).size > 4 + 1000, `a row group is on disk (${statSync(writer.file).size} bytes) while the file is open`);
  await run.commit();
  const [committed] = await query(`SELECT count(*)::INT AS n FROM ${table(dir, 'movies')}`);
  assert.equal(committed?.n, ROW_GROUP_SIZE);
  assert.deepEqual(staged(dir), []);
});

// The store's files as independent readers see them: string columns whose statistics never hide a
// row from a pushed-down filter, and time columns that are instants (TIMESTAMP WITH TIME ZONE),
// also when a store written before them (naive TIMESTAMP) is read with the new files.
import assert from 'node:assert/strict';
import { cpSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { startMockProvider } from '../src/mock/server.js';
import { writeParquetFile } from '../src/store/parquet/index.js';
import { RUNS_SCHEMA, runRow } from '../src/store/schema.js';
import { runCli, tempDir } from './helpers.js';
import { startScriptedProvider } from './scripted-provider.js';

type Row = Record<string, unknown>;
type Run = (sql: string, params?: Record<string, string>) => Promise<Row[]>;

/** One DuckDB connection for several statements (a SET applies to the ones after it). */
async function duck<T>(fn: (run: Run) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const con = await instance.connect();
  try {
    return await fn(async (sql, params) => (await con.runAndReadAll(sql, params)).getRowObjectsJS() as Row[]);
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

const read = (data: string, table: string) => `read_parquet('${data}/${table}/**/*.parquet', hive_partitioning = true, union_by_name = true)`;
const TOKEN = 'store-types-token';
const TIME_COLUMNS = { movies: ['polled_at', 'fetched_at'], rejects: ['polled_at', 'fetched_at'], runs: ['started_at', 'finished_at'] } as const;

/** Characters above U+FFFF sort first in UTF-16 but last in UTF-8 bytes; U+E000–U+FFFF the other way. */
const TITLES = ['😀 Smile', 'Ｆｕｌｌ', 'Bad \uFFFD byte', 'Plain', '𝐌𝐚𝐭𝐡 letters'];
/** Rejected answers (no price) whose raw bodies differ first at such characters. */
const REJECTED = ['{"Title":"😀 no price","ID":"r1","Price":"free"}', '{"Title":"Ｆ no price","ID":"r2","Price":"free"}'];

test('string statistics: DuckDB filter pushdown finds every row whose text mixes emoji, fullwidth forms and U+FFFD; hyparquet reads them back', async (t) => {
  const films = Object.fromEntries(
    TITLES.map((title, i) => [`m${i}`, JSON.stringify({ ID: `m${i}`, Title: title, Year: '2001', Price: '10.50', Director: title, Genre: `${title}, Drama` })]),
  );
  const upstream = await startScriptedProvider({ mixed: { ...films, r1: REJECTED[0] ?? '', r2: REJECTED[1] ?? '' } }, TOKEN);
  t.after(() => upstream.close());
  const cwd = tempDir(t);
  const data = path.join(cwd, 'data');
  writeFileSync(path.join(cwd, 'c.json'), JSON.stringify({ providers: ['mixed'] }));
  const before = Date.now();
  const run = await runCli(['poll'], { cwd, env: { API_TOKEN: TOKEN, PROVIDER_BASE_URL: upstream.url, CONFIG_FILE: path.join(cwd, 'c.json'), DATA_DIR: data } });
  const after = Date.now();
  // Rejects may make the provider's poll partial (exit 2); what matters is that it committed.
  assert.ok(run.code === 0 || run.code === 2, run.stdout + run.stderr);

  await duck(async (q) => {
    for (const title of TITLES) {
      const [row] = await q(`SELECT count(*)::INT AS n FROM ${read(data, 'movies')} WHERE title = $t`, { t: title });
      assert.equal(row?.n, 1, `WHERE title = '${title}'`);
      const [byDirector] = await q(`SELECT count(*)::INT AS n FROM ${read(data, 'movies')} WHERE director = $t`, { t: title });
      assert.equal(byDirector?.n, 1, `WHERE director = '${title}'`);
    }
    const keys = await q(`SELECT film_key FROM ${read(data, 'movies')}`);
    assert.equal(keys.length, TITLES.length);
    for (const { film_key } of keys) {
      const [row] = await q(`SELECT count(*)::INT AS n FROM ${read(data, 'movies')} WHERE film_key = $k`, { k: String(film_key) });
      assert.equal(row?.n, 1, `WHERE film_key = '${String(film_key)}'`);
    }
    for (const raw of REJECTED) {
      const [row] = await q(`SELECT count(*)::INT AS n FROM ${read(data, 'rejects')} WHERE raw = $r`, { r: raw });
      assert.equal(row?.n, 1, `rejects WHERE raw = ${raw}`);
    }
    // No string column chunk carries min/max (their order would be wrong); numbers and times keep theirs.
    const stats = await q(
      `SELECT type = 'BYTE_ARRAY' AS text, count(*)::INT AS chunks, count(*) FILTER (WHERE coalesce(stats_min_value, stats_max_value, stats_min, stats_max) IS NOT NULL)::INT AS with_min_max
         FROM parquet_metadata('${data}/*/**/*.parquet') WHERE type = 'BYTE_ARRAY' OR path_in_schema IN ('price_cents', 'polled_at', 'started_at') GROUP BY 1 ORDER BY 1`,
    );
    assert.deepEqual(stats.map((s) => [s.text, s.with_min_max === 0, s.with_min_max === s.chunks]), [
      [false, false, true],
      [true, true, false],
    ]);
  });

  // hyparquet, an independent reader: strings round-trip, times are Dates of the poll's instant.
  const dir = path.join(data, 'movies');
  const [dt] = readdirSync(dir);
  const [file] = readdirSync(path.join(dir, dt ?? '', 'provider=mixed'));
  const rows = await parquetReadObjects({ file: await asyncBufferFromFile(path.join(dir, dt ?? '', 'provider=mixed', file ?? '')) });
  assert.deepEqual(rows.map((r) => r.title).sort(), [...TITLES].sort());
  assert.deepEqual(rows.map((r) => r.director).sort(), [...TITLES].sort());
  for (const r of rows) {
    assert.ok(r.polled_at instanceof Date && r.fetched_at instanceof Date);
    assert.ok(r.polled_at.getTime() >= before && r.fetched_at.getTime() <= after, `${r.polled_at.toISOString()} within the poll`);
  }
});

test('time columns are instants: TIMESTAMP WITH TIME ZONE in every table, the same instant read in Sydney, legacy converted type kept, Snappy kept', async (t) => {
  const mock = await startMockProvider({ malformedRate: 0.3, seed: 3 });
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const data = path.join(cwd, 'data');
  const before = Date.now();
  const run = await runCli(['poll'], { cwd, env: { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: data } });
  const after = Date.now();
  assert.ok(run.code === 0 || run.code === 2, run.stdout + run.stderr);

  await duck(async (q) => {
    for (const [table, columns] of Object.entries(TIME_COLUMNS)) {
      const types = Object.fromEntries((await q(`DESCRIBE SELECT * FROM ${read(data, table)}`)).map((r) => [r.column_name, r.column_type]));
      for (const c of columns) assert.equal(types[c], 'TIMESTAMP WITH TIME ZONE', `${table}.${c}`);
      const schema = await q(`SELECT DISTINCT name, converted_type, logical_type FROM parquet_schema('${data}/${table}/**/*.parquet') WHERE name IN ('${columns.join("', '")}')`);
      assert.equal(schema.length, 2, `${table}: one annotation per time column, in every file`);
      for (const s of schema) {
        assert.equal(s.converted_type, 'TIMESTAMP_MILLIS', `${table}.${String(s.name)} keeps the legacy converted type`);
        assert.match(String(s.logical_type), /^TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=MilliSeconds\(\)/);
      }
    }
    assert.deepEqual(await q(`SELECT DISTINCT compression FROM parquet_metadata('${data}/*/**/*.parquet')`), [{ compression: 'SNAPPY' }]);

    // A reader in Sydney: the instants are the ones written (a naive TIMESTAMP would be taken as Sydney time).
    await q(`SET TimeZone = 'Australia/Sydney'`);
    for (const [table, columns] of Object.entries(TIME_COLUMNS)) {
      for (const c of columns) {
        const [r] = await q(`SELECT count(*)::INT AS n, min(epoch_ms(${c}::TIMESTAMPTZ)) AS lo, max(epoch_ms(${c}::TIMESTAMPTZ)) AS hi FROM ${read(data, table)}`);
        assert.ok(Number(r?.n) > 0, `${table} has rows`);
        assert.ok(Number(r?.lo) >= before && Number(r?.hi) <= after, `${table}.${c} in Sydney: ${String(r?.lo)}..${String(r?.hi)} not within ${before}..${after}`);
      }
    }
  });
});

test('an instant written through the real writer reads back exactly in DuckDB (Sydney clock) and hyparquet', async (t) => {
  const file = path.join(tempDir(t), 'runs.parquet');
  const started = new Date(Date.UTC(2026, 0, 15, 13, 45, 6, 789));
  const finished = new Date(started.getTime() + 1500);
  await writeParquetFile(file, RUNS_SCHEMA, [
    runRow({
      provider: 'cinemaworld', status: 'complete', started_at: started, finished_at: finished, duration_ms: 1500n,
      listed: 1, fetched: 1, failed: 0, rejected: 0, retries: 0, responses: '{}', error: null, collector_version: 'test',
    }),
  ], { run: '20260115T134506.789Z-00000000' });
  const [row] = await duck(async (q) => {
    await q(`SET TimeZone = 'Australia/Sydney'`);
    return q(
      `SELECT epoch_ms(started_at) AS started, epoch_ms(finished_at) AS finished, strftime(started_at, '%Y-%m-%d %H:%M:%S') AS sydney,
              started_at = $at::TIMESTAMPTZ AS same, typeof(started_at) AS type FROM read_parquet('${file}')`,
      { at: started.toISOString() },
    );
  });
  assert.deepEqual(row, { started: BigInt(started.getTime()), finished: BigInt(finished.getTime()), sydney: '2026-01-16 00:45:06', same: true, type: 'TIMESTAMP WITH TIME ZONE' });
  const [read] = await parquetReadObjects({ file: await asyncBufferFromFile(file) });
  assert.deepEqual([read?.started_at, read?.finished_at, read?.provider], [started, finished, 'cinemaworld']);
});

test('a store written before (naive TIMESTAMP files) mixed with new files: the report reads both as the same UTC instants, whatever TZ', async (t) => {
  // test/fixtures/legacy-store: one poll (run 20261125T185215Z-6418, started 2026-11-25 18:52:15.97
  // UTC, 12 movies, 1 reject) committed by the collector as it was before time columns were instants.
  const cwd = tempDir(t);
  const data = path.join(cwd, 'data');
  cpSync(path.resolve(import.meta.dirname, '../../test/fixtures/legacy-store'), data, { recursive: true });
  const mock = await startMockProvider();
  t.after(() => mock.close());
  const polled = await runCli(['poll'], { cwd, env: { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: data } });
  assert.equal(polled.code, 0, polled.stdout + polled.stderr);
  const [newPoll] = await duck((q) => q(`SELECT min(started_at) AS at FROM ${read(data, 'runs')} WHERE run <> '20261125T185215Z-6418'`));
  assert.ok(newPoll?.at instanceof Date);

  const report = async (since: string) => {
    const html = path.join(cwd, `report-${since}.html`);
    const r = await runCli(['report', '--format', 'json', '--since', since, '--html', html], { cwd, env: { DATA_DIR: data, TZ: 'Australia/Sydney' } });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as {
      health: { completeness: Array<{ provider: string; polls: number }>; last_complete_poll: string };
      price_history: Array<{ provider: string; film_key: string; polls: number }>;
    };
  };
  const polls = (rep: Awaited<ReturnType<typeof report>>) => Object.fromEntries(rep.health.completeness.map((c) => [c.provider, c.polls]));
  const hopePolls = (rep: Awaited<ReturnType<typeof report>>) => rep.price_history.find((h) => h.provider === 'cinemaworld' && h.film_key === 'tt0076759')?.polls;

  // Just before the legacy poll started: it counts; just after: it does not.
  const withLegacy = await report('2026-11-25T18:52:15Z');
  assert.deepEqual(polls(withLegacy), { cinemaworld: 2, filmworld: 2 });
  assert.equal(hopePolls(withLegacy), 2);
  assert.equal(withLegacy.health.last_complete_poll, newPoll.at.toISOString());
  const without = await report('2026-11-25T18:52:17Z');
  assert.deepEqual(polls(without), { cinemaworld: 1, filmworld: 1 });
  assert.equal(hopePolls(without), 1);
});

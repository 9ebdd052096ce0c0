// Compaction of closed days: nothing lost or changed (three independent readers, every value
// class, the run id), the report's JSON the same before and after, the files' types and
// statistics rules kept, at most one file per table, day and provider; `compact` beside a daemon.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { query } from './duckdb.js';
import { runCli, tempDir } from './helpers.js';
import { dataFiles, storeRows, writeDays, writePoll, type ReaderName } from './store-fixture.js';
import { assertChangesMatch } from './price-changes-oracle.js';

const READERS: ReaderName[] = ['duckdb', 'hyparquet', 'arrow-rs'];
const env = (data: string) => ({ DATA_DIR: data, LOG_DIR: path.join(path.dirname(data), 'logs') });
/** The report's JSON without what depends on the clock. */
const stable = (json: string) => json.replace(/"(generated_at|age_seconds)": [^,\n]+/g, '"$1": "-"');

test('compaction keeps every row, value, type and run id (DuckDB, hyparquet, arrow-rs); one file per table, day and provider; the report is the same JSON', async (t) => {
  const data = path.join(tempDir(t), 'data');
  await writeDays(data);
  const before = Object.fromEntries(await Promise.all(READERS.map(async (r) => [r, await storeRows(data, r)] as const)));
  const schemaOf = (file: string) => query(`SELECT name, type, converted_type, logical_type FROM parquet_schema('${path.join(data, file)}') ORDER BY name`);
  const statsOf = (file: string) =>
    query(`SELECT path_in_schema AS col, compression, stats_min_value IS NOT NULL AS has_stats FROM parquet_metadata('${path.join(data, file)}') WHERE row_group_id = 0 ORDER BY 1`);
  const sample = dataFiles(data, 'movies').find((f) => f.includes('dt=2026-11-20')) ?? '';
  const [schemaBefore, statsBefore] = [await schemaOf(sample), await statsOf(sample)];
  const reportBefore = await runCli(['report', '--format', 'json', '--since', '2026-11-01'], { env: env(data) });
  assert.equal(reportBefore.code, 0, reportBefore.stderr);

  const compacted = await runCli(['compact'], { env: env(data) });
  assert.equal(compacted.code, 0, compacted.stderr);
  assert.match(compacted.stdout, /compacted 2 day\(s\) \(2026-11-20 to 2026-11-21\)/);

  // The fixture's polls were written without price_changes (as before the table existed): compact's upgrade built them.
  for (const reader of READERS) assert.deepEqual({ ...(await storeRows(data, reader)), price_changes: [] }, before[reader], `${reader} reads the same rows`);
  assert.ok((before.duckdb?.movies.length ?? 0) > 80, 'the store holds rows');
  await assertChangesMatch(data, 'after the upgrade and compaction');
  assert.match(compacted.stderr, /upgrade: building the price_changes table for 4 day\(s\)/);
  // Closed days: one file per table and provider (runs: one); today's polls are left as they are.
  const files = dataFiles(data);
  for (const dt of ['2026-11-20', '2026-11-21', '2026-11-23']) assert.equal(files.filter((f) => f.includes(`dt=${dt}`)).length, 7, `${dt}: ${files.join(' ')}`);
  // Today's two polls: 5 files each, and today's price_changes, which the upgrade built in one file per provider.
  assert.equal(files.filter((f) => !/dt=2026-11-2[013]/.test(f)).length, 12, 'two polls of today and their price_changes');
  assert.deepEqual(readdirSync(path.join(data, '_staging')), []);
  const compactedFile = dataFiles(data, 'movies').find((f) => f.includes('dt=2026-11-20')) ?? '';
  assert.match(compactedFile, /compacted-\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}\.parquet$/);
  assert.deepEqual(await schemaOf(compactedFile), schemaBefore, 'the same columns, physical and logical types');
  assert.deepEqual(await statsOf(compactedFile), statsBefore, 'Snappy everywhere; statistics on the same columns (none on strings)');
  const [runs] = await query(`SELECT count(DISTINCT run)::INT AS n FROM read_parquet('${data}/movies/dt=2026-11-20/*/*.parquet', hive_partitioning = true)`);
  assert.equal(runs?.n, 3, 'the compacted day keeps the run id of each poll with movies');

  const reportAfter = await runCli(['report', '--format', 'json', '--since', '2026-11-01'], { env: env(data) });
  assert.equal(stable(reportAfter.stdout), stable(reportBefore.stdout));

  const again = await runCli(['compact'], { env: env(data) });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /nothing to compact/);
});

test('a store written by 0.2.0 is upgraded in place by compact: the same rows (run from the path before, a column after), the README\'s queries answer the same', async (t) => {
  const data = path.join(tempDir(t), 'data');
  cpSync(new URL('../../test/fixtures/store-0.2.0', import.meta.url), data, { recursive: true });
  const readme = {
    byProvider: `SELECT provider, count(*)::INT AS n FROM read_parquet('${data}/movies/**/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1`,
    committed: `SELECT count(*)::INT AS n, count(DISTINCT m.run)::INT AS runs FROM read_parquet('${data}/movies/**/*.parquet', hive_partitioning = true) m
                  SEMI JOIN read_parquet('${data}/runs/**/*.parquet', hive_partitioning = true) r USING (run)`,
    runs: `SELECT run, provider, status FROM read_parquet('${data}/runs/**/*.parquet', hive_partitioning = true) ORDER BY 1, 2`,
  };
  const before = { rows: await storeRows(data, 'duckdb'), ...Object.fromEntries(await Promise.all(Object.entries(readme).map(async ([k, sql]) => [k, await query(sql)]))) };
  const reportBefore = await runCli(['report', '--format', 'json', '--since', '2026-11-01'], { env: env(data) });
  assert.equal(reportBefore.code, 0, reportBefore.stderr);

  const upgraded = await runCli(['compact'], { env: env(data) });
  assert.equal(upgraded.code, 0, upgraded.stderr);
  assert.match(upgraded.stdout + upgraded.stderr, /migration: the store now has the compacted layout/);
  assert.ok(!dataFiles(data).some((f) => f.includes('run=')), 'no run= folder is left');
  assert.equal(dataFiles(data).length, 14, 'two days, 7 files each');
  const after = { rows: await storeRows(data, 'duckdb'), ...Object.fromEntries(await Promise.all(Object.entries(readme).map(async ([k, sql]) => [k, await query(sql)]))) };
  await assertChangesMatch(data, 'built by the upgrade');
  assert.deepEqual({ ...after, rows: { ...after.rows, price_changes: [] } }, before);
  assert.equal((before.runs as unknown[]).length, 10, 'five polls, two providers');
  const reportAfter = await runCli(['report', '--format', 'json', '--since', '2026-11-01'], { env: env(data) });
  assert.equal(stable(reportAfter.stdout), stable(reportBefore.stdout));
  assert.ok(!existsSync(path.join(data, '_staging', 'migrate')));
});

test('compact beside a running daemon exits 75 naming it; the daemon compacts closed days after its poll by itself, and /healthz and the page answer throughout', async (t) => {
  const mock = await startMockProvider({});
  t.after(() => mock.close());
  const cwd = tempDir(t);
  await writeDays(path.join(cwd, 'data'), 0);
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'always' });
  await d.waitFor(isMessage(/^daemon started/)); // it holds the store's lock from before this line
  const side = await runCli(['compact'], { env: env(d.data) });
  assert.equal(side.code, 75, side.stdout + side.stderr);
  assert.match(side.stderr, /locked by `start` \(pid \d+/);

  // While the daemon polls and compacts, the port keeps answering.
  const answers: number[] = [];
  let done = false;
  const probe = (async () => {
    while (!done) {
      for (const target of ['/healthz', '/api/status']) answers.push((await fetch(`http://127.0.0.1:${d.healthPort}${target}`)).status);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const compactedDay = isMessage(/^compaction: a closed day rewritten/);
  await d.waitForCount(compactedDay, 2, 30_000);
  done = true;
  await probe;
  assert.deepEqual(d.lines.filter(compactedDay).map((l) => l.dt), ['2026-11-20', '2026-11-21']);
  assert.equal(d.count(pollDone), 1);
  assert.ok(answers.length > 0 && answers.every((s) => s === 200), `every answer 200: ${answers.join(',')}`);
  for (const dt of ['2026-11-20', '2026-11-21']) assert.equal(dataFiles(d.data).filter((f) => f.includes(`dt=${dt}`)).length, 7);
  const health = (await (await fetch(`http://127.0.0.1:${d.healthPort}/healthz`)).json()) as { status: string; degraded: Record<string, string> };
  assert.deepEqual([health.status, health.degraded], ['ok', {}]);
  assert.equal(await d.stop(), 0);
});

test('a compaction that fails (a broken file in a closed day) leaves the day as it was: /healthz says degraded (200), polls go on, the metric counts it', async (t) => {
  const mock = await startMockProvider({});
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const data = path.join(cwd, 'data');
  await writeDays(data, 0);
  const broken = dataFiles(data, 'movies').find((f) => f.includes('dt=2026-11-21')) ?? '';
  writeFileSync(path.join(data, broken), 'not parquet');
  const filesBefore = dataFiles(data).filter((f) => f.includes('dt=2026-11-21')).sort();
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'always' });
  const failed = await d.waitFor(isMessage(/^compaction failed: /), 30_000);
  assert.match(failed.message, /tried again after the next poll/);
  const health = await fetch(`http://127.0.0.1:${d.healthPort}/healthz`);
  const body = (await health.json()) as { status: string; degraded: Record<string, string>; lastPoll: { status: string } };
  assert.equal(health.status, 200);
  assert.equal(body.status, 'degraded');
  assert.match(body.degraded.compaction ?? '', /^compaction failed: /);
  assert.equal(body.lastPoll.status, 'complete');
  const metrics = await (await fetch(`http://127.0.0.1:${d.healthPort}/metrics`)).text();
  assert.match(metrics, /^collector_compaction_failures_total 1$/m);
  // The day that failed is untouched (the day before it was compacted); nothing is left staged.
  assert.deepEqual(dataFiles(data).filter((f) => f.includes('dt=2026-11-21')).sort(), filesBefore);
  assert.equal(dataFiles(data).filter((f) => f.includes('dt=2026-11-20')).length, 7);
  assert.deepEqual(readdirSync(path.join(data, '_staging')), []);
  assert.equal(await d.stop(), 0);
});

test('hostile stores: a day holding both layouts (0.2 run again on an upgraded store) upgrades whole; a leftover migration marker in a copied store does not bring the old layout back; a stray file stays', async (t) => {
  const dir = tempDir(t);
  const data = path.join(dir, 'data');
  cpSync(new URL('../../test/fixtures/store-0.2.0', import.meta.url), data, { recursive: true });
  const late = await writePoll(data, new Date(Date.UTC(2026, 10, 21, 20)), 'complete', 4); // the new layout inside an old day
  writeFileSync(path.join(data, 'movies', 'dt=2026-11-20', 'NOTES.txt'), 'kept by the operator');
  const reportBefore = await runCli(['report', '--format', 'json', '--since', '2026-11-01'], { env: env(data) });
  assert.equal(reportBefore.code, 0, reportBefore.stderr);
  assert.match(reportBefore.stdout, new RegExp(late), 'the report reads both layouts of one day');
  const [legacyRows] = await query(`SELECT count(*)::INT AS n FROM read_parquet('${data}/movies/*/run=*/*/*.parquet', hive_partitioning = true)`);

  const upgraded = await runCli(['compact'], { env: env(data) });
  assert.equal(upgraded.code, 0, upgraded.stderr);
  const [after] = await query(`SELECT count(*)::INT AS n, count(*) FILTER (WHERE run = '${late}')::INT AS late FROM read_parquet('${data}/movies/**/*.parquet', hive_partitioning = true)`);
  assert.deepEqual(after, { n: Number(legacyRows?.n) + 8, late: 8 });
  assert.equal(stable((await runCli(['report', '--format', 'json', '--since', '2026-11-01'], { env: env(data) })).stdout), stable(reportBefore.stdout));
  assert.ok(existsSync(path.join(data, 'movies', 'dt=2026-11-20', 'NOTES.txt')), 'the stray file is still in its day');

  // A kill during the final clean-up left the old tables and a marker; the store is then copied
  // (new inodes). The next writer must see the tables are done, not swap the old ones back.
  const rows = await storeRows(data, 'duckdb');
  for (const table of ['movies', 'rejects', 'runs']) cpSync(new URL(`../../test/fixtures/store-0.2.0/${table}`, import.meta.url), path.join(data, '_staging', 'migrate', table), { recursive: true });
  writeFileSync(path.join(data, '_staging', 'migrate', '_READY'), JSON.stringify({ tables: [{ table: 'movies', inode: 1 }, { table: 'rejects', inode: 2 }, { table: 'runs', inode: 3 }] }));
  const copy = path.join(dir, 'copy');
  cpSync(data, copy, { recursive: true });
  const next = await runCli(['compact'], { env: env(copy) });
  assert.equal(next.code, 0, next.stderr);
  assert.deepEqual(await storeRows(copy, 'duckdb'), rows);
  assert.ok(!dataFiles(copy).some((f) => f.includes('run=')));
});

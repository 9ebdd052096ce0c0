// Stores for the compaction tests: polls of chosen days written through the real commit protocol
// (StagedRun: staging, _READY, renames), with every value class (extreme-records.ts), rejects,
// partial and failed polls; and the rows of a store as three independent readers see them
// (DuckDB, hyparquet, arrow-rs through parquet-wasm), in one canonical form per reader.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { readParquet } from 'parquet-wasm/node';
import type { RunRecord } from '../src/records/types.js';
import { StagedRun } from '../src/store/committer.js';
import { TABLES, dtOf, newRunId, type Table } from '../src/store/layout.js';
import { MOVIES_SCHEMA, REJECTS_SCHEMA, RUNS_SCHEMA, movieRow, rejectRow, runRow } from '../src/store/schema.js';
import { query } from './duckdb.js';
import { extremeMovies, extremeRejects } from './extreme-records.js';

const PROVIDERS = ['cinemaworld', 'filmworld'] as const;

/** One poll at `startedAt`: `kind` complete (extreme movies), partial (movies and rejects) or failed (nothing but its runs rows). */
export async function writePoll(root: string, startedAt: Date, kind: 'complete' | 'partial' | 'failed', films = 12): Promise<string> {
  const runId = newRunId(startedAt);
  const staged = await StagedRun.create(root, runId, dtOf(startedAt));
  const runs: RunRecord[] = [];
  for (const provider of PROVIDERS) {
    const movies = await staged.openFile('movies', provider, MOVIES_SCHEMA);
    const rejects = await staged.openFile('rejects', provider, REJECTS_SCHEMA);
    const m = kind === 'failed' ? [] : extremeMovies(films, startedAt).map((r) => ({ ...r, provider_movie_id: `${provider.slice(0, 2)}${r.provider_movie_id}` }));
    const j = kind === 'partial' ? extremeRejects(3, startedAt) : [];
    for (const r of m) movies.append(movieRow(r));
    for (const r of j) rejects.append(rejectRow(r));
    runs.push({
      provider, status: kind, started_at: startedAt, finished_at: new Date(startedAt.getTime() + 900), duration_ms: 900n, listed: m.length + j.length,
      fetched: m.length + j.length, failed: 0, rejected: j.length, retries: 1, responses: '{"200":3}', error: kind === 'failed' ? 'list call failed: 😀 HTTP 503' : null, collector_version: 'test',
    });
  }
  await staged.commit([{ table: 'runs', schema: RUNS_SCHEMA, rows: runs.map(runRow) }]);
  return runId;
}

/** Polls on three closed days (every kind on the first) and `today` polls of the current day. */
export async function writeDays(root: string, today = 2): Promise<void> {
  const day = (d: number, h: number) => new Date(Date.UTC(2026, 10, d, h, 15, 0, 123));
  await writePoll(root, day(20, 8), 'complete');
  await writePoll(root, day(20, 9), 'partial');
  await writePoll(root, day(20, 10), 'failed');
  await writePoll(root, day(20, 23), 'complete');
  await writePoll(root, day(21, 0), 'partial');
  await writePoll(root, day(21, 1), 'complete');
  await writePoll(root, day(23, 12), 'complete'); // one poll: already one file per folder
  for (let i = 0; i < today; i++) await writePoll(root, new Date(Date.now() - i * 1000), i === 0 ? 'complete' : 'partial');
}

/** The store's data files, relative to its root. */
export function dataFiles(root: string, table?: Table): string[] {
  return (table ? [table] : [...TABLES]).flatMap((t) => {
    try {
      return readdirSync(path.join(root, t), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.parquet')).map((f) => path.join(t, f));
    } catch {
      return [];
    }
  });
}

/** A value in one form whatever the reader: integers as decimal strings, instants and dates as epoch ms, lists as arrays. */
function canonical(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && 'toArray' in value && typeof value.toArray === 'function') return canonical([...(value.toArray() as Iterable<unknown>)]);
  return value;
}

function canonicalRow(row: Record<string, unknown>, pathColumns: Record<string, string>): string {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys({ ...row, ...pathColumns }).sort()) out[key] = canonical(key in pathColumns ? pathColumns[key] : row[key]);
  return JSON.stringify(out);
}

/** dt and provider from a file's path, as a Hive-partitioned reader adds them. */
function pathColumns(file: string): Record<string, string> {
  return Object.fromEntries([...file.matchAll(/(dt|provider)=([^/]+)/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

export type ReaderName = 'duckdb' | 'hyparquet' | 'arrow-rs';

/** Every row of every table, sorted, as `reader` reads them (DuckDB through the README's glob; the others file by file). */
export async function storeRows(root: string, reader: ReaderName): Promise<Record<Table, string[]>> {
  const result: Record<Table, string[]> = { movies: [], rejects: [], price_changes: [], schema_changes: [], runs: [] };
  for (const table of TABLES) {
    if (reader === 'duckdb') {
      if (dataFiles(root, table).length === 0) continue;
      const rows = await query(`SELECT * FROM read_parquet('${root}/${table}/**/*.parquet', hive_partitioning = true)`);
      result[table] = rows.map((r) => {
        const dt = r.dt instanceof Date ? dtOf(r.dt) : String(r.dt);
        return canonicalRow({ ...r, dt }, {});
      }).sort();
      continue;
    }
    for (const file of dataFiles(root, table)) {
      const full = path.join(root, file);
      const rows = reader === 'hyparquet'
        ? await parquetReadObjects({ file: await asyncBufferFromFile(full) })
        : tableFromIPC(readParquet(readFileSync(full)).intoIPCStream()).toArray().map((r: { toJSON(): Record<string, unknown> }) => r.toJSON());
      result[table].push(...rows.map((r) => canonicalRow(r, pathColumns(file))));
    }
    result[table].sort();
  }
  return result;
}

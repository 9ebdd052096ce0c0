// Reads one committed poll back from the store: each provider's status (runs), the prices it
// committed (movies) and its shape changes (schema_changes). Rules see only what a reader of the
// store sees, so a daemon restarted between a commit and its alerts sees the same poll. The poll's
// own files are read when they exist; a day compacted since is read whole and filtered on `run`.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { COMPACTED_PREFIX, dtOf, runIdOfFile, runIdStart } from '../store/layout.js';
import type { ObservedSchemaChange, Price } from './rules.js';

export interface CommittedPoll {
  run: string;
  at: Date;
  providers: Array<{ provider: string; status: 'complete' | 'partial' | 'failed' }>;
  prices: Price[];
  /** Its schema_changes rows but the baseline ones, by source and path. */
  schemaChanges: ObservedSchemaChange[];
}

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

function files(root: string, table: 'movies' | 'runs', dt: string, run: string): string[] {
  const day = path.join(root, table, `dt=${dt}`);
  if (!existsSync(day)) return [];
  const folders = table === 'runs' ? [day] : readdirSync(day).filter((n) => n.startsWith('provider=')).map((n) => path.join(day, n));
  return folders.flatMap((folder) => {
    const own = path.join(folder, `${run}.parquet`);
    if (existsSync(own)) return [own];
    return readdirSync(folder).filter((n) => n.endsWith('.parquet')).map((n) => path.join(folder, n)); // compacted: filtered on run below
  });
}

/**
 * The schema_changes files that may hold `run`'s rows: its own file, or else the day's compacted
 * files whose last run is not before it. Only polls with changes write a file: most have none.
 */
function schemaChangeFiles(root: string, dt: string, run: string): string[] {
  const day = path.join(root, 'schema_changes', `dt=${dt}`);
  if (!existsSync(day)) return [];
  const own = path.join(day, `${run}.parquet`);
  if (existsSync(own)) return [own];
  return readdirSync(day)
    .filter((n) => n.startsWith(COMPACTED_PREFIX) && n.endsWith('.parquet') && (runIdOfFile(n) ?? '') >= run)
    .map((n) => path.join(day, n));
}

/** The committed poll `run`, or null when the store holds no runs rows for it (not committed, or removed by retention). */
export async function readCommittedPoll(root: string, run: string): Promise<CommittedPoll | null> {
  const at = runIdStart(run);
  if (at === null) return null;
  const dt = dtOf(at);
  const runFiles = files(root, 'runs', dt, run);
  if (runFiles.length === 0) return null;
  // One thread and a small memory cap: this runs beside the daemon's page and next poll.
  const instance = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '64MB' });
  const con = await instance.connect();
  try {
    const list = (f: string[]) => `[${f.map(quote).join(', ')}]`;
    const runs = (await con.runAndReadAll(`SELECT provider, status FROM read_parquet(${list(runFiles)}, union_by_name = true) WHERE run = $run ORDER BY provider`, { run })).getRowObjectsJS();
    if (runs.length === 0) return null;
    const movieFiles = files(root, 'movies', dt, run);
    const movies = movieFiles.length === 0 ? [] : (await con.runAndReadAll(
      `SELECT film_key, title, provider, price_cents FROM read_parquet(${list(movieFiles)}, hive_partitioning = true, union_by_name = true) WHERE run = $run`, { run },
    )).getRowObjectsJS();
    const changeFiles = schemaChangeFiles(root, dt, run);
    const changes = changeFiles.length === 0 ? [] : (await con.runAndReadAll(
      `SELECT provider, source, path, kind, old_type, new_type, example, share, answers, action
         FROM read_parquet(${list(changeFiles)}, union_by_name = true) WHERE run = $run AND kind <> 'baseline' ORDER BY provider, source, path, kind`, { run },
    )).getRowObjectsJS();
    return {
      run,
      at,
      providers: runs.map((r) => ({ provider: String(r.provider), status: String(r.status) as 'complete' | 'partial' | 'failed' })),
      prices: movies.map((m) => ({ film_key: String(m.film_key), title: String(m.title), provider: String(m.provider), price_cents: Number(m.price_cents) })),
      schemaChanges: changes.map((c) => ({
        provider: String(c.provider), source: String(c.source) as ObservedSchemaChange['source'], path: String(c.path), kind: String(c.kind) as ObservedSchemaChange['kind'],
        old_type: c.old_type === null ? null : String(c.old_type), new_type: String(c.new_type), example: c.example === null ? null : String(c.example),
        share: Number(c.share), answers: Number(c.answers), action: String(c.action) as ObservedSchemaChange['action'],
      })),
    };
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

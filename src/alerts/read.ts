// Reads one committed poll back from the store: each provider's status (runs) and the prices it
// committed (movies). Rules see only what a reader of the store sees. The poll's own files are
// read when they exist; a day compacted since is read whole and filtered on `run`.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { dtOf, runIdStart } from '../store/layout.js';
import type { Price } from './rules.js';

export interface CommittedPoll {
  run: string;
  at: Date;
  providers: Array<{ provider: string; status: 'complete' | 'partial' | 'failed' }>;
  prices: Price[];
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
    return {
      run,
      at,
      providers: runs.map((r) => ({ provider: String(r.provider), status: String(r.status) as 'complete' | 'partial' | 'failed' })),
      prices: movies.map((m) => ({ film_key: String(m.film_key), title: String(m.title), provider: String(m.provider), price_cents: Number(m.price_cents) })),
    };
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

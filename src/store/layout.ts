// Where things live in the store (DATA_DIR). Every file of a table sits at the same depth (a
// Hive-partitioned glob needs that), and the run id is a column inside the files, so one file
// can hold one poll or a whole day:
//   movies|rejects|price_changes/dt=YYYY-MM-DD/provider=<name>/<file>.parquet
//   runs|schema_changes/dt=YYYY-MM-DD/<file>.parquet
// where <file> is the poll's run id (a poll's own file) or `compacted-<last run id>` (a closed
// day compacted into one file). _staging/<run_id>/ holds the same tree before it is renamed into place.
// Stores written before 0.3 have a run=<run_id> folder level instead (see migrate.ts).
import { randomBytes } from 'node:crypto';
import path from 'node:path';

/** In commit order: a poll is committed once its `runs` rows exist, so runs is last. */
export const TABLES = ['movies', 'rejects', 'price_changes', 'schema_changes', 'runs'] as const;
export type Table = (typeof TABLES)[number];
/** The alerts table (src/alerts/table.ts): not a poll's table, but dated like them, pruned by retention and compacted. */
export const ALERTS_TABLE = 'alerts';
/** What compaction rewrites: the poll tables and the alerts table. */
export const COMPACTED_TABLES = [...TABLES, ALERTS_TABLE] as const;
export type CompactedTable = (typeof COMPACTED_TABLES)[number];
/** Tables partitioned by provider below dt (runs, schema_changes and alerts hold a provider column instead). */
export const hasProviderPartition = (table: CompactedTable): boolean => table !== 'runs' && table !== 'schema_changes' && table !== ALERTS_TABLE;
export const STAGING_DIR = '_staging';
/** Written into a run's staging folder once every file is durable: from then on the run is committed by rolling forward. */
export const READY_MARKER = '_READY';
/** In each staged poll: the pid and host of the collector committing it. */
export const OWNER_FILE = '_OWNER';
/** Under _staging: the rewrite of a store written before 0.3 into this layout (resumable; see migrate.ts). */
export const MIGRATION_DIR = 'migrate';
/** File name prefix of a compacted day; the rest of the name is the last run id it holds. */
export const COMPACTED_PREFIX = 'compacted-';

/** The UTC date a poll started: its dt partition. */
export function dtOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/**
 * Sorts by time, to the millisecond: 20261123T101500.123Z-3f9c0a1b. Polls of one store never share
 * an id (the poll checks the store under its lock); 32 random bits keep stores that are merged apart.
 */
export function newRunId(startedAt: Date): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/** Run ids of this version, and of earlier ones (seconds and 4 hex digits: 20261123T101500Z-3f9c). */
export const RUN_ID = /^\d{8}T\d{6}(?:\.\d{3})?Z-[0-9a-f]{4,8}$/;

/** The start time a run id encodes. */
export function runIdStart(runId: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{3}))?Z/.exec(runId);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7] ?? 0))) : null;
}

/** `<table>/dt=<dt>` relative to a root (the store, or a staging folder). */
export function dayPartition(table: CompactedTable, dt: string): string {
  return path.join(table, `dt=${dt}`);
}

/** The folder a table's files of one day (and provider) live in, relative to a root. */
export function fileFolder(table: Table, dt: string, provider?: string): string {
  return path.join(dayPartition(table, dt), hasProviderPartition(table) && provider !== undefined ? `provider=${provider}` : '');
}

/** A poll's own file in a table, relative to a root. */
export function pollFile(table: Table, dt: string, runId: string, provider?: string): string {
  return path.join(fileFolder(table, dt, provider), `${runId}.parquet`);
}

/** The run id a data file's name carries: the poll's, or the last one a compacted day holds; null for any other name. */
export function runIdOfFile(name: string): string | null {
  if (!name.endsWith('.parquet')) return null;
  const stem = name.slice(0, -'.parquet'.length);
  const id = stem.startsWith(COMPACTED_PREFIX) ? stem.slice(COMPACTED_PREFIX.length) : stem;
  return RUN_ID.test(id) ? id : null;
}

/** The run id of a file in a run=<id> folder (stores before 0.3), or null. */
export function runIdOfLegacyPath(file: string): string | null {
  return /[/\\]run=([^/\\]+)[/\\]/.exec(file)?.[1] ?? null;
}

/** dt values of `dt=` folder names, sorted ascending. */
export function dtFolders(names: string[]): string[] {
  return names.flatMap((n) => /^dt=(\d{4}-\d{2}-\d{2})$/.exec(n)?.[1] ?? []).sort();
}

// Where things live in the store (DATA_DIR):
//   <table>/dt=YYYY-MM-DD/run=<run_id>/[provider=<name>/]part-0.parquet
//   _staging/<run_id>/...   the same tree, before it is renamed into place
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export const TABLES = ['movies', 'rejects', 'runs'] as const;
export type Table = (typeof TABLES)[number];
export const STAGING_DIR = '_staging';
export const PART_FILE = 'part-0.parquet';
/** Written into a run's staging folder once every file is durable: from then on the run is committed by rolling forward. */
export const READY_MARKER = '_READY';
/** In each staged poll: the pid and host of the collector committing it. */
export const OWNER_FILE = '_OWNER';

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

/** `<table>/dt=<dt>/run=<runId>` relative to a root (the store, or a run's staging folder). */
export function runPartition(table: Table, dt: string, runId: string): string {
  return path.join(table, `dt=${dt}`, `run=${runId}`);
}

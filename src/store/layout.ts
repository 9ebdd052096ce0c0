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

/** Sorts by time: 20261123T101500Z-3f9c. */
export function newRunId(startedAt: Date): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export const RUN_ID = /^\d{8}T\d{6}Z-[0-9a-f]{4}$/;

/** `<table>/dt=<dt>/run=<runId>` relative to a root (the store, or a run's staging folder). */
export function runPartition(table: Table, dt: string, runId: string): string {
  return path.join(table, `dt=${dt}`, `run=${runId}`);
}

// Compaction: once a UTC day is over (and a grace period has passed), each table's files of that
// day are rewritten into one file per provider (runs: one file), so the store's file count grows
// with days, not polls. Nothing changes but the number of files: every row keeps its run id, its
// values and its types, written by the same Parquet writer as a poll's files.
//
// Commit: the new day folder is built under _staging/compact-<dt>/, fsynced, counted against its
// sources, marked _READY (naming the compacted files), then swapped with the live day folder in
// one step (renameat2 RENAME_EXCHANGE, see exchange.ts), table by table. A reader listing a day
// sees all of its old files or the compacted ones, never both or neither. After a crash, recovery
// finishes a marked compaction (a table whose compacted files left staging was swapped) or
// discards an unmarked one.
import { existsSync, readdirSync } from 'node:fs';
import { link, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../runtime/errors.js';
import type { Logger } from '../log/log.js';
import { fsync, fsyncTree, readMarker, writeMarker } from './durable.js';
import { exchangeFolders } from './exchange.js';
import { ALERTS_TABLE, COMPACTED_PREFIX, COMPACTED_TABLES, READY_MARKER, STAGING_DIR, dayPartition, dtFolders, dtOf, runIdOfFile, runIdOfLegacyPath, type CompactedTable, type Table } from './layout.js';
import { dayFolders, daysMissingChanges } from './day-files.js';
import { writeParquetFile } from './parquet/index.js';
import { ParquetRowSource } from './row-source.js';
import { ALERTS_SCHEMA, MOVIES_SCHEMA, PRICE_CHANGES_SCHEMA, REJECTS_SCHEMA, RUNS_SCHEMA, SCHEMA_CHANGES_SCHEMA } from './schema.js';

export const SCHEMAS = { movies: MOVIES_SCHEMA, rejects: REJECTS_SCHEMA, price_changes: PRICE_CHANGES_SCHEMA, schema_changes: SCHEMA_CHANGES_SCHEMA, runs: RUNS_SCHEMA, alerts: ALERTS_SCHEMA } as const;
export const COMPACT_STAGING_PREFIX = 'compact-';

export type CompactStep = 'day-staged' | `exchanged:${CompactedTable}`;

export interface FenceHooks {
  /** Called right before each step that makes something visible; throws when this writer lost the store's lock. */
  beforeVisible?: () => void;
  /** Called after each step; tests use it to kill the process at a chosen point. */
  afterStep?: (step: CompactStep) => void;
}

export interface CompactOptions extends FenceHooks {
  root: string;
  now: Date;
  /** A day is closed once this long has passed since its end (UTC midnight). */
  graceMs: number;
  logger: Logger;
  /** Stops between days (shutdown, a poll due): what is done stays done. */
  signal?: AbortSignal;
  /** Closed days known compacted (daysToCompact); the days compacted now are added. */
  settled?: Set<string>;
}

export interface CompactResult {
  days: string[];
  filesBefore: number;
  filesAfter: number;
  rows: number;
}

interface DayMarker {
  dt: string;
  /**
   * Per table: the compacted files written (relative to the day folder). Until its swap they are in
   * the staged folder; after it, in the live one. (Names, not inodes: a copied or restored store
   * keeps names.)
   */
  tables: Array<{ table: CompactedTable; written: string[]; sources?: string[] }>;
}

/**
 * Where DuckDB spills a large day's sort: in the store's staging (the container's root is
 * read-only), named like a compaction so that recovery removes what a crash leaves there.
 */
export const spillFolder = (root: string): string => path.join(root, STAGING_DIR, `${COMPACT_STAGING_PREFIX}spill`);

/**
 * Closed days that still have more than one file in some folder (a table's day, or a provider's).
 * `settled`: closed days already found compacted, kept by the caller between calls (the daemon):
 * nothing writes into a closed day while it runs, so they are not listed again, and the check after
 * each poll lists each table's folder and the days closed since, whatever the store's age. Days
 * found compacted here are added to it.
 */
export function daysToCompact(root: string, now: Date, graceMs: number, settled?: Set<string>): string[] {
  const lastClosed = dtOf(new Date(now.getTime() - graceMs - 86_400_000));
  const candidates = new Set<string>();
  for (const table of COMPACTED_TABLES) {
    const dir = path.join(root, table);
    if (!existsSync(dir)) continue;
    for (const dt of dtFolders(readdirSync(dir))) if (dt <= lastClosed && !settled?.has(dt)) candidates.add(dt);
  }
  // The two newest closed days are never settled: a poll that crossed midnight, recovered by the
  // next poll, or an alert batch retried, may still write into them.
  const recent = dtOf(new Date(now.getTime() - graceMs - 3 * 86_400_000));
  const days: string[] = [];
  for (const dt of [...candidates].sort()) {
    if (COMPACTED_TABLES.some((table) => dayFolders(root, table, dt).some((f) => f.files.length > 1))) days.push(dt);
    else if (dt <= recent) settled?.add(dt);
  }
  return days;
}

/** Compacts every closed day that needs it, oldest first; each day is committed on its own. */
export async function compactClosedDays(options: CompactOptions): Promise<CompactResult> {
  const result: CompactResult = { days: [], filesBefore: 0, filesAfter: 0, rows: 0 };
  const days = daysToCompact(options.root, options.now, options.graceMs, options.settled);
  if (days.length === 0) return result;
  const failures: string[] = [];
  for (const dt of days) {
    if (options.signal?.aborted) break;
    const started = performance.now();
    // A DuckDB per day: one kept for many days grows by what it caches of every file read (measured:
    // 1.9 GB after a year's upgrade, against a flat 160 MB with one per day).
    const source = await ParquetRowSource.open(spillFolder(options.root));
    try {
      const day = await compactDay(options, source, dt);
      result.days.push(dt);
      result.filesBefore += day.filesBefore;
      result.filesAfter += day.filesAfter;
      result.rows += day.rows;
      options.logger.info('compaction: a closed day rewritten into one file per table and provider', { dt, ...day, ms: Math.round(performance.now() - started) });
    } catch (err) {
      // A lost lock or a stop ends the work; one broken day does not keep the others uncompacted.
      if (options.signal?.aborted || (err instanceof Error && (err.name === 'LockLostError' || err.name === 'AbortError'))) throw err;
      failures.push(`${dt}: ${errorMessage(err)}`);
    } finally {
      source.close();
    }
  }
  if (failures.length > 0) throw new CompactionError(`${failures.length} day(s) not compacted (${failures.join('; ')})`, result.days);
  return result;
}

/** Some days could not be compacted; `days`: those that were (their files changed all the same). */
export class CompactionError extends Error {
  override name = 'CompactionError';
  constructor(message: string, readonly days: string[]) {
    super(message);
  }
}

/**
 * Rewrites one day: each table whose folders hold more than one file, and price_changes always
 * (rebuilt from the day's movies and runs, so a compacted day's change points are exactly those
 * its polls define, whatever wrote the polls). `only`: just that table (the upgrade's backfill).
 */
async function compactDay(options: CompactOptions, source: ParquetRowSource, dt: string, only?: Table): Promise<{ filesBefore: number; filesAfter: number; rows: number }> {
  const { root } = options;
  const staging = path.join(root, STAGING_DIR, `${COMPACT_STAGING_PREFIX}${dt}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const marker: DayMarker = { dt, tables: [] };
  let filesBefore = 0;
  let filesAfter = 0;
  let rows = 0;
  try {
    for (const table of COMPACTED_TABLES) {
      if (only !== undefined && table !== only) continue;
      const folders = dayFolders(root, table, dt);
      const liveDay = path.join(root, dayPartition(table, dt));
      const stagedDay = path.join(staging, dayPartition(table, dt));
      if (table === 'price_changes') {
        const built = await writeDayChanges(source, root, dt, stagedDay);
        if (built === null) continue; // no runs that day
        filesBefore += folders.reduce((n, f) => n + f.files.length, 0);
        filesAfter += built.written.length;
        rows += built.rows;
        if (existsSync(liveDay)) await keepStrayFiles(liveDay, stagedDay, options.logger);
        await fsyncTree(stagedDay);
        marker.tables.push({ table, written: built.written });
        continue;
      }
      if (!folders.some((f) => f.files.length > 1)) continue; // one file per folder already: nothing to swap
      const written: string[] = [];
      for (const folder of folders) {
        const from = path.join(liveDay, folder.sub);
        const to = path.join(stagedDay, folder.sub);
        await mkdir(to, { recursive: true });
        filesBefore += folder.files.length;
        if (folder.files.length > 1) {
          rows += await writeCompacted(source, table, folder.files.map((f) => path.join(from, f)), to);
          written.push(...readdirSync(to).filter((n) => n.endsWith('.parquet')).map((n) => path.join(folder.sub, n)));
        } else if (folder.files.length === 1) {
          const [only] = folder.files as [string];
          await link(path.join(from, only), path.join(to, only)); // already one file: the same inode, not a copy
        }
        filesAfter += Math.min(folder.files.length, 1);
      }
      await keepStrayFiles(liveDay, stagedDay, options.logger);
      await fsyncTree(stagedDay);
      // The alerts table is written beside compaction (a batch retried after a failed write may
      // land in an old day): what it writes after this listing is moved into the new day at the swap.
      const sources = table === ALERTS_TABLE ? folders.flatMap((f) => f.files.map((n) => path.join(f.sub, n))) : undefined;
      marker.tables.push({ table, written, ...(sources ? { sources } : {}) });
    }
    if (marker.tables.length === 0) {
      await rm(staging, { recursive: true, force: true });
      return { filesBefore, filesAfter, rows };
    }
    await writeMarker(path.join(staging, READY_MARKER), marker);
  } catch (err) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  options.afterStep?.('day-staged');
  await swapIn(root, staging, marker, options);
  return { filesBefore, filesAfter, rows };
}

/**
 * Rewrites `files` (one table, one day, one provider) into one file in `toDir`, named after the
 * last run id it holds. Rows keep their order (by file name, which is run order, then row order);
 * the count written is checked against the sources' before anything is swapped in.
 */
export async function writeCompacted(source: ParquetRowSource, table: CompactedTable, files: string[], toDir: string): Promise<number> {
  const lastRun = files.map((f) => runIdOfFile(path.basename(f)) ?? runIdOfLegacyPath(f)).filter((r) => r !== null).sort().at(-1);
  if (!lastRun) throw new Error(`compaction: no run id in the names of ${files[0] ?? 'no file'}`);
  const target = path.join(toDir, `${COMPACTED_PREFIX}${lastRun}.parquet`);
  const expected = await source.count(files);
  const written = await writeParquetFile(target, SCHEMAS[table], source.rows(files, SCHEMAS[table]));
  if (written !== expected) {
    await rm(target, { force: true });
    throw new Error(`compaction: wrote ${written} rows of ${table} into ${target} but its sources hold ${expected}; nothing was swapped in`);
  }
  return written;
}

/**
 * A day's price_changes rebuilt into `stagedDay`: one file per provider of the day's runs, named
 * after the day's last run; null when the day has no runs file.
 */
async function writeDayChanges(source: ParquetRowSource, root: string, dt: string, stagedDay: string): Promise<{ written: string[]; rows: number } | null> {
  const runsDay = path.join(root, dayPartition('runs', dt));
  const runFiles = (dayFolders(root, 'runs', dt)[0]?.files ?? []).map((f) => path.join(runsDay, f));
  const lastRun = runFiles.map((f) => runIdOfFile(path.basename(f))).filter((r) => r !== null).sort().at(-1);
  if (runFiles.length === 0 || lastRun === undefined) return null;
  const movies = new Map(dayFolders(root, 'movies', dt).map((f) => [f.sub, f.files.map((n) => path.join(root, dayPartition('movies', dt), f.sub, n))]));
  const written: string[] = [];
  let rows = 0;
  for (const provider of await source.providers(runFiles)) {
    const sub = `provider=${provider}`;
    await mkdir(path.join(stagedDay, sub), { recursive: true });
    const name = path.join(sub, `${COMPACTED_PREFIX}${lastRun}.parquet`);
    rows += await writeParquetFile(path.join(stagedDay, name), PRICE_CHANGES_SCHEMA, source.dayChanges(movies.get(sub) ?? [], runFiles, provider));
    written.push(name);
  }
  await mkdir(stagedDay, { recursive: true });
  return { written, rows };
}

/**
 * The upgrade of a store written before price_changes existed (and of polls a version without it
 * added since): each day missing change points gets them rebuilt from its movies and runs, swapped
 * in like a compaction. A day that fails is logged and left; the others go on.
 */
export async function backfillPriceChanges(options: Omit<CompactOptions, 'now' | 'graceMs'>): Promise<string[]> {
  const days = daysMissingChanges(options.root);
  if (days.length === 0) return [];
  options.logger.warn(`upgrade: building the price_changes table for ${days.length} day(s) from their polls; no poll runs until it is done`, { from: days[0], to: days.at(-1) });
  const done: string[] = [];
  const failures: string[] = [];
  for (const dt of days) {
    if (options.signal?.aborted) break;
    const source = await ParquetRowSource.open(spillFolder(options.root));
    try {
      await compactDay({ ...options, now: new Date(), graceMs: 0 }, source, dt, 'price_changes');
      done.push(dt);
    } catch (err) {
      if (err instanceof Error && (err.name === 'LockLostError' || err.name === 'AbortError')) throw err;
      failures.push(`${dt}: ${errorMessage(err).split('\n')[0] ?? ''}`);
    } finally {
      source.close();
    }
  }
  if (failures.length > 0) {
    options.logger.error(`upgrade: price_changes not built for ${failures.length} day(s) (${failures.join('; ')}); their price history is incomplete until the next start tries again`);
  } else {
    options.logger.warn('upgrade: price_changes built', { days: done.length });
  }
  return done;
}

/** Swaps each marked table's staged day folder with the live one (skipping those already swapped), then removes the staging. */
async function swapIn(root: string, staging: string, marker: DayMarker, hooks: FenceHooks & { logger: Logger }): Promise<void> {
  for (const { table, written, sources } of marker.tables) {
    const live = path.join(root, dayPartition(table, marker.dt));
    const staged = path.join(staging, dayPartition(table, marker.dt));
    const [first] = written;
    if (first === undefined || !existsSync(path.join(staged, first))) continue; // swapped before a crash
    hooks.beforeVisible?.();
    if (existsSync(live)) {
      await exchangeFolders(live, staged, (why) => warnFallback(hooks.logger, why));
      if (sources !== undefined) await keepLateFiles(staged, live, new Set([...sources, ...written]));
    } else {
      // The live day went away (retention), or never was (price_changes built for an older store).
      await mkdir(path.dirname(live), { recursive: true });
      await rename(staged, live);
    }
    await fsync(path.dirname(live));
    hooks.afterStep?.(`exchanged:${table}`);
  }
  await rm(staging, { recursive: true, force: true });
  await fsync(path.dirname(staging));
}

/**
 * Files in a day folder that are not the table's data (notes, stray temp files) are not the
 * compaction's to drop: each is linked into the staged folder, so it stays where it was. Folders
 * other than provider= ones are left out of the new day, and said so.
 */
export async function keepStrayFiles(liveDay: string, stagedDay: string, logger: Logger, skip: (relative: string) => boolean = () => false): Promise<void> {
  for (const entry of readdirSync(liveDay, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const relative = path.relative(liveDay, full);
    if (entry.isFile() && !entry.name.endsWith('.parquet') && !skip(relative) && !existsSync(path.join(stagedDay, relative))) {
      await mkdir(path.dirname(path.join(stagedDay, relative)), { recursive: true });
      await link(full, path.join(stagedDay, relative));
      logger.warn('compaction: kept a file that is not Parquet data in its day folder', { file: full });
    }
  }
}

/** After a swap: data files that reached the old day folder after the compaction listed it go into the new one. */
async function keepLateFiles(oldDay: string, newDay: string, listed: Set<string>): Promise<void> {
  const late = readdirSync(oldDay, { recursive: true, encoding: 'utf8' }).filter((rel) => rel.endsWith('.parquet') && !listed.has(rel));
  for (const rel of late) {
    await mkdir(path.dirname(path.join(newDay, rel)), { recursive: true });
    await rename(path.join(oldDay, rel), path.join(newDay, rel));
  }
  if (late.length > 0) await fsync(newDay);
}

let fallbackWarned = false;
function warnFallback(logger: Logger, why: string): void {
  if (fallbackWarned) return;
  fallbackWarned = true;
  logger.warn(`compaction: this filesystem cannot swap two folders in one step (${why}); swapping with two renames, so for a moment a reader may miss a day being compacted`);
}

/**
 * Recovery of a compaction a crash interrupted (called for each _staging/compact-* folder):
 * marked → finish swapping; unmarked → discard (nothing of it was visible).
 */
export async function recoverCompaction(root: string, staging: string, logger: Logger, hooks: FenceHooks = {}): Promise<'finished' | 'discarded'> {
  const marker = await readMarker<DayMarker>(path.join(staging, READY_MARKER), (m) => typeof m.dt === 'string' && Array.isArray(m.tables));
  if (!marker) {
    await rm(staging, { recursive: true, force: true });
    logger.warn('recovery: discarded an unfinished compaction (nothing of it was visible)', { entry: path.basename(staging) });
    return 'discarded';
  }
  await swapIn(root, staging, marker, { ...hooks, logger });
  logger.warn('recovery: finished a compaction a crash interrupted', { dt: marker.dt });
  return 'finished';
}

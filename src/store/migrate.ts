// Upgrade in place of a store written before 0.3, whose files sit one folder deeper
// (<table>/dt=D/run=<id>/[provider=P/]part-0.parquet) with the run id in the path only. A
// Hive-partitioned glob refuses a table whose files sit at two depths, so a table cannot be
// converted day by day in place: every day is rewritten into this layout (one compacted file per
// table, day and provider, `run` a column) under _staging/migrate/, then each table folder is
// swapped with the live one in one step (exchange.ts). Readers see the old table or the new one.
// Resumable: each finished day is recorded under _staging/migrate/_done/, and a run that a crash
// stopped carries on from the next day; a crash during the swaps is finished by the next start.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/log.js';
import { keepStrayFiles, spillFolder, writeCompacted, type FenceHooks } from './compaction.js';
import { fsync, fsyncTree, readMarker, removeTree, writeMarker } from './durable.js';
import { exchangeFolders } from './exchange.js';
import { MIGRATION_DIR, READY_MARKER, STAGING_DIR, TABLES, dayPartition, dtFolders, hasProviderPartition, type Table } from './layout.js';
import { ParquetRowSource } from './row-source.js';

const DONE_DIR = '_done';

interface MigrationMarker {
  tables: Array<{ table: Table }>;
}

export interface MigrationResult {
  days: number;
  filesBefore: number;
  filesAfter: number;
  rows: number;
}

/** Whether a table folder has a day in the layout before 0.3 (a run= folder below dt=). */
function tableHasLegacyDay(dir: string): boolean {
  if (!existsSync(dir)) return false;
  return dtFolders(readdirSync(dir)).some((dt) => readdirSync(path.join(dir, `dt=${dt}`)).some((n) => n.startsWith('run=')));
}

/** Whether any table still has a day in the layout before 0.3. */
export function hasLegacyLayout(root: string): boolean {
  return TABLES.some((table) => tableHasLegacyDay(path.join(root, table)));
}

/** Migrates (or finishes migrating) a store written before 0.3; null when there is nothing to do. */
export async function migrateLegacyStore(root: string, logger: Logger, hooks: FenceHooks = {}): Promise<MigrationResult | null> {
  const staging = path.join(root, STAGING_DIR, MIGRATION_DIR);
  const marked = await readMarker<MigrationMarker>(path.join(staging, READY_MARKER), (m) => Array.isArray(m.tables));
  if (!marked && !hasLegacyLayout(root)) {
    if (existsSync(staging)) {
      await rm(staging, { recursive: true, force: true });
      logger.warn('migration: removed a leftover migration folder (the store has no day in the old layout)');
    }
    return null;
  }
  const result: MigrationResult = { days: 0, filesBefore: 0, filesAfter: 0, rows: 0 };
  const started = performance.now();
  let marker = marked;
  if (!marker) {
    const days = [...new Set(TABLES.flatMap((t) => (existsSync(path.join(root, t)) ? dtFolders(readdirSync(path.join(root, t))) : [])))].sort();
    const done = path.join(staging, DONE_DIR);
    await mkdir(done, { recursive: true });
    const resumed = readdirSync(done).length;
    logger.warn(`migration: this store was written by a version before 0.3; rewriting its ${days.length} days into the compacted layout${resumed > 0 ? ` (resuming: ${resumed} done)` : ''}; no poll runs until it is done`, { root });
    for (const [i, dt] of days.entries()) {
      if (existsSync(path.join(done, dt))) continue;
      const source = await ParquetRowSource.open(spillFolder(root)); // one per day: see compaction.ts
      try {
        const day = await migrateDay(root, staging, source, dt, logger);
        result.days++;
        result.filesBefore += day.filesBefore;
        result.filesAfter += day.filesAfter;
        result.rows += day.rows;
        await writeFile(path.join(done, dt), '');
        hooks.afterStep?.('day-staged');
      } finally {
        source.close();
      }
      if ((i + 1) % 30 === 0) logger.info(`migration: ${i + 1} of ${days.length} days rewritten`);
    }
    marker = { tables: [] };
    for (const table of TABLES) {
      const staged = path.join(staging, table);
      if (!existsSync(staged)) continue;
      await fsyncTree(staged);
      marker.tables.push({ table });
    }
    await writeMarker(path.join(staging, READY_MARKER), marker);
  }
  for (const { table } of marker.tables) {
    const live = path.join(root, table);
    const staged = path.join(staging, table);
    // Swapped before a crash: the live table has no old day left (decided by names, which a copied or restored store keeps; not inodes).
    if (!tableHasLegacyDay(live) || !existsSync(staged)) continue;
    hooks.beforeVisible?.();
    if (existsSync(live)) await exchangeFolders(live, staged, (why) => logger.warn(`migration: swapping ${table} with two renames (${why})`));
    else await rename(staged, live);
    await fsync(root);
    hooks.afterStep?.(`exchanged:${table}`);
  }
  removeTree(staging); // the old tables: every file the store had
  logger.warn('migration: the store now has the compacted layout (run is a column; one file per table, day and provider)', { ...result, seconds: Math.round((performance.now() - started) / 1000) });
  return result;
}

/** Rewrites one day of every table into the staging tree; a day left half-written by a crash is redone. */
async function migrateDay(root: string, staging: string, source: ParquetRowSource, dt: string, logger: Logger): Promise<MigrationResult> {
  const result: MigrationResult = { days: 1, filesBefore: 0, filesAfter: 0, rows: 0 };
  for (const table of TABLES) {
    const live = path.join(root, dayPartition(table, dt));
    if (!existsSync(live)) continue;
    const stagedDay = path.join(staging, dayPartition(table, dt));
    await rm(stagedDay, { recursive: true, force: true });
    await mkdir(stagedDay, { recursive: true });
    for (const [sub, files] of groupByProvider(table, live)) {
      const to = path.join(stagedDay, sub);
      await mkdir(to, { recursive: true });
      result.filesBefore += files.length;
      if (files.length === 0) continue;
      result.rows += await writeCompacted(source, table, files, to);
      result.filesAfter++;
    }
    await keepStrayFiles(live, stagedDay, logger, (relative) => relative.startsWith('run=')); // not inside the old run= folders
  }
  return result;
}

/** A day's .parquet files (any depth) by provider folder ('' for runs), each list sorted by path (run order). */
function groupByProvider(table: Table, day: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const entry of readdirSync(day, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.parquet')) continue;
    const file = path.join(entry.parentPath, entry.name);
    const sub = hasProviderPartition(table) ? (/(?:^|[/\\])(provider=[^/\\]+)[/\\]/.exec(path.relative(day, file))?.[1] ?? null) : '';
    if (sub === null) continue; // not in a provider folder: no reader's glob sees it as this table's
    groups.set(sub, [...(groups.get(sub) ?? []), file]);
  }
  for (const files of groups.values()) files.sort();
  return groups;
}

// Which data files a day holds, and which days lack their price_changes: decided from folder and
// file names alone. Apart from compaction.ts so that a reader (`report`) can ask without loading
// the Parquet writer, and a writer can decide whether any rewrite (and DuckDB) is needed at all.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { COMPACTED_PREFIX, dayPartition, dtFolders, hasProviderPartition, runIdOfFile, type CompactedTable } from './layout.js';

/** A folder of data files: a table's day (runs) or a provider's day (movies, rejects). */
export interface DataFolder {
  /** Relative to the table's day folder: '' or 'provider=<name>'. */
  sub: string;
  files: string[];
}

/** The data folders of a table's day, with their .parquet files sorted by name (run id order). */
export function dayFolders(root: string, table: CompactedTable, dt: string): DataFolder[] {
  const day = path.join(root, dayPartition(table, dt));
  if (!existsSync(day)) return [];
  const parquetIn = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.parquet')).sort();
  if (!hasProviderPartition(table)) return [{ sub: '', files: parquetIn(day) }];
  return readdirSync(day, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith('provider='))
    .map((e) => ({ sub: e.name, files: parquetIn(path.join(day, e.name)) }));
}

/**
 * Days whose price_changes do not cover every committed poll (decided by file names): days written
 * before the table existed, or polls a version without it wrote since. A poll's own runs file needs
 * its own price_changes file (one per provider, zero rows allowed) or a rebuilt day file named
 * after a run at least as late; a compacted runs file needs a rebuilt file at least as late.
 * `fromDt`: only days from then on (a report's window: its cost must not follow the store's age).
 */
export function daysMissingChanges(root: string, fromDt = ''): string[] {
  const dir = path.join(root, 'runs');
  if (!existsSync(dir)) return [];
  return dtFolders(readdirSync(dir)).filter((dt) => dt >= fromDt).filter((dt) => {
    // Polls in the layout before 0.3 (run= folders) never have change points of their own.
    if (readdirSync(path.join(dir, `dt=${dt}`)).some((n) => n.startsWith('run='))) return true;
    const runs = dayFolders(root, 'runs', dt)[0]?.files ?? [];
    const changes = dayFolders(root, 'price_changes', dt).flatMap((f) => f.files);
    const own = new Set(changes.filter((n) => !n.startsWith(COMPACTED_PREFIX)).map((n) => runIdOfFile(n)));
    const rebuilt = changes.filter((n) => n.startsWith(COMPACTED_PREFIX)).map((n) => runIdOfFile(n) ?? '').sort().at(-1) ?? '';
    return runs.some((n) => {
      const run = runIdOfFile(n);
      if (run === null) return false;
      return n.startsWith(COMPACTED_PREFIX) ? rebuilt < run : !own.has(run) && rebuilt < run;
    });
  });
}

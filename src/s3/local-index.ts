// The local store's committed files as the S3 sink ships them, by day, kept between passes so that
// a pass lists only where something may have changed: each table's folder (one listing each, which
// tells days that appeared or went), today's and yesterday's days (where polls land), the days a
// caller names (a compaction's, the idle check's), and nothing else. A year-old store costs a pass
// what a day-old one does.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { COMPACTED_PREFIX, TABLES, dtFolders, dtOf, hasProviderPartition, runIdOfFile, type Table } from '../store/layout.js';

export interface LocalFile {
  /** Relative to the store root, with '/' separators: the object key below the prefix. */
  rel: string;
  table: Table;
  dt: string;
  /** Relative folder of the file (table/dt=/provider=). */
  folder: string;
  name: string;
  run: string;
  compacted: boolean;
  size: number;
  mtimeMs: number;
  ino: number;
}

const TABLE_ORDER: Record<Table, number> = { movies: 0, rejects: 1, price_changes: 2, schema_changes: 3, runs: 4 };

/** In a day: compacted files first, then polls in run order; a poll's data before its runs file. */
function shippingOrder(a: LocalFile, b: LocalFile): number {
  if (a.compacted !== b.compacted) return a.compacted ? -1 : 1;
  if (a.run !== b.run) return a.run < b.run ? -1 : 1;
  return TABLE_ORDER[a.table] - TABLE_ORDER[b.table] || (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0);
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export function statOf(file: string): { size: number; mtimeMs: number; ino: number } | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}

/**
 * One day's committed data files, in shipping order. A poll's own file counts once its runs file
 * exists (the poll is committed; both are in the poll's day), or once the day's compacted runs file
 * holds its run: compaction keeps a folder's only file under its poll name (a provider polled once
 * that day) while the runs file joins the compacted one, and such a file must still be shipped. A
 * compacted runs file holds every run up to the one its name carries: commits land in today's day,
 * and in older days only by recovery before anything else runs. Compacted files always count.
 */
export function listDay(root: string, dt: string): LocalFile[] {
  const files: LocalFile[] = [];
  for (const table of TABLES) {
    const day = `${table}/dt=${dt}`;
    const folders = hasProviderPartition(table) ? safeList(path.join(root, day)).filter((n) => n.startsWith('provider=')).map((n) => `${day}/${n}`) : [day];
    for (const folder of folders) {
      for (const name of safeList(path.join(root, folder))) {
        const run = runIdOfFile(name);
        if (run === null) continue;
        const stat = statOf(path.join(root, folder, name));
        if (stat === null) continue; // gone since the listing (compaction, retention)
        files.push({ rel: `${folder}/${name}`, table, dt, folder, name, run, compacted: name.startsWith(COMPACTED_PREFIX), size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino });
      }
    }
  }
  const committedRuns = new Set(files.filter((f) => f.table === 'runs' && !f.compacted).map((f) => f.run));
  const compactedUpTo = files.filter((f) => f.table === 'runs' && f.compacted).map((f) => f.run).sort().at(-1) ?? '';
  return files.filter((f) => f.compacted || committedRuns.has(f.run) || f.run <= compactedUpTo).sort(shippingOrder);
}

const sameFiles = (a: LocalFile[] | undefined, b: LocalFile[]): boolean =>
  a !== undefined && a.length === b.length && a.every((f, i) => f.rel === b[i]?.rel && f.size === b[i]?.size && f.mtimeMs === b[i]?.mtimeMs && f.ino === b[i]?.ino);

export class LocalIndex {
  private readonly byDay = new Map<string, LocalFile[]>();
  private readonly tableDays = new Map<Table, Set<string>>();

  constructor(readonly root: string) {}

  /**
   * Lists each table's folder, then lists again the days that appeared in or left a table, the
   * `dirty` ones, and today's and yesterday's (UTC). Returns the days whose files changed.
   */
  refresh(dirty: Iterable<string> = [], now = new Date()): Set<string> {
    const relist = new Set<string>([...dirty, dtOf(now), dtOf(new Date(now.getTime() - 86_400_000))]);
    const present = new Set<string>();
    for (const table of TABLES) {
      const dir = path.join(this.root, table);
      const days = new Set(existsSync(dir) ? dtFolders(safeList(dir)) : []);
      const before = this.tableDays.get(table);
      for (const d of days) {
        present.add(d);
        if (before === undefined || !before.has(d)) relist.add(d);
      }
      for (const d of before ?? []) if (!days.has(d)) relist.add(d);
      this.tableDays.set(table, days);
    }
    const changed = new Set<string>();
    for (const d of relist) {
      const files = present.has(d) ? listDay(this.root, d) : [];
      if (files.length === 0) {
        if (this.byDay.delete(d)) changed.add(d);
      } else if (!sameFiles(this.byDay.get(d), files)) {
        this.byDay.set(d, files);
        changed.add(d);
      }
    }
    return changed;
  }

  /** The days with committed files, oldest first. */
  days(): string[] {
    return [...this.byDay.keys()].sort();
  }

  dayFiles(dt: string): LocalFile[] {
    return this.byDay.get(dt) ?? [];
  }

  /** Every committed file, days oldest first, each day in shipping order. */
  all(): LocalFile[] {
    return this.days().flatMap((d) => this.dayFiles(d));
  }
}

/** The committed data files of the whole store, in shipping order (one full listing: tests, tools). */
export function committedFiles(root: string): LocalFile[] {
  const index = new LocalIndex(root);
  index.refresh();
  return index.all();
}

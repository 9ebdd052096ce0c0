// Which files a report reads, chosen from folder and file names alone, before DuckDB opens any:
// the answers' cost follows the window asked for, not the store's age. Reads both layouts (this
// one, and a store written before 0.3 that no writer has migrated yet).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { dtFolders, hasProviderPartition, type Table } from '../store/layout.js';

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

export class StoreScope {
  private readonly dayCache = new Map<Table, string[]>();
  private providerCache: string[] | null = null;

  constructor(private readonly root: string) {}

  /** A table's dt values, oldest first. */
  days(table: Table): string[] {
    let days = this.dayCache.get(table);
    if (!days) {
      const dir = path.join(this.root, table);
      days = existsSync(dir) ? dtFolders(readdirSync(dir)) : [];
      this.dayCache.set(table, days);
    }
    return days;
  }

  /** The data files of one table's day, at the layout's exact depth (never anything under _staging). */
  files(table: Table, dt: string): string[] {
    const day = path.join(this.root, table, `dt=${dt}`);
    const out: string[] = [];
    const collect = (dir: string, depth: number) => {
      for (const entry of safeList(dir)) {
        const full = path.join(dir, entry.name);
        if (depth > 0) {
          if (entry.isDirectory() && /^(run|provider)=/.test(entry.name)) collect(full, depth - 1);
        } else if (entry.isFile() && entry.name.endsWith('.parquet')) {
          out.push(full);
        }
      }
    };
    // Folders below dt: provider= (movies, rejects), plus run= in a store written before 0.3.
    const legacy = safeList(day).some((e) => e.isDirectory() && e.name.startsWith('run='));
    collect(day, (hasProviderPartition(table) ? 1 : 0) + (legacy ? 1 : 0));
    return out.sort();
  }

  /** read_parquet over a table's days from `fromDt` on, plus `extraDays`; null when they hold no file. */
  read(table: Table, fromDt: string, extraDays: string[] = []): string | null {
    const days = new Set([...this.days(table).filter((d) => d >= fromDt), ...extraDays.filter((d) => this.days(table).includes(d))]);
    const files = [...days].sort().flatMap((d) => this.files(table, d));
    if (files.length === 0) return null;
    return `read_parquet([${files.map(quote).join(', ')}], hive_partitioning = true, union_by_name = true)`;
  }

  /** Every provider with a folder in movies, on any day (names only: no file is opened). */
  providers(): string[] {
    if (this.providerCache) return this.providerCache;
    const names = new Set<string>();
    const walk = (dir: string, depth: number) => {
      for (const entry of safeList(dir)) {
        if (!entry.isDirectory()) continue;
        if (entry.name.startsWith('provider=')) names.add(entry.name.slice('provider='.length));
        else if (depth > 0 && entry.name.startsWith('run=')) walk(path.join(dir, entry.name), depth - 1);
      }
    };
    for (const dt of this.days('movies')) walk(path.join(this.root, 'movies', `dt=${dt}`), 1);
    this.providerCache = [...names].sort();
    return this.providerCache;
  }

  /**
   * An earlier start for runs that doubles the days read so far (from `from`, at least the window
   * from `windowStart`), or null when every day is read already.
   */
  widen(from: string, windowStart: string): string | null {
    const days = this.days('runs');
    const oldest = days[0];
    if (oldest === undefined || from <= oldest) return null;
    const firstIncluded = days.findIndex((d) => d >= from);
    const included = firstIncluded === -1 ? 0 : days.length - firstIncluded;
    const windowDays = days.filter((d) => d >= windowStart).length;
    const step = Math.max(included, windowDays, 1);
    const index = (firstIncluded === -1 ? days.length : firstIncluded) - step;
    return days[Math.max(0, index)] ?? null;
  }
}

function safeList(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

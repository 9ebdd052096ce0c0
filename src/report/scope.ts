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

  /**
   * The data files of one table's day, at the layout's exact depths (never anything under
   * _staging): <provider=P/>file, and run=<id>/<provider=P/>part-0.parquet of a store written
   * before 0.3 (a day can hold both when a 0.2 collector ran again on an upgraded store).
   */
  files(table: Table, dt: string): string[] {
    const day = path.join(this.root, table, `dt=${dt}`);
    const parquetIn = (dir: string) => safeList(dir).filter((e) => e.isFile() && e.name.endsWith('.parquet')).map((e) => path.join(dir, e.name));
    const belowProvider = (dir: string) => (hasProviderPartition(table)
      ? safeList(dir).filter((e) => e.isDirectory() && e.name.startsWith('provider=')).flatMap((e) => parquetIn(path.join(dir, e.name)))
      : parquetIn(dir));
    const legacy = safeList(day).filter((e) => e.isDirectory() && e.name.startsWith('run=')).flatMap((e) => belowProvider(path.join(day, e.name)));
    return [...belowProvider(day), ...legacy].sort();
  }

  /** read_parquet over a table's days from `fromDt` on, plus `extraDays`; null when they hold no file. */
  read(table: Table, fromDt: string, extraDays: string[] = []): string | null {
    return this.readDays(table, [...this.days(table).filter((d) => d >= fromDt), ...extraDays]);
  }

  /** read_parquet over those of `wanted` days the table has; null when they hold no file. */
  readDays(table: Table, wanted: string[]): string | null {
    const days = new Set(wanted.filter((d) => this.days(table).includes(d)));
    const files = [...days].sort().flatMap((d) => this.files(table, d));
    if (files.length === 0) return null;
    // One read per layout: a Hive-partitioned read refuses files at two depths.
    const legacy = files.filter((f) => /[/\\]run=[^/\\]+[/\\]/.test(f));
    const reads = [legacy, files.filter((f) => !legacy.includes(f))]
      .filter((group) => group.length > 0)
      .map((group) => `read_parquet([${group.map(quote).join(', ')}], hive_partitioning = true, union_by_name = true)`);
    return reads.length === 1 ? (reads[0] ?? null) : `(SELECT * FROM ${reads.join(' UNION ALL BY NAME SELECT * FROM ')})`;
  }

  /**
   * The providers the store's newest movies day has a folder of (names only: no file is opened).
   * Every poll writes a movies file per provider (none when it got nothing), so that day names the
   * providers polled now, at the cost of one listing whatever the store's age; a provider no longer
   * polled is not waited for in older days.
   */
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
    const newest = this.days('movies').at(-1);
    if (newest !== undefined) walk(path.join(this.root, 'movies', `dt=${newest}`), 1);
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

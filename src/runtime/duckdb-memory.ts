// DuckDB's memory bound and spill folder, for every process that runs it (the report process,
// compaction and the upgrade, the alerts). Without a bound DuckDB takes 80% of the host's memory,
// and in a container the kernel kills the process long before: a big window must spill to disk or
// fail with one line, never be SIGKILLed. The bound follows the container's cgroup limit.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from './errors.js';

const MB = 1024 * 1024;

/**
 * The memory limit of this process's cgroup in bytes (v2 memory.max or v1 memory.limit_in_bytes),
 * or null when there is none. In a container the cgroup's files are at the root of
 * /sys/fs/cgroup; elsewhere (a systemd unit's MemoryMax, a cgroup made by hand) at the path
 * /proc/self/cgroup names, which is read first.
 */
export function cgroupMemoryLimit(read: (file: string) => string = (f) => readFileSync(f, 'utf8')): number | null {
  const own: string[] = [];
  try {
    for (const line of read('/proc/self/cgroup').split('\n')) {
      const [, controllers, where] = /^\d+:([^:]*):(.+)$/.exec(line.trim()) ?? [];
      if (where === undefined || where === '/') continue;
      if (controllers === '') own.push(path.posix.join('/sys/fs/cgroup', where, 'memory.max'));
      else if (controllers?.split(',').includes('memory')) own.push(path.posix.join('/sys/fs/cgroup/memory', where, 'memory.limit_in_bytes'));
    }
  } catch {
    // no /proc: only the root files
  }
  for (const file of [...own, '/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    let text: string;
    try {
      text = read(file).trim();
    } catch {
      continue;
    }
    const bytes = Number(text);
    // "max" (v2) or a huge number (v1: no limit) mean unbounded.
    if (Number.isFinite(bytes) && bytes > 0 && bytes < 2 ** 50) return bytes;
  }
  return null;
}

/** What one DuckDB may use: a quarter of the container's limit, from 64 to 256 MB (256 MB without a limit). */
export function duckdbMemoryBytes(limit: number | null = cgroupMemoryLimit()): number {
  if (limit === null) return 256 * MB;
  return Math.max(64 * MB, Math.min(256 * MB, Math.floor(limit / 4)));
}

/** store.duckdbMemoryMB, for every DuckDB this process opens (0: derived, see duckdbMemoryBytes). */
let configuredMB = 0;
export function setDuckdbMemoryMB(mb: number): void {
  configuredMB = mb;
}

/**
 * DuckDB's options: the memory bound, and `spill` as its temp_directory (null: DuckDB's default).
 * Its cache of the files it read (on by default since 1.3) is off: the store's files are read once
 * per answer, and the cache filled the bound with blocks never read again (a compaction's RSS grew
 * to it).
 */
export function duckdbMemory(spill: string | null): { memory_limit: string; temp_directory?: string; enable_external_file_cache: string } {
  const mb = configuredMB > 0 ? configuredMB : Math.floor(duckdbMemoryBytes() / MB);
  const options: { memory_limit: string; temp_directory?: string; enable_external_file_cache: string } = { memory_limit: `${mb}MB`, enable_external_file_cache: 'false' };
  if (spill !== null) options.temp_directory = spill;
  return options;
}

/**
 * A spill folder of this process's own: under the store's _staging when a writer made it and this
 * user may write there, else under the OS's temp folder. A reader never makes _staging itself: a
 * `report` run as root would leave a folder the daemon's user could not write.
 */
export function spillFolderFor(stagingDir: string): string {
  const own = path.join(stagingDir, `${SPILL_PREFIX}${process.pid}`);
  try {
    if (!existsSync(stagingDir)) throw new Error('no _staging');
    mkdirSync(own, { recursive: true });
    return own;
  } catch {
    const fallback = path.join(os.tmpdir(), `movies-collector-${SPILL_PREFIX}${process.pid}`);
    mkdirSync(fallback, { recursive: true });
    return fallback;
  }
}

/** Removes a spill folder once its DuckDB is closed. */
export function removeSpillFolder(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Names of spill folders under _staging: recovery leaves those of live processes alone. */
export const SPILL_PREFIX = 'spill-';

/**
 * DuckDB's out-of-memory error (several lines of generic advice) as the one line a user acts on:
 * what ran out, the bound, and the two ways out. Other errors are returned as they are.
 */
export function explainDuckdbError(err: unknown, what: string): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (!/Out of Memory Error/i.test(message)) return err;
  const bound = configuredMB > 0 ? `${configuredMB} MB, store.duckdbMemoryMB` : `${Math.floor(duckdbMemoryBytes() / MB)} MB, a quarter of the container's memory limit`;
  return new UserError(`${what} needs more memory than DuckDB's bound (${bound}) and what it could spill: raise store.duckdbMemoryMB (DUCKDB_MEMORY_MB) or the container's memory limit, or ask for a shorter window (--since)`);
}

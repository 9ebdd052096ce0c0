// The output committer (in the spirit of Spark's): every file of a poll is written under
// _staging/<run_id>/ and fsynced; a _READY marker makes the run committable; then each file is
// renamed into place (atomic on one filesystem), table by table, `runs` last.
// A poll is committed once its runs rows exist. Recovery rolls a _READY run forward and
// discards anything else a crash left in _staging.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../runtime/errors.js';
import type { Logger } from '../log/log.js';
import { fsync, writeMarker } from './durable.js';
import { isAlive, processStartTime } from '../runtime/process-identity.js';
import { SPILL_PREFIX } from '../runtime/duckdb-memory.js';
import { ParquetFileWriter, writeParquetFile, type ParquetSchema } from './parquet/index.js';
import { COMPACT_STAGING_PREFIX, recoverCompaction } from './compaction.js';
import { MIGRATION_DIR, OWNER_FILE, READY_MARKER, RUN_ID, STAGING_DIR, TABLES, fileFolder, pollFile, type Table } from './layout.js';

export interface TableFile {
  table: Table;
  /** The provider partition (movies, rejects); none for runs. */
  provider?: string;
  schema: ParquetSchema;
  /** Consumed once, as the file is written: a lazy iterable keeps a large poll's rows out of memory. */
  rows: Iterable<Record<string, unknown>>;
}

export type CommitStep = 'file-written' | 'staged' | `renamed:${Table}`;

export interface CommitHooks {
  /** Called after each step; tests use it to kill the process at a chosen point. */
  afterStep?: (step: CommitStep) => void;
  /**
   * The store lock's fence: called right before each rename that makes something visible; throws
   * (and so stops the commit, leaving the rest staged) once this process no longer holds the lock.
   */
  beforeVisible?: () => void;
}

interface ReadyMarker {
  runId: string;
  dt: string;
  tables: Table[];
}

export interface CommitResult {
  tables: Table[];
  /** Time to finish and fsync every staged file at commit (rows streamed in while the poll ran are not in it). */
  writeMs: number;
}

/** Writes every file of a poll whole, then commits it (see StagedRun for a poll whose files fill while it runs). */
export async function commitRun(root: string, runId: string, dt: string, files: TableFile[], hooks: CommitHooks = {}): Promise<CommitResult> {
  const run = await StagedRun.create(root, runId, dt, hooks);
  return run.commit(files);
}

/**
 * A poll's staging folder, made when the poll starts: its movies and rejects files are opened at
 * once and filled as answers arrive, so records never pile up in memory. `commit` closes them,
 * writes the last files (runs), then marks and renames as commitRun always did; `discard` (an
 * aborted poll) and any failure remove the folder. The _OWNER file, written first, tells a
 * recovery run beside this one that the staging is alive.
 */
export class StagedRun {
  private readonly opened: Array<{ table: Table; writer: ParquetFileWriter; file: string; schema: ParquetSchema }> = [];

  private constructor(
    readonly root: string,
    readonly runId: string,
    readonly dt: string,
    private readonly staging: string,
    private readonly hooks: CommitHooks,
  ) {}

  static async create(root: string, runId: string, dt: string, hooks: CommitHooks = {}): Promise<StagedRun> {
    const staging = path.join(root, STAGING_DIR, runId);
    try {
      await mkdir(staging, { recursive: true });
      await writeFile(path.join(staging, OWNER_FILE), JSON.stringify(thisProcess()));
    } catch (err) {
      await rm(staging, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
    return new StagedRun(root, runId, dt, staging, hooks);
  }

  /** Opens a table's file in staging, to append rows to while the poll runs; `commit` closes it. */
  async openFile(table: Table, provider: string | undefined, schema: ParquetSchema): Promise<ParquetFileWriter> {
    const file = path.join(await this.partition(table, provider), `${this.runId}.parquet`);
    const writer = await ParquetFileWriter.open(file, schema, { constants: { run: this.runId } });
    this.opened.push({ table, writer, file, schema });
    return writer;
  }

  /** Drops what an open file holds and opens it again empty (a provider whose poll failed after answers arrived). */
  async reopenFile(writer: ParquetFileWriter): Promise<ParquetFileWriter> {
    const entry = this.opened.find((o) => o.writer === writer);
    if (!entry) throw new Error('reopenFile: not a file of this staged run');
    await writer.discard();
    entry.writer = await ParquetFileWriter.open(entry.file, entry.schema, { constants: { run: this.runId } });
    return entry.writer;
  }

  /** Closes the open files, writes `files` whole, marks the run ready, and renames it into place, runs last. */
  async commit(files: TableFile[] = []): Promise<CommitResult> {
    const started = performance.now();
    const tables = TABLES.filter((t) => this.opened.some((o) => o.table === t) || files.some((f) => f.table === t));
    try {
      for (const { writer } of this.opened) {
        await writer.close();
        this.hooks.afterStep?.('file-written');
      }
      for (const file of files) {
        await writeParquetFile(path.join(await this.partition(file.table, file.provider), `${this.runId}.parquet`), file.schema, file.rows, { run: this.runId });
        this.hooks.afterStep?.('file-written');
      }
      // The marker appears whole or not at all (written aside, then renamed): recovery rolls forward
      // any run that has one, so a half-written marker would stop every later start.
      const marker: ReadyMarker = { runId: this.runId, dt: this.dt, tables };
      await writeMarker(path.join(this.staging, READY_MARKER), marker);
    } catch (err) {
      await this.discard();
      throw err;
    }
    const writeMs = performance.now() - started;
    this.hooks.afterStep?.('staged');
    const duplicates = await rollForward(this.root, this.staging, { runId: this.runId, dt: this.dt, tables }, this.hooks);
    // The poll picked an id no table had (runIdTaken), under the store lock: this means a second writer.
    if (duplicates.length > 0) throw new Error(`run ${this.runId} was committed by another writer while this poll ran (${duplicates.join(', ')}); this copy was discarded`);
    return { tables, writeMs };
  }

  /** Stops the open files and removes the staging folder: nothing of this poll is committed. */
  async discard(): Promise<void> {
    for (const { writer } of this.opened) await writer.discard().catch(() => undefined);
    await rm(this.staging, { recursive: true, force: true }).catch(() => undefined);
  }

  private async partition(table: Table, provider: string | undefined): Promise<string> {
    const dir = path.join(this.staging, fileFolder(table, this.dt, provider));
    await mkdir(dir, { recursive: true });
    return dir;
  }
}

/**
 * Renames what is still staged into place, table by table, runs last, then removes the staging
 * folder. Every file under a staged table folder goes to the same path under the store: this
 * version's files and the run= folders of a poll staged by a version before 0.3 alike (the
 * migration then rewrites those). Returns the tables one of whose files was in the store already
 * (a run id committed before, by an older version whose ids could collide): their staged copy is
 * discarded, so one such run never blocks later polls.
 */
async function rollForward(root: string, staging: string, marker: ReadyMarker, hooks: CommitHooks): Promise<Table[]> {
  const duplicates: Table[] = [];
  for (const table of TABLES.filter((t) => marker.tables.includes(t))) {
    for (const relative of stagedFiles(staging, table)) {
      const to = path.join(root, relative);
      if (existsSync(to)) {
        if (!duplicates.includes(table)) duplicates.push(table);
        continue;
      }
      await mkdir(path.dirname(to), { recursive: true });
      hooks.beforeVisible?.();
      await rename(path.join(staging, relative), to);
      await fsync(path.dirname(to));
    }
    hooks.afterStep?.(`renamed:${table}`);
  }
  await rm(staging, { recursive: true, force: true });
  await fsync(path.dirname(staging));
  return duplicates;
}

/** Paths (relative to the staging folder) of the files still staged under a table, sorted. */
function stagedFiles(staging: string, table: Table): string[] {
  const dir = path.join(staging, table);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(staging, path.join(e.parentPath, e.name)))
    .sort();
}

/** Whether any table (or the staging area) has a run of this id: a new poll must pick another. */
export function runIdTaken(root: string, dt: string, runId: string): boolean {
  return existsSync(path.join(root, STAGING_DIR, runId)) || existsSync(path.join(root, pollFile('runs', dt, runId)));
}

export interface Recovery {
  /** Runs whose commit a crash interrupted after _READY: now committed. */
  finished: string[];
  /** Unfinished staging folders (and stray files): removed. */
  discarded: string[];
}

/** Finishes or discards what a crash left in _staging (polls and compactions; a migration resumes by itself); logs each action. */
export async function recoverStaging(root: string, logger: Logger, hooks: Pick<CommitHooks, 'beforeVisible'> = {}): Promise<Recovery> {
  const stagingRoot = path.join(root, STAGING_DIR);
  const result: Recovery = { finished: [], discarded: [] };
  if (!existsSync(stagingRoot)) return result;
  for (const entry of await readdir(stagingRoot, { withFileTypes: true })) {
    const staging = path.join(stagingRoot, entry.name);
    if (entry.isDirectory() && entry.name === MIGRATION_DIR) continue; // resumed by the migration itself
    if (entry.name.startsWith(SPILL_PREFIX)) {
      // A DuckDB's spill folder (a report beside the polls): removed only once its process is gone.
      const pid = Number(entry.name.slice(SPILL_PREFIX.length));
      if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) await rm(staging, { recursive: true, force: true });
      continue;
    }
    const owner = entry.isDirectory() ? await liveOwner(staging) : null;
    if (owner) {
      // Another collector on this host is committing it right now (`poll` run beside the daemon).
      logger.info('recovery: left a staged poll alone: its collector is still running', { run: entry.name, pid: owner.pid });
      continue;
    }
    if (entry.isDirectory() && entry.name.startsWith(COMPACT_STAGING_PREFIX)) {
      try {
        result[(await recoverCompaction(root, staging, logger, hooks)) === 'finished' ? 'finished' : 'discarded'].push(entry.name);
      } catch (err) {
        // Side work: a day that cannot be swapped (a folder this user cannot write) must not stop
        // polls. Each table of the day reads whole either way; the next compaction tries again.
        if (err instanceof Error && err.name === 'LockLostError') throw err;
        logger.error(`recovery: could not finish a compaction (${errorMessage(err)}); the day stays readable as it is and is compacted again later`, { entry: entry.name });
      }
      continue;
    }
    const markerFile = path.join(staging, READY_MARKER);
    const marker = entry.isDirectory() && RUN_ID.test(entry.name) && existsSync(markerFile) ? await readMarker(markerFile, logger) : null;
    if (marker) {
      const duplicates = await rollForward(root, staging, marker, hooks);
      result.finished.push(entry.name);
      logger.warn('recovery: finished committing a poll a crash interrupted after staging', { run: entry.name, tables: marker.tables });
      if (duplicates.length > 0) {
        logger.warn('recovery: the store already had this run id; discarded the staged copy of those tables', { run: entry.name, tables: duplicates });
      }
    } else {
      await rm(staging, { recursive: true, force: true });
      result.discarded.push(entry.name);
      logger.warn('recovery: discarded what a crash left in staging (an unfinished poll was never committed)', { entry: entry.name });
    }
  }
  return result;
}

/**
 * The marker of a finished staging, or null when it does not parse. Markers are renamed into place
 * whole; a torn one (written by versions before that) means the crash came before any rename, so
 * the run is discarded like any unfinished staging.
 */
async function readMarker(file: string, logger: Logger): Promise<ReadyMarker | null> {
  try {
    const marker = JSON.parse(await readFile(file, 'utf8')) as Partial<ReadyMarker>;
    if (typeof marker.runId === 'string' && typeof marker.dt === 'string' && Array.isArray(marker.tables)) return marker as ReadyMarker;
  } catch {
    // falls through
  }
  logger.warn('recovery: a staged poll has an unreadable _READY marker; treating it as unfinished', { marker: file });
  return null;
}

interface Owner {
  pid: number;
  host: string;
  /** The process's start time from /proc (Linux), so a pid reused by another process is not taken for it. */
  started: string | null;
}

const thisProcess = (): Owner => ({ pid: process.pid, host: os.hostname(), started: processStartTime(process.pid) });

/**
 * The other live process on this host that is committing `staging`, if any. A crashed collector's
 * staging is recovered; a running one's must not be touched (discarding files under a commit in
 * progress would let it commit a poll with files missing). Another host (a second container on the
 * same volume) cannot be checked: its staging is treated as a crash's, so run one collector per store.
 */
async function liveOwner(staging: string): Promise<Owner | null> {
  let owner: Partial<Owner>;
  try {
    owner = JSON.parse(await readFile(path.join(staging, OWNER_FILE), 'utf8')) as Partial<Owner>;
  } catch {
    return null; // none (a crash before it was written) or torn: nobody to wait for
  }
  if (typeof owner.pid !== 'number' || owner.host !== os.hostname() || owner.pid === process.pid) return null;
  if (owner.started) return processStartTime(owner.pid) === owner.started ? (owner as Owner) : null;
  return isAlive(owner.pid) ? (owner as Owner) : null; // no /proc: only whether the pid exists
}

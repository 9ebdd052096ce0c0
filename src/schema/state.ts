// Each provider's established shape, kept in `<store>/_schema/shape.json` (a cache, written after
// each poll that commits schema_changes rows) and rebuilt from the store when lost: the
// schema_changes table holds every row ever committed, baseline included, and folding its rows
// gives the shape back. A poll committed after the cache was written (a crash between the commit
// and the write) is folded in at load from its own file. A provider with no baseline row left
// (a store from 0.3, or rows removed by retention) gets one from its newest movies' `raw` answers,
// written with the next poll; its list shape is established again by that poll.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import type { Logger } from '../log/log.js';
import type { SchemaChangeRecord, SchemaPolicy, ShapeSource } from '../records/types.js';
import { readMarkerOrSetAside, writeMarker } from '../store/durable.js';
import { dtFolders, dtOf, fileFolder, runIdOfFile, runIdStart } from '../store/layout.js';
import { jsonOrUndefined } from '../records/normalize.js';
import { absorb, ShapeTracker, type KnownShape } from './drift.js';
import { isObject } from './shape.js';

export const SCHEMA_DIR = '_schema';
const STATE_FILE = 'shape.json';
const TABLE = 'schema_changes';
/** Answers of the newest poll a lost baseline is rebuilt from. */
const REBUILD_ANSWERS = 2000;

type Stored = Record<string, Record<string, SchemaPolicy>>;
interface StateFile {
  version: 1;
  /** The newest run whose rows are folded in. */
  run: string;
  providers: Record<string, Record<ShapeSource, Stored>>;
}

/** The shapes of every provider, and rows to commit with the next poll (rebuilt baselines). */
export class ShapeBook {
  run = '';
  readonly shapes = new Map<string, Record<ShapeSource, KnownShape>>();
  /** Baseline rows rebuilt at load: committed with the next poll, so the table holds them again. */
  pending: SchemaChangeRecord[] = [];

  of(provider: string): Record<ShapeSource, KnownShape> {
    let shape = this.shapes.get(provider);
    if (!shape) {
      shape = { list: new Map(), detail: new Map() };
      this.shapes.set(provider, shape);
    }
    return shape;
  }

  fold(rows: Iterable<Pick<SchemaChangeRecord, 'provider' | 'source' | 'path' | 'new_type' | 'action'>>, run: string): void {
    for (const row of rows) {
      if (row.source !== 'list' && row.source !== 'detail') continue;
      absorb(this.of(row.provider)[row.source], row);
    }
    if (run > this.run) this.run = run;
  }

  private toJSON(): StateFile {
    const providers: StateFile['providers'] = {};
    for (const [provider, sources] of this.shapes) {
      const out = (shape: KnownShape): Stored => Object.fromEntries([...shape].map(([p, types]) => [p, Object.fromEntries(types)]));
      providers[provider] = { list: out(sources.list), detail: out(sources.detail) };
    }
    return { version: 1, run: this.run, providers };
  }

  async save(root: string): Promise<void> {
    await mkdir(path.join(root, SCHEMA_DIR), { recursive: true });
    await writeMarker(path.join(root, SCHEMA_DIR, STATE_FILE), this.toJSON());
  }

  static fromFile(file: StateFile): ShapeBook {
    const book = new ShapeBook();
    book.run = file.run;
    for (const [provider, sources] of Object.entries(file.providers)) {
      const shape = book.of(provider);
      for (const source of ['list', 'detail'] as const) {
        for (const [p, types] of Object.entries(sources[source] ?? {})) shape[source].set(p, new Map(Object.entries(types)));
      }
    }
    return book;
  }
}

const validState = (v: Partial<StateFile>): boolean => v.version === 1 && typeof v.run === 'string' && typeof v.providers === 'object' && v.providers !== null;

/** The shapes as the store established them: the cache, brought up to date, or rebuilt. */
export async function loadShapes(root: string, providers: readonly string[], logger: Logger): Promise<ShapeBook> {
  const file = await readMarkerOrSetAside<StateFile>(path.join(root, SCHEMA_DIR, STATE_FILE), validState, (movedTo, why) =>
    logger.warn(`schema: ${STATE_FILE} is unreadable (${why}); set aside as ${movedTo} and rebuilt from the schema_changes table`)).catch(() => null);
  const book = file ? ShapeBook.fromFile(file) : new ShapeBook();
  // Rows committed after the cache was written (all of them, without a cache).
  const since = book.run === '' ? '' : dtOf(runIdStart(book.run) ?? new Date(0));
  const baselined = new Set<string>();
  for (const { run, file: parquet } of tableFiles(root, since).filter((f) => f.run > book.run)) {
    const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(parquet), columns: ['provider', 'source', 'path', 'kind', 'new_type', 'action'] })) as Array<
      Pick<SchemaChangeRecord, 'provider' | 'source' | 'path' | 'kind' | 'new_type' | 'action'>
    >;
    book.fold(rows, run);
    for (const r of rows) if (r.kind === 'baseline') baselined.add(`${r.provider}/${r.source}`);
  }
  if (!file) {
    for (const provider of providers) {
      const had = book.of(provider).detail.size > 0;
      if (baselined.has(`${provider}/detail`) && had) continue;
      const rows = await baselineFromMovies(root, provider, book.of(provider).detail).catch((err: unknown) => {
        logger.warn(`schema: cannot rebuild ${provider}'s shape from its stored answers (${(err as Error).message}); its next poll establishes it`);
        return [];
      });
      book.pending.push(...rows);
    }
  }
  return book;
}

/** The table's files of days `since` on, with the newest run each holds (names only: one folder per day that had rows). */
function tableFiles(root: string, since: string): Array<{ dt: string; run: string; file: string }> {
  const dir = path.join(root, TABLE);
  if (!existsSync(dir)) return [];
  return dtFolders(readdirSync(dir)).filter((dt) => dt >= since).flatMap((dt) => {
    const day = path.join(dir, `dt=${dt}`);
    return readdirSync(day).flatMap((name) => {
      const run = runIdOfFile(name);
      return run === null ? [] : [{ dt, run, file: path.join(day, name) }];
    });
  }).sort((a, b) => (a.run < b.run ? -1 : 1));
}

/**
 * Baseline rows from a provider's newest committed answers (the movies table's `raw`), for paths
 * `known` lacks: what a store without schema_changes rows (0.3, or expired) had established.
 */
async function baselineFromMovies(root: string, provider: string, known: KnownShape): Promise<SchemaChangeRecord[]> {
  // The newest file with rows: a poll whose provider failed left an empty one.
  for (const newest of moviesFilesNewestFirst(root, provider).slice(0, MAX_FILES_LOOKED_AT)) {
    const buffer = await asyncBufferFromFile(newest);
    const rowCount = Number((await parquetMetadataAsync(buffer)).num_rows);
    if (rowCount === 0) continue;
    const rows = (await parquetReadObjects({ file: buffer, columns: ['run', 'raw'], rowStart: Math.max(0, rowCount - REBUILD_ANSWERS) })) as Array<{ run: string; raw: string }>;
    const last = rows.reduce((max, r) => (r.run > max ? r.run : max), '');
    const tracker = new ShapeTracker(provider, 'detail', new Map(), { required: 'record', mapped: 'record', extra: 'record' }, (t) => t);
    for (const r of rows) {
      if (r.run !== last) continue;
      const body = jsonOrUndefined(r.raw);
      if (isObject(body)) tracker.add(body);
    }
    const fresh = tracker.changes(new Date()).filter((row) => !known.has(row.path));
    for (const row of fresh) absorb(known, row);
    return fresh;
  }
  return [];
}

/** Files looked at for a provider's newest stored answers (each a footer read): a provider failing for longer has no shape to rebuild. */
const MAX_FILES_LOOKED_AT = 50;

function moviesFilesNewestFirst(root: string, provider: string): string[] {
  const dir = path.join(root, 'movies');
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const dt of dtFolders(readdirSync(dir)).reverse()) {
    const folder = path.join(root, fileFolder('movies', dt, provider));
    if (!existsSync(folder)) continue;
    files.push(...readdirSync(folder).flatMap((name) => {
      const run = runIdOfFile(name);
      return run === null ? [] : [{ run, file: path.join(folder, name) }];
    }).sort((a, b) => (a.run < b.run ? 1 : -1)).map((f) => f.file));
    if (files.length >= MAX_FILES_LOOKED_AT) break;
  }
  return files;
}

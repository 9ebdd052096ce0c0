// One shipping pass: makes the bucket hold the local store's committed files, in order, and drops
// the objects a compaction replaced. Keys are the store's relative paths under s3.prefix, so they
// are fixed by run id (a poll's files) or by the last run a compacted day holds: a retry or a
// second pass overwrites the same object, never adds a copy.
//
// Order (what a reader following docs/s3.md's rule relies on):
//  - day by day, oldest first; in a day, compacted files first, then polls in run order;
//  - a poll's movies and rejects objects before its runs object: the poll is committed in the
//    bucket once its runs object exists, as on disk;
//  - a compacted day's movies and rejects before its runs; the objects it replaces are deleted only
//    once every local file of their folder is in the bucket. Until then both are there: the rule
//    (per run, read only the file whose name sorts last) reads each row once at every instant.
// Objects already in the bucket (the log, made to agree with a LIST of the prefix at start and with
// one day's listing at a time after that) are not uploaded again; one the listing vouches for is
// HEADed first (same size and sha256 metadata). Local days removed by retention stay in the bucket,
// and so do objects of runs this store does not hold (a predecessor's, after a failover).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, type ReadStream, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { parquetReadObjects } from 'hyparquet';
import { COMPACTED_PREFIX, TABLES, dtFolders, hasProviderPartition, runIdOfFile, type Table } from '../store/layout.js';
import { isNotFound } from './client.js';
import { objectKey } from './lease.js';
import type { ShipLog, ShippedObject } from './ship-log.js';

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
}

const TABLE_ORDER: Record<Table, number> = { movies: 0, rejects: 1, price_changes: 2, runs: 3 };

/**
 * The committed data files of the store, in shipping order. A poll's own file counts once its
 * runs file exists (the poll is committed); compacted files always (compaction keeps only
 * committed rows).
 */
export function committedFiles(root: string): LocalFile[] {
  const files: LocalFile[] = [];
  for (const table of TABLES) {
    const tableDir = path.join(root, table);
    if (!existsSync(tableDir)) continue;
    for (const dt of dtFolders(readdirSync(tableDir))) {
      const day = `${table}/dt=${dt}`;
      const folders = hasProviderPartition(table)
        ? safeList(path.join(root, day)).filter((n) => n.startsWith('provider=')).map((n) => `${day}/${n}`)
        : [day];
      for (const folder of folders) {
        for (const name of safeList(path.join(root, folder))) {
          const run = runIdOfFile(name);
          if (run === null) continue;
          const stat = statOf(path.join(root, folder, name));
          if (stat === null) continue; // gone since the listing (compaction, retention)
          files.push({ rel: `${folder}/${name}`, table, dt, folder, name, run, compacted: name.startsWith(COMPACTED_PREFIX), size: stat.size, mtimeMs: stat.mtimeMs });
        }
      }
    }
  }
  const committedRuns = new Set(files.filter((f) => f.table === 'runs' && !f.compacted).map((f) => f.run));
  return files.filter((f) => f.compacted || committedRuns.has(f.run)).sort(shippingOrder);
}

function shippingOrder(a: LocalFile, b: LocalFile): number {
  if (a.dt !== b.dt) return a.dt < b.dt ? -1 : 1;
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

function statOf(file: string): { size: number; mtimeMs: number } | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}

export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface PassHooks {
  /** Checked before each change to the bucket; throws once the lease is not held. */
  beforeWrite: () => void;
  /** After each object uploaded or deleted (metrics count; tests read the bucket here, awaited, before the next change). */
  afterObject?: (event: { kind: 'uploaded' | 'deleted'; key: string; bytes: number }) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface PassResult {
  uploaded: number;
  deleted: number;
  bytes: number;
}

/** Multipart above this size (lib-storage's part size; S3's minimum part is 5 MiB). */
const PART_SIZE = 8 * 1024 * 1024;
/** The ship log is saved at least this often during a long catch-up. */
const SAVE_EVERY_MS = 2_000;

/** What a pass remembers between passes: the runs of compacted objects it had to read. */
export class PassMemory {
  readonly objectRuns = new Map<string, Set<string> | null>();
  readonly dayRuns = new Map<string, { stamp: string; runs: Set<string> }>();
}

export async function shipPass(client: S3Client, bucket: string, prefix: string, root: string, log: ShipLog, hooks: PassHooks, memory = new PassMemory()): Promise<PassResult> {
  const result: PassResult = { uploaded: 0, deleted: 0, bytes: 0 };
  const files = committedFiles(root);
  let savedAt = Date.now();
  for (let i = 0; i < files.length; i++) {
    hooks.signal?.throwIfAborted();
    const file = files[i] as LocalFile;
    const key = objectKey(prefix, file.rel);
    const entry = log.get(key);
    if (!isShipped(entry, file)) {
      const full = path.join(root, file.rel);
      let sha256: string;
      try {
        sha256 = await sha256Of(full);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // swapped out by a compaction since the listing: the next pass ships its replacement
        throw err;
      }
      const found = entry?.size === file.size ? await sameInBucket(client, bucket, key, entry, sha256) : null;
      if (found !== null) {
        log.add(key, { ...found, mtimeMs: file.mtimeMs });
      } else {
        // Under the lease nothing else writes here. Same key, same content: at worst a crash repeats one upload.
        hooks.beforeWrite();
        const etag = await upload(client, bucket, key, full, sha256, hooks.signal);
        if (etag === null) continue;
        log.add(key, { size: file.size, sha256, ...(etag !== undefined ? { etag } : {}), mtimeMs: file.mtimeMs });
        result.uploaded++;
        result.bytes += file.size;
        await hooks.afterObject?.({ kind: 'uploaded', key, bytes: file.size });
      }
    }
    const next = files[i + 1];
    if (next === undefined || next.dt !== file.dt) {
      result.deleted += await dropReplaced(client, bucket, prefix, root, file.dt, files, log, hooks, memory);
      await log.save();
      savedAt = Date.now();
    } else if (Date.now() - savedAt > SAVE_EVERY_MS) {
      await log.save();
      savedAt = Date.now();
    }
  }
  await log.save();
  return result;
}

/** Shipped as it is now: recorded with its hash, and the local file not rewritten since (same size and mtime). */
function isShipped(entry: ShippedObject | undefined, file: LocalFile): boolean {
  return entry !== undefined && entry.size === file.size && entry.sha256 !== '' && (entry.mtimeMs === undefined || entry.mtimeMs === file.mtimeMs);
}

/**
 * The log entry for `key` when the bucket already holds this content: recorded with this hash (a
 * file rewritten in place with the same bytes), or, for an object only a listing vouched for, a
 * HEAD with the same size and the same sha256 metadata. Null: upload it.
 */
async function sameInBucket(client: S3Client, bucket: string, key: string, entry: ShippedObject, sha256: string): Promise<ShippedObject | null> {
  if (entry.sha256 !== '') return entry.sha256 === sha256 ? entry : null;
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    if (head.ContentLength !== entry.size || head.Metadata?.sha256 !== sha256) return null;
    return { size: entry.size, sha256, ...(head.ETag !== undefined ? { etag: head.ETag } : {}) };
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Uploads one file (multipart above PART_SIZE; a failed multipart upload is aborted by lib-storage). Its ETag; null if the file went away. */
async function upload(client: S3Client, bucket: string, key: string, file: string, sha256: string, signal?: AbortSignal): Promise<string | undefined | null> {
  let body: ReadStream;
  try {
    body = createReadStream(file);
    await new Promise<void>((resolve, reject) => body?.once('open', () => resolve()).once('error', reject));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const up = new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: 'application/vnd.apache.parquet', Metadata: { sha256 } },
    partSize: PART_SIZE,
    queueSize: 2,
    leavePartsOnError: false,
  });
  const onAbort = () => void up.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return (await up.done()).ETag;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    body.destroy();
  }
}

/**
 * Deletes the day's objects a local compaction replaced, and only those: in a folder whose local
 * files are all shipped and include a compacted file, an object that is no longer local is deleted
 * when every run it holds is one the day's local compaction holds (runs/dt=D/compacted-*, whose
 * rows say which). A poll's object holds the run in its name; an older compacted object is read to
 * know. Objects of runs this store never held (a predecessor's, after a failover) stay: the
 * reading rule reads them as they are. Local folders that are gone (retention) keep their objects.
 */
async function dropReplaced(client: S3Client, bucket: string, prefix: string, root: string, dt: string, files: LocalFile[], log: ShipLog, hooks: PassHooks, memory: PassMemory): Promise<number> {
  const byFolder = new Map<string, LocalFile[]>();
  for (const f of files) if (f.dt === dt) byFolder.set(f.folder, [...(byFolder.get(f.folder) ?? []), f]);
  const dayKeys = log.dayKeys(dt);
  const stale: string[] = [];
  for (const [folder, local] of byFolder) {
    if (!local.some((f) => f.compacted)) continue;
    if (!local.every((f) => log.has(objectKey(prefix, f.rel), f.size))) continue;
    const keep = new Set(local.map((f) => objectKey(prefix, f.rel)));
    const folderKey = `${objectKey(prefix, folder)}/`;
    const others = [...dayKeys].filter((key) => key.startsWith(folderKey) && !keep.has(key) && !key.slice(folderKey.length).includes('/'));
    if (others.length === 0) continue;
    const compactedRuns = await localCompactedRuns(root, dt, memory);
    if (compactedRuns === null) continue;
    for (const key of others) {
      const name = key.slice(folderKey.length);
      const run = runIdOfFile(name);
      if (run === null) continue;
      const runs = name.startsWith(COMPACTED_PREFIX) ? await objectRuns(client, bucket, key, memory) : new Set([run]);
      if (runs !== null && [...runs].every((r) => compactedRuns.has(r))) stale.push(key);
    }
  }
  // One DeleteObject a key: DeleteObjects needs a Content-MD5 that the SDK now replaces by a CRC32,
  // which some S3-compatible servers refuse; a day's replaced objects are a few hundred at most.
  for (const key of stale) {
    hooks.signal?.throwIfAborted();
    hooks.beforeWrite();
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    log.delete(key);
    memory.objectRuns.delete(key);
    await hooks.afterObject?.({ kind: 'deleted', key, bytes: 0 });
  }
  return stale.length;
}

/** The runs the day's local compaction holds (the rows of its runs/dt=D/compacted-* file), or null when the day has none. */
async function localCompactedRuns(root: string, dt: string, memory: PassMemory): Promise<Set<string> | null> {
  const dir = path.join(root, 'runs', `dt=${dt}`);
  const name = safeList(dir).filter((n) => n.startsWith(COMPACTED_PREFIX) && runIdOfFile(n) !== null).at(-1);
  if (name === undefined) return null;
  const file = path.join(dir, name);
  const stat = statOf(file);
  if (stat === null) return null;
  const stamp = `${name}:${stat.size}:${stat.mtimeMs}`;
  const known = memory.dayRuns.get(dt);
  if (known?.stamp === stamp) return known.runs;
  const buffer = await readFile(file);
  const runs = await runsOf(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
  memory.dayRuns.set(dt, { stamp, runs });
  return runs;
}

/** The runs a compacted object in the bucket holds (downloaded and read once per sink); null when it cannot be read: it stays. */
async function objectRuns(client: S3Client, bucket: string, key: string, memory: PassMemory): Promise<Set<string> | null> {
  if (memory.objectRuns.has(key)) return memory.objectRuns.get(key) ?? null;
  let runs: Set<string> | null;
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
    runs = await runsOf(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  } catch (err) {
    if (isNotFound(err)) runs = new Set(); // gone already: nothing of it to keep
    else if (err instanceof Error && err.name === 'AbortError') throw err;
    else runs = null; // not Parquet, or not ours: never deleted on a guess
  }
  memory.objectRuns.set(key, runs);
  return runs;
}

async function runsOf(file: ArrayBuffer): Promise<Set<string>> {
  const rows = (await parquetReadObjects({ file, columns: ['run'] })) as Array<{ run: string }>;
  return new Set(rows.map((r) => r.run));
}

/** What is not in the bucket yet: polls (runs files: a poll's or a compacted day's), objects and bytes. */
export function pending(files: LocalFile[], prefix: string, log: ShipLog): { polls: number; objects: number; bytes: number; days: Set<string> } {
  const out = { polls: 0, objects: 0, bytes: 0, days: new Set<string>() };
  for (const f of files) {
    if (log.has(objectKey(prefix, f.rel), f.size)) continue;
    out.objects++;
    out.bytes += f.size;
    out.days.add(f.dt);
    if (f.table === 'runs') out.polls++;
  }
  return out;
}

interface Listed {
  size: number;
  etag: string | undefined;
}

async function list(client: S3Client, bucket: string, keyPrefix: string | undefined): Promise<Map<string, Listed>> {
  const found = new Map<string, Listed>();
  let token: string | undefined;
  do {
    const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix, ContinuationToken: token }));
    for (const o of out.Contents ?? []) if (o.Key?.endsWith('.parquet')) found.set(o.Key, { size: o.Size ?? 0, etag: o.ETag });
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return found;
}

/**
 * Makes the log's `known` keys agree with a listing of the same range: objects the log does not
 * know, or that changed (another size, another ETag), are recorded unverified (a pass HEADs them
 * before counting them shipped); keys the listing lacks (deleted by someone else) are forgotten, to
 * be shipped again.
 */
function agree(log: ShipLog, listed: Map<string, Listed>, known: Iterable<string>): { learned: number; forgotten: number } {
  let learned = 0;
  let forgotten = 0;
  for (const [key, o] of listed) {
    const entry = log.get(key);
    if (entry !== undefined && entry.size === o.size && (entry.etag === undefined || o.etag === undefined || entry.etag === o.etag)) continue;
    log.add(key, { size: o.size, sha256: '', ...(o.etag !== undefined ? { etag: o.etag } : {}) });
    learned++;
  }
  for (const key of [...known]) {
    if (!listed.has(key)) {
      log.delete(key);
      forgotten++;
    }
  }
  return { learned, forgotten };
}

/**
 * Makes the ship log agree with the bucket, once per start (under the lease): one LIST request per
 * 1,000 objects of the prefix.
 */
export async function reconcile(client: S3Client, bucket: string, prefix: string, log: ShipLog): Promise<{ learned: number; forgotten: number }> {
  const counts = agree(log, await list(client, bucket, prefix === '' ? undefined : `${prefix}/`), [...log.keys()]);
  await log.save();
  return counts;
}

/** The same for one day (one LIST per table): the periodic check that notices objects deleted or replaced by hand. */
export async function reconcileDay(client: S3Client, bucket: string, prefix: string, log: ShipLog, dt: string): Promise<{ learned: number; forgotten: number }> {
  const listed = new Map<string, Listed>();
  for (const table of TABLES) {
    for (const [key, o] of await list(client, bucket, `${objectKey(prefix, table)}/dt=${dt}/`)) listed.set(key, o);
  }
  const counts = agree(log, listed, [...log.dayKeys(dt)]);
  await log.save();
  return counts;
}

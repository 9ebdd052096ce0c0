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
// Objects already in the bucket (the log, made to agree with a LIST of the prefix at start: same
// key, same size) are not uploaded again. Local days removed by retention stay in the bucket.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, type ReadStream, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { COMPACTED_PREFIX, TABLES, dtFolders, hasProviderPartition, runIdOfFile, type Table } from '../store/layout.js';
import { isNotFound } from './client.js';
import { objectKey } from './lease.js';
import type { ShipLog } from './ship-log.js';

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
          const size = sizeOf(path.join(root, folder, name));
          if (size === null) continue; // gone since the listing (compaction, retention)
          files.push({ rel: `${folder}/${name}`, table, dt, folder, name, run, compacted: name.startsWith(COMPACTED_PREFIX), size });
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

function sizeOf(file: string): number | null {
  try {
    return statSync(file).size;
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

export async function shipPass(client: S3Client, bucket: string, prefix: string, root: string, log: ShipLog, hooks: PassHooks): Promise<PassResult> {
  const result: PassResult = { uploaded: 0, deleted: 0, bytes: 0 };
  const files = committedFiles(root);
  let savedAt = Date.now();
  for (let i = 0; i < files.length; i++) {
    hooks.signal?.throwIfAborted();
    const file = files[i] as LocalFile;
    const key = objectKey(prefix, file.rel);
    if (!log.has(key, file.size)) {
      const full = path.join(root, file.rel);
      let sha256: string;
      try {
        sha256 = await sha256Of(full);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // swapped out by a compaction since the listing: the next pass ships its replacement
        throw err;
      }
      // Not looked up first: reconcile() made the log agree with the bucket at start, and under the
      // lease nothing else writes here. Same key, same content: at worst a crash repeats one upload.
      hooks.beforeWrite();
      const uploaded = await upload(client, bucket, key, full, sha256, hooks.signal);
      if (!uploaded) continue;
      log.add(key, { size: file.size, sha256 });
      result.uploaded++;
      result.bytes += file.size;
      await hooks.afterObject?.({ kind: 'uploaded', key, bytes: file.size });
    }
    const next = files[i + 1];
    if (next === undefined || next.dt !== file.dt) {
      result.deleted += await dropReplaced(client, bucket, prefix, file.dt, files, log, hooks);
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

/** Uploads one file (multipart above PART_SIZE; a failed multipart upload is aborted by lib-storage). False if the file went away. */
async function upload(client: S3Client, bucket: string, key: string, file: string, sha256: string, signal?: AbortSignal): Promise<boolean> {
  let body: ReadStream;
  try {
    body = createReadStream(file);
    await new Promise<void>((resolve, reject) => body?.once('open', () => resolve()).once('error', reject));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
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
    await up.done();
  } finally {
    signal?.removeEventListener('abort', onAbort);
    body.destroy();
  }
  return true;
}

/**
 * Deletes the day's objects a compaction replaced: those in the log, in a folder whose local
 * files are all shipped and include a compacted file, that are no longer local and hold runs that
 * compacted file holds (its name carries its last run). Local folders that are gone (retention) keep
 * their objects.
 */
async function dropReplaced(client: S3Client, bucket: string, prefix: string, dt: string, files: LocalFile[], log: ShipLog, hooks: PassHooks): Promise<number> {
  const day = files.filter((f) => f.dt === dt);
  const byFolder = new Map<string, LocalFile[]>();
  for (const f of day) byFolder.set(f.folder, [...(byFolder.get(f.folder) ?? []), f]);
  const stale: string[] = [];
  for (const [folder, local] of byFolder) {
    const compacted = local.filter((f) => f.compacted).map((f) => f.run).sort().at(-1);
    if (compacted === undefined) continue;
    if (!local.every((f) => log.has(objectKey(prefix, f.rel), f.size))) continue;
    const keep = new Set(local.map((f) => objectKey(prefix, f.rel)));
    const folderKey = `${objectKey(prefix, folder)}/`;
    for (const key of log.objects.keys()) {
      if (!key.startsWith(folderKey) || keep.has(key) || key.slice(folderKey.length).includes('/')) continue;
      const run = runIdOfFile(key.slice(folderKey.length));
      if (run !== null && run <= compacted) stale.push(key);
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
    await hooks.afterObject?.({ kind: 'deleted', key, bytes: 0 });
  }
  return stale.length;
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

/**
 * Makes the ship log agree with the bucket, once per start (under the lease): data objects the log
 * does not know (uploaded just before a crash, before the log was saved) are recorded by key and
 * size, so they are neither uploaded again nor, once a compaction replaces them, left behind; keys
 * the log knows but the bucket lacks (deleted by someone else) are forgotten, to be shipped again.
 * One LIST request per 1,000 objects.
 */
export async function reconcile(client: S3Client, bucket: string, prefix: string, log: ShipLog): Promise<{ learned: number; forgotten: number }> {
  const inBucket = new Map<string, number>();
  let token: string | undefined;
  do {
    const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix === '' ? undefined : `${prefix}/`, ContinuationToken: token }));
    for (const o of out.Contents ?? []) if (o.Key?.endsWith('.parquet')) inBucket.set(o.Key, o.Size ?? 0);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  let learned = 0;
  let forgotten = 0;
  for (const [key, size] of inBucket) {
    if (log.objects.get(key)?.size === size) continue;
    log.add(key, { size, sha256: '' }); // '' : known by its listing; the key fixes the content
    learned++;
  }
  for (const key of [...log.objects.keys()]) {
    if (!inBucket.has(key)) {
      log.delete(key);
      forgotten++;
    }
  }
  await log.save();
  return { learned, forgotten };
}

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
import { createReadStream, type ReadStream, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { parquetReadObjects } from 'hyparquet';
import { COMPACTED_PREFIX, TABLES, runIdOfFile } from '../store/layout.js';
import { isNotFound } from './client.js';
import { objectKey } from './lease.js';
import { LocalIndex, statOf as statNow, type LocalFile } from './local-index.js';
import type { ShipLog, ShippedObject } from './ship-log.js';

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

/**
 * What passes remember: the local store's files (LocalIndex), the days settled (every file shipped
 * and verified, the objects it replaced deleted: a pass skips them until they change), and the runs
 * of compacted objects it had to read. A pass's work follows what changed, not the store's age.
 */
export class ShipperState {
  readonly local: LocalIndex;
  readonly settled = new Set<string>();
  readonly objectRuns = new Map<string, Set<string> | null>();
  readonly dayRuns = new Map<string, { stamp: string; runs: Set<string> }>();

  constructor(readonly root: string) {
    this.local = new LocalIndex(root);
  }

  /** Lists what may have changed (LocalIndex.refresh, plus `dirty` days); a day that changed is no longer settled. */
  refresh(dirty: Iterable<string> = []): void {
    for (const d of this.local.refresh(dirty)) this.settled.delete(d);
  }

  /** The files of the days not settled: the only ones that can hold anything unshipped. */
  unsettledFiles(): LocalFile[] {
    return this.local.days().filter((d) => !this.settled.has(d)).flatMap((d) => this.local.dayFiles(d));
  }
}

export async function shipPass(client: S3Client, bucket: string, prefix: string, state: ShipperState, log: ShipLog, hooks: PassHooks): Promise<PassResult> {
  const result: PassResult = { uploaded: 0, deleted: 0, bytes: 0 };
  state.refresh();
  let savedAt = Date.now();
  for (const dt of state.local.days()) {
    if (state.settled.has(dt)) continue;
    const files = state.local.dayFiles(dt);
    let complete = true;
    for (const file of files) {
      hooks.signal?.throwIfAborted();
      const key = objectKey(prefix, file.rel);
      const entry = log.get(key);
      if (isShipped(entry, file)) continue;
      const full = path.join(state.root, file.rel);
      let sha256: string;
      try {
        sha256 = await sha256Of(full);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        complete = false; // swapped out by a compaction since the listing: the next pass ships its replacement
        continue;
      }
      const found = entry?.size === file.size ? await sameInBucket(client, bucket, key, entry, sha256) : null;
      if (found !== null) {
        log.add(key, { ...found, mtimeMs: file.mtimeMs });
      } else {
        // Under the lease nothing else writes here. Same key, same content: at worst a crash repeats one upload.
        hooks.beforeWrite();
        const etag = await upload(client, bucket, key, full, sha256, hooks.signal);
        if (etag === null || !unchanged(full, file)) {
          // Gone, or replaced under the same name (a compaction again) while hashed and sent: what
          // went up may not be what was hashed. Not recorded: the next pass sends the file as it is.
          complete = false;
          continue;
        }
        log.add(key, { size: file.size, sha256, ...(etag !== undefined ? { etag: bareEtag(etag) } : {}), mtimeMs: file.mtimeMs });
        result.uploaded++;
        result.bytes += file.size;
        await hooks.afterObject?.({ kind: 'uploaded', key, bytes: file.size });
      }
      if (Date.now() - savedAt > SAVE_EVERY_MS) {
        await log.save();
        savedAt = Date.now();
      }
    }
    result.deleted += await dropReplaced(client, bucket, prefix, state, dt, files, log, hooks);
    await log.save();
    savedAt = Date.now();
    // Settled only if the day did not change meanwhile (a commit or a compaction listed by a nudge
    // replaces its list): else the next pass looks at it again.
    if (complete && state.local.dayFiles(dt) === files) state.settled.add(dt);
  }
  return result;
}

/** The local file is still the one listed (same size, mtime and inode). */
function unchanged(full: string, file: LocalFile): boolean {
  const now = statNow(full);
  return now !== null && now.size === file.size && now.mtimeMs === file.mtimeMs && now.ino === file.ino;
}

/** An ETag without its quotes: servers quote it in one answer and not in another (radosgw's multipart completion). */
export const bareEtag = (etag: string): string => etag.replace(/^"|"$/g, '');

/** Shipped as it is now: recorded with its hash, and the local file not rewritten since (same size and mtime). */
export function isShipped(entry: ShippedObject | undefined, file: LocalFile): boolean {
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
    return { size: entry.size, sha256, ...(head.ETag !== undefined ? { etag: bareEtag(head.ETag) } : {}) };
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
async function dropReplaced(client: S3Client, bucket: string, prefix: string, state: ShipperState, dt: string, files: LocalFile[], log: ShipLog, hooks: PassHooks): Promise<number> {
  const byFolder = new Map<string, LocalFile[]>();
  for (const f of files) byFolder.set(f.folder, [...(byFolder.get(f.folder) ?? []), f]);
  const dayKeys = log.dayKeys(dt);
  const stale: string[] = [];
  for (const [folder, local] of byFolder) {
    if (!local.some((f) => f.compacted)) continue;
    if (!local.every((f) => log.has(objectKey(prefix, f.rel), f.size))) continue;
    const keep = new Set(local.map((f) => objectKey(prefix, f.rel)));
    const folderKey = `${objectKey(prefix, folder)}/`;
    const others = [...dayKeys].filter((key) => key.startsWith(folderKey) && !keep.has(key) && !key.slice(folderKey.length).includes('/'));
    if (others.length === 0) continue;
    const compactedRuns = await localCompactedRuns(state, dt);
    if (compactedRuns === null) continue;
    for (const key of others) {
      const name = key.slice(folderKey.length);
      const run = runIdOfFile(name);
      if (run === null) continue;
      const runs = name.startsWith(COMPACTED_PREFIX) ? await objectRuns(client, bucket, key, state) : new Set([run]);
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
    state.objectRuns.delete(key);
    await hooks.afterObject?.({ kind: 'deleted', key, bytes: 0 });
  }
  return stale.length;
}

/** The runs the day's local compaction holds (the rows of its runs/dt=D/compacted-* file), or null when the day has none. */
async function localCompactedRuns(state: ShipperState, dt: string): Promise<Set<string> | null> {
  const dir = path.join(state.root, 'runs', `dt=${dt}`);
  const name = safeList(dir).filter((n) => n.startsWith(COMPACTED_PREFIX) && runIdOfFile(n) !== null).at(-1);
  if (name === undefined) return null;
  const file = path.join(dir, name);
  const stat = statOf(file);
  if (stat === null) return null;
  const stamp = `${name}:${stat.size}:${stat.mtimeMs}`;
  const known = state.dayRuns.get(dt);
  if (known?.stamp === stamp) return known.runs;
  const buffer = await readFile(file);
  const runs = await runsOf(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
  state.dayRuns.set(dt, { stamp, runs });
  return runs;
}

/** The runs a compacted object in the bucket holds (downloaded and read once per sink); null when it cannot be read: it stays. */
async function objectRuns(client: S3Client, bucket: string, key: string, state: ShipperState): Promise<Set<string> | null> {
  if (state.objectRuns.has(key)) return state.objectRuns.get(key) ?? null;
  let bytes: Uint8Array;
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    bytes = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
  } catch (err) {
    if (!isNotFound(err)) throw err; // the network or the server: the pass fails and is tried again
    state.objectRuns.set(key, new Set()); // gone already: nothing of it to keep
    return new Set();
  }
  let runs: Set<string> | null;
  try {
    runs = await runsOf(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  } catch {
    runs = null; // not Parquet, or not ours: never deleted on a guess
  }
  state.objectRuns.set(key, runs);
  return runs;
}

async function runsOf(file: ArrayBuffer): Promise<Set<string>> {
  const rows = (await parquetReadObjects({ file, columns: ['run'] })) as Array<{ run: string }>;
  return new Set(rows.map((r) => r.run));
}

/** What is not in the bucket yet (of `days`, or of every day): polls (runs files: a poll's or a compacted day's), objects and bytes. Settled days hold none. */
export function pending(state: ShipperState, prefix: string, log: ShipLog, days?: string[]): { polls: number; objects: number; bytes: number } {
  const out = { polls: 0, objects: 0, bytes: 0 };
  const files = days === undefined ? state.unsettledFiles() : days.filter((d) => !state.settled.has(d)).flatMap((d) => state.local.dayFiles(d));
  for (const f of files) {
    if (isShipped(log.get(objectKey(prefix, f.rel)), f)) continue; // verified: a listing alone does not vouch for retention
    out.objects++;
    out.bytes += f.size;
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
    for (const o of out.Contents ?? []) if (o.Key?.endsWith('.parquet')) found.set(o.Key, { size: o.Size ?? 0, etag: o.ETag === undefined ? undefined : bareEtag(o.ETag) });
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
    if (entry !== undefined && entry.size === o.size && entry.etag === undefined && o.etag !== undefined) {
      log.add(key, { ...entry, etag: o.etag }); // an entry of 0.3 (no ETag): the listing's, from now on compared
      continue;
    }
    if (entry !== undefined && entry.size === o.size && (o.etag === undefined || entry.etag === o.etag)) continue;
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

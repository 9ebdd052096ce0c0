// One writer per prefix: a lease object, <prefix>/_lease.json, created with a conditional write
// (If-None-Match: *, so of two collectors racing only one gets it), renewed with If-Match on its
// ETag (so a renewal after someone else took it over fails), and taken over, also with If-Match,
// once it has gone unrenewed past its expiry. Every step that changes the bucket checks first that
// the lease is still valid by this process's clock (assertHeld), as the store's lock fences renames.
// Conditional writes are only as good as the server: probeConditionalWrites() tells one that
// ignores them (s3rver, some gateways), which the sink reports rather than trusts.
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { certainlyExited, thisProcess, type ProcessIdentity } from '../runtime/process-identity.js';
import { isNotFound, isPreconditionFailed } from './client.js';

/** The lease object's body: a random id per process (what tells holders apart), and who it is, for people and for certainlyExited. */
export interface LeaseHolder extends ProcessIdentity {
  id: string;
  since: string;
  expiresAt: string;
}

export class LeaseRefusedError extends Error {
  override name = 'LeaseRefusedError';
  /** The holder refused by (its lease id): the sink says so once per holder. */
  constructor(message: string, readonly holderId: string) {
    super(message);
  }
}

/** `_lease.json` holds something that is not a lease (written by hand or another tool): nothing is shipped until someone looks. */
export class LeaseUnreadableError extends Error {
  override name = 'LeaseUnreadableError';
}

export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

/** A renewal must land this long before the expiry others see (at most a third of the lease), or this holder stops writing. */
const SAFETY_MS = 5_000;

export const objectKey = (prefix: string, rel: string): string => (prefix === '' ? rel : `${prefix}/${rel}`);

export class Lease {
  private etag: string | null = null;
  private expiresAt = 0;
  readonly holder: Omit<LeaseHolder, 'expiresAt'>;
  private readonly url: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly seconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.holder = { id: randomUUID(), ...thisProcess(), since: new Date(this.now()).toISOString() };
    this.url = `s3://${bucket}/${prefix}`;
  }

  get key(): string {
    return objectKey(this.prefix, '_lease.json');
  }

  get held(): boolean {
    return this.etag !== null && this.now() < this.expiresAt - Math.min(SAFETY_MS, (this.seconds * 1000) / 3);
  }

  /** Throws unless the lease is this process's and far enough from its expiry. */
  assertHeld(): void {
    if (!this.held) throw new LeaseLostError(`s3: the lease on ${this.url} is not held (expired or taken over); nothing more is shipped until it is taken again`);
  }

  private async put(condition: { IfNoneMatch: '*' } | { IfMatch: string }): Promise<void> {
    const expiresAt = this.now() + this.seconds * 1000;
    const body: LeaseHolder = { ...this.holder, expiresAt: new Date(expiresAt).toISOString() };
    const send = (c: typeof condition) => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: JSON.stringify(body), ContentType: 'application/json', ...c }));
    let out;
    if ('IfMatch' in condition) {
      // Ceph RGW 16 compares If-Match with the ETag unquoted (the quoted form, as RFC 9110 writes it,
      // always fails there); stricter servers want it quoted. Both tries are conditional: a lease that
      // really changed fails both.
      const bare = condition.IfMatch.replace(/^"|"$/g, '');
      try {
        out = await send({ IfMatch: bare });
      } catch (err) {
        if (!isPreconditionFailed(err)) throw err;
        out = await send({ IfMatch: `"${bare}"` });
      }
    } else {
      out = await send(condition);
    }
    this.etag = out.ETag ?? null;
    this.expiresAt = expiresAt;
  }

  /** Takes the lease: created if absent, taken over if its holder let it expire; else LeaseRefusedError naming the holder. */
  async acquire(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.put({ IfNoneMatch: '*' });
        return;
      } catch (err) {
        if (!isPreconditionFailed(err)) throw err;
      }
      const current = await this.read();
      if (current === null) continue; // released in between: try to create it again
      const { holder, etag } = current;
      // Taken before its expiry only from a holder that certainly exited (same boot and pid
      // namespace, its pid gone): a same-named host proves nothing (containers, cloned VMs).
      if (holder.id !== this.holder.id && Date.parse(holder.expiresAt) > this.now() && !certainlyExited(holder)) {
        throw new LeaseRefusedError(`s3: ${this.url} is leased by another collector (pid ${holder.pid} on host ${holder.host}, since ${holder.since}, until ${holder.expiresAt}): one collector ships to a prefix at a time; stop the other one or set another s3.prefix (an expired lease is taken over)`, holder.id);
      }
      try {
        await this.put({ IfMatch: etag });
        return;
      } catch (err) {
        if (!isPreconditionFailed(err)) throw err; // another collector took it over first: read again
      }
    }
    throw new LeaseRefusedError(`s3: could not take the lease on ${this.url} (it changed under three attempts): another collector is starting on this prefix`, 'racing');
  }

  /** Extends the lease; LeaseLostError if another collector holds it now. */
  async renew(): Promise<void> {
    if (this.etag === null) throw new LeaseLostError('s3: the lease was never taken');
    try {
      await this.put({ IfMatch: this.etag });
    } catch (err) {
      if (!isPreconditionFailed(err) && !isNotFound(err)) throw err;
      this.etag = null;
      throw new LeaseLostError(`s3: the lease on ${this.url} was taken over by another collector; this one stops shipping`);
    }
  }

  /** Gives the lease up at a clean stop, so the next collector need not wait for its expiry. `client`: one whose deadline fits the stop. */
  async release(client: S3Client = this.client): Promise<void> {
    if (this.etag === null) return;
    const current = await this.read(client).catch(() => null);
    if (current?.holder.id === this.holder.id) await client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key }));
    this.etag = null;
  }

  async read(client: S3Client = this.client): Promise<{ holder: LeaseHolder; etag: string } | null> {
    let text: string;
    let etag: string;
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key }));
      text = (await out.Body?.transformToString()) ?? '';
      etag = out.ETag ?? '';
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    const holder = parseHolder(text);
    if (holder === null) {
      // Never echoes its bytes: they are not ours, and may be anything.
      throw new LeaseUnreadableError(`s3: ${this.url.replace(/\/$/, '')}/_lease.json is not a lease (${text.length} bytes that are not the JSON a collector writes): nothing is shipped to this prefix while it is there; if no collector ships here, delete that object (e.g. aws s3 rm s3://${this.bucket}/${this.key})`);
    }
    return { holder, etag };
  }
}

/** The lease's body if it is one (a collector's JSON with its fields), else null. */
function parseHolder(text: string): LeaseHolder | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const h = value as Partial<LeaseHolder> | null;
  if (h === null || typeof h !== 'object' || typeof h.id !== 'string' || typeof h.pid !== 'number' || typeof h.host !== 'string' || typeof h.since !== 'string' || typeof h.expiresAt !== 'string' || Number.isNaN(Date.parse(h.expiresAt))) return null;
  return h as LeaseHolder;
}

/**
 * Writes one key twice with If-None-Match: *: true when the second write is refused (412), false
 * when the server overwrote it. The key is this store's (`_probe/<storeId>`): what a crash inside
 * the probe left is deleted first, at the next start.
 */
export async function probeConditionalWrites(client: S3Client, bucket: string, prefix: string, storeId: string): Promise<boolean> {
  const Key = objectKey(prefix, `${PROBE_DIR}/${storeId}`);
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'first', IfNoneMatch: '*' }));
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'second', IfNoneMatch: '*' }));
      return false;
    } catch (err) {
      if (isPreconditionFailed(err)) return true;
      throw err;
    }
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key })).catch(() => undefined);
  }
}

export const PROBE_DIR = '_probe';
/** Another store's probe older than this was left by a crash (a probe takes a second): deleted by the lease holder. */
export const STALE_PROBE_MS = 3_600_000;

/** Deletes other stores' probe keys a crash left (older than STALE_PROBE_MS); run under the lease. The count. */
export async function deleteStaleProbes(client: S3Client, bucket: string, prefix: string, now = Date.now()): Promise<number> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${objectKey(prefix, PROBE_DIR)}/` }));
  let deleted = 0;
  for (const o of out.Contents ?? []) {
    if (o.Key === undefined || o.LastModified === undefined || now - o.LastModified.getTime() < STALE_PROBE_MS) continue;
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
    deleted++;
  }
  return deleted;
}

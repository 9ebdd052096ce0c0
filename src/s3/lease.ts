// One writer per prefix: a lease object, <prefix>/_lease.json, created with a conditional write
// (If-None-Match: *, so of two collectors racing only one gets it), renewed with If-Match on its
// ETag (so a renewal after someone else took it over fails), and taken over, also with If-Match,
// once it has gone unrenewed past its expiry. Every step that changes the bucket checks first that
// the lease is still valid by this process's clock (assertHeld), as the store's lock fences renames.
// Conditional writes are only as good as the server: probeConditionalWrites() tells one that
// ignores them (s3rver, some gateways), which the sink reports rather than trusts.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound, isPreconditionFailed } from './client.js';

export interface LeaseHolder {
  id: string;
  host: string;
  pid: number;
  since: string;
  expiresAt: string;
}

export class LeaseRefusedError extends Error {
  override name = 'LeaseRefusedError';
}

export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

/** A renewal must land this long before the expiry others see (at most a third of the lease), or this holder stops writing. */
const SAFETY_MS = 5_000;

/**
 * A holder on this host that is not running any more (its pid is gone, or is this very process: a
 * container restarted as pid 1) is taken over at once, as the store's lock does; elsewhere only
 * an expired lease is.
 */
function deadOnThisHost(holder: LeaseHolder): boolean {
  if (holder.host !== os.hostname()) return false;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export const objectKey = (prefix: string, rel: string): string => (prefix === '' ? rel : `${prefix}/${rel}`);

export class Lease {
  private etag: string | null = null;
  private expiresAt = 0;
  readonly holder: Omit<LeaseHolder, 'expiresAt'>;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly seconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.holder = { id: randomUUID(), host: os.hostname(), pid: process.pid, since: new Date(this.now()).toISOString() };
  }

  get key(): string {
    return objectKey(this.prefix, '_lease.json');
  }

  get held(): boolean {
    return this.etag !== null && this.now() < this.expiresAt - Math.min(SAFETY_MS, (this.seconds * 1000) / 3);
  }

  /** Throws unless the lease is this process's and far enough from its expiry. */
  assertHeld(): void {
    if (!this.held) throw new LeaseLostError(`s3: the lease on s3://${this.bucket}/${this.prefix} is not held (expired or taken over); nothing more is shipped until it is taken again`);
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
      if (holder.id !== this.holder.id && Date.parse(holder.expiresAt) > this.now() && !deadOnThisHost(holder)) {
        throw new LeaseRefusedError(`s3: s3://${this.bucket}/${this.prefix} is leased by another collector (pid ${holder.pid} on host ${holder.host}, since ${holder.since}, until ${holder.expiresAt}): one collector ships to a prefix at a time; stop the other one or set another s3.prefix (an expired lease is taken over)`);
      }
      try {
        await this.put({ IfMatch: etag });
        return;
      } catch (err) {
        if (!isPreconditionFailed(err)) throw err; // another collector took it over first: read again
      }
    }
    throw new LeaseRefusedError(`s3: could not take the lease on s3://${this.bucket}/${this.prefix} (it changed under three attempts): another collector is starting on this prefix`);
  }

  /** Extends the lease; LeaseLostError if another collector holds it now. */
  async renew(): Promise<void> {
    if (this.etag === null) throw new LeaseLostError('s3: the lease was never taken');
    try {
      await this.put({ IfMatch: this.etag });
    } catch (err) {
      if (!isPreconditionFailed(err) && !isNotFound(err)) throw err;
      this.etag = null;
      throw new LeaseLostError(`s3: the lease on s3://${this.bucket}/${this.prefix} was taken over by another collector; this one stops shipping`);
    }
  }

  /** Gives the lease up at a clean stop, so the next collector need not wait for its expiry. */
  async release(): Promise<void> {
    if (this.etag === null) return;
    const current = await this.read().catch(() => null);
    if (current?.holder.id === this.holder.id) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key }));
    this.etag = null;
  }

  async read(): Promise<{ holder: LeaseHolder; etag: string } | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key }));
      const text = (await out.Body?.transformToString()) ?? '';
      return { holder: JSON.parse(text) as LeaseHolder, etag: out.ETag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }
}

/** Writes one new key twice with If-None-Match: *: true when the second write is refused (412), false when the server overwrote it. */
export async function probeConditionalWrites(client: S3Client, bucket: string, prefix: string): Promise<boolean> {
  const Key = objectKey(prefix, `_probe/${randomUUID()}`);
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

// Plumbing of the S3 tests: settings for a test server, buckets, a local mirror of a prefix (what a
// reader of the bucket gets, downloaded: DuckDB here cannot load httpfs), and the row counts and
// checksums a reader following docs/s3.md's rule sees.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from '../src/s3/settings.js';
import type { HealthTarget } from '../src/s3/sink.js';
import { committedFiles } from '../src/s3/local-index.js';
import { query } from './duckdb.js';

export function s3Settings(endpoint: string, keys: { accessKeyId: string; secretAccessKey: string }, bucket: string, prefix: string, extra: Partial<S3Settings> = {}): S3Settings {
  return {
    bucket, prefix, endpoint, region: 'us-east-1', forcePathStyle: true, accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey,
    accessKeyIdFile: null, secretAccessKeyFile: null, leaseSeconds: 30, maxLagPolls: 2, retentionDropsUnshipped: false, allowWithoutConditionalWrites: false, ...extra,
  };
}

export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix === '' ? undefined : `${prefix}/`, ContinuationToken: token }));
    keys.push(...(out.Contents ?? []).map((c) => c.Key ?? ''));
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

export async function openMultipartUploads(client: S3Client, bucket: string): Promise<number> {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (out.Uploads ?? []).length;
}

/** The data keys the bucket should hold for a local store: its committed files under the prefix. */
export function expectedKeys(root: string, prefix: string): string[] {
  return committedFiles(root).map((f) => (prefix === '' ? f.rel : `${prefix}/${f.rel}`)).sort();
}

/** A local copy of the prefix's data objects, kept in step with the bucket (only new keys are downloaded). */
export class Mirror {
  private readonly have = new Set<string>();
  constructor(private readonly client: S3Client, private readonly bucket: string, private readonly prefix: string, readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  async sync(): Promise<void> {
    const keys = (await listKeys(this.client, this.bucket, this.prefix)).filter((k) => k.endsWith('.parquet'));
    const now = new Set(keys);
    for (const key of this.have) {
      if (!now.has(key)) {
        rmSync(this.local(key), { force: true });
        this.have.delete(key);
      }
    }
    for (const key of keys) {
      if (this.have.has(key)) continue;
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const file = this.local(key);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      this.have.add(key);
    }
  }

  private local(key: string): string {
    return path.join(this.dir, this.prefix === '' ? key : key.slice(this.prefix.length + 1));
  }
}

const PARTITION = { movies: 'dt, provider, run', rejects: 'dt, provider, run', runs: 'dt, run' } as const;

/** docs/s3.md's rule: per run, only the file whose name sorts last; a poll counts once its runs rows exist. */
export function ruleSql(root: string, table: 'movies' | 'rejects' | 'runs'): string {
  const read = (t: string) => `read_parquet('${root}/${t}/**/*.parquet', hive_partitioning = true, filename = true)`;
  const latest = (t: 'movies' | 'rejects' | 'runs') =>
    `(SELECT * EXCLUDE (filename, file_rank) FROM (SELECT *, dense_rank() OVER (PARTITION BY ${PARTITION[t]} ORDER BY filename DESC) AS file_rank FROM ${read(t)}) WHERE file_rank = 1)`;
  return table === 'runs' ? latest('runs') : `(SELECT m.* FROM ${latest(table)} m SEMI JOIN ${latest('runs')} r USING (run))`;
}

/** Rows and an order-free checksum of a table as the rule reads it (null when the table has no file yet). */
export async function ruleDigest(root: string, table: 'movies' | 'rejects' | 'runs'): Promise<{ rows: number; sum: string } | null> {
  try {
    const [row] = await query(`SELECT count(*)::BIGINT AS n, coalesce(sum(hash(t)), 0)::VARCHAR AS s FROM ${ruleSql(root, table)} t`);
    return { rows: Number(row?.n), sum: String(row?.s) };
  } catch (err) {
    if (/No files found/i.test(String(err))) return null;
    throw err;
  }
}

/** Rows of a plain glob (no rule): what a reader that only globs counts. */
export async function globCount(root: string, table: 'movies' | 'rejects' | 'runs'): Promise<number> {
  try {
    const [row] = await query(`SELECT count(*)::BIGINT AS n FROM read_parquet('${root}/${table}/**/*.parquet', hive_partitioning = true)`);
    return Number(row?.n);
  } catch (err) {
    if (/No files found/i.test(String(err))) return 0;
    throw err;
  }
}

/** The rule's rows and checksum of every table, and a plain glob's count of movies, in one DuckDB query (a step of the replacement test). */
export async function stepDigest(root: string): Promise<{ tables: Record<string, { rows: number; sum: string }>; globMovies: number }> {
  const parts = (['movies', 'rejects', 'runs'] as const).map((t) => `SELECT '${t}' AS t, count(*)::BIGINT AS n, coalesce(sum(hash(x)), 0)::VARCHAR AS s FROM ${ruleSql(root, t)} x`);
  parts.push(`SELECT 'glob' AS t, count(*)::BIGINT AS n, '' AS s FROM read_parquet('${root}/movies/**/*.parquet', hive_partitioning = true)`);
  const rows = await query(parts.join(' UNION ALL '));
  const tables: Record<string, { rows: number; sum: string }> = {};
  let globMovies = 0;
  for (const r of rows) {
    if (r.t === 'glob') globMovies = Number(r.n);
    else tables[String(r.t)] = { rows: Number(r.n), sum: String(r.s) };
  }
  return { tables, globMovies };
}

/** Waits for `done` (checked every 20 ms); fails naming `what` after `ms` instead of hanging the file. */
export async function until(done: () => boolean, what: string, ms = 60_000): Promise<void> {
  for (let waited = 0; !done(); waited += 20) {
    if (waited > ms) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Read through a function: the sink changes it between awaits, which TypeScript's narrowing does not know. */
export const stateOf = (health: HealthTarget) => health.s3?.state;

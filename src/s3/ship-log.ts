// The local record of what is in the bucket: DATA_DIR/_s3/shipped.json, one entry per object key
// (size, SHA-256 and ETag of what was uploaded, the local file's mtime). Written whole or not at all
// (temp, fsync, rename), so a crash loses at most the entries since the last save; those objects
// are found again by the LIST of the prefix at start (shipper.reconcile) and recorded unverified
// (no SHA-256): a pass HEADs such an object before it counts as shipped. A log written for another
// bucket or prefix starts empty (the LIST fills it). Keys are indexed by day, so that a day's work
// never scans the whole log.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { readMarker, writeMarker } from '../store/durable.js';

export const SHIP_DIR = '_s3';

export interface ShippedObject {
  size: number;
  /** '' while only a listing vouches for it (a predecessor's object, or one uploaded before a crash lost the entry). */
  sha256: string;
  /** The object's ETag as the server gave it: a later listing with another one means the object changed. */
  etag?: string;
  /** The local file's mtime when uploaded or verified: a file rewritten in place (same size) is hashed again. */
  mtimeMs?: number;
}

interface LogFile {
  version: 1;
  target: string;
  objects: Record<string, ShippedObject>;
}

/** The `dt=` of a key, or '' for keys outside a day (none are recorded today). */
export const dayOfKey = (key: string): string => /\/dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1] ?? '';

export class ShipLog {
  private dirty = false;
  private readonly byDay = new Map<string, Set<string>>();

  private constructor(
    private readonly file: string,
    private readonly target: string,
    private readonly objects: Map<string, ShippedObject>,
  ) {
    for (const key of objects.keys()) this.index(key);
  }

  /** `target`: s3://bucket/prefix at endpoint; a log for another one starts empty. */
  static async open(root: string, target: string): Promise<ShipLog> {
    const dir = path.join(root, SHIP_DIR);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'shipped.json');
    const saved = await readMarker<LogFile>(file, (v) => v.version === 1 && typeof v.objects === 'object' && v.objects !== null);
    const objects = saved?.target === target ? new Map(Object.entries(saved.objects)) : new Map<string, ShippedObject>();
    return new ShipLog(file, target, objects);
  }

  get(key: string): ShippedObject | undefined {
    return this.objects.get(key);
  }

  /** In the bucket as far as this log knows: same size (verified or not). */
  has(key: string, size: number): boolean {
    return this.objects.get(key)?.size === size;
  }

  get size(): number {
    return this.objects.size;
  }

  keys(): IterableIterator<string> {
    return this.objects.keys();
  }

  /** The keys of one day, every table. */
  dayKeys(dt: string): ReadonlySet<string> {
    return this.byDay.get(dt) ?? new Set();
  }

  /** The days the log holds keys of, oldest first. */
  days(): string[] {
    return [...this.byDay.keys()].filter((d) => d !== '').sort();
  }

  add(key: string, object: ShippedObject): void {
    this.objects.set(key, object);
    this.index(key);
    this.dirty = true;
  }

  delete(key: string): void {
    if (!this.objects.delete(key)) return;
    const dt = dayOfKey(key);
    const day = this.byDay.get(dt);
    day?.delete(key);
    if (day?.size === 0) this.byDay.delete(dt);
    this.dirty = true;
  }

  private index(key: string): void {
    const dt = dayOfKey(key);
    let day = this.byDay.get(dt);
    if (day === undefined) this.byDay.set(dt, (day = new Set()));
    day.add(key);
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const value: LogFile = { version: 1, target: this.target, objects: Object.fromEntries(this.objects) };
    await writeMarker(this.file, value);
  }
}

/**
 * This store's id for the start's probe key (`<prefix>/_probe/<id>`), kept in DATA_DIR/_s3/store-id.json:
 * a probe a crash left is this store's to delete at its next start, and no other store's probe in
 * progress is ever touched (the store lock keeps two processes of one store apart).
 */
export async function storeId(root: string): Promise<string> {
  const file = path.join(root, SHIP_DIR, 'store-id.json');
  const saved = await readMarker<{ id: string }>(file, (v) => typeof v.id === 'string' && /^[0-9a-f-]{36}$/.test(v.id));
  if (saved !== null) return saved.id;
  mkdirSync(path.dirname(file), { recursive: true });
  const id = randomUUID();
  await writeMarker(file, { id });
  return id;
}

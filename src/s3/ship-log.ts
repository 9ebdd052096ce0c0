// The local record of what is in the bucket: DATA_DIR/_s3/shipped.json, one entry per object key
// (size and SHA-256 of the file uploaded). Written whole or not at all (temp, fsync, rename), so a
// crash loses at most the entries since the last save; those objects are found again by the LIST
// of the prefix at start (shipper.reconcile: key and size) and not uploaded twice. A log written
// for another bucket or prefix starts empty (the LIST fills it).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { readMarker, writeMarker } from '../store/durable.js';

export const SHIP_DIR = '_s3';

export interface ShippedObject {
  size: number;
  sha256: string;
}

interface LogFile {
  version: 1;
  target: string;
  objects: Record<string, ShippedObject>;
}

export class ShipLog {
  private dirty = false;

  private constructor(
    private readonly file: string,
    private readonly target: string,
    readonly objects: Map<string, ShippedObject>,
  ) {}

  /** `target`: s3://bucket/prefix at endpoint; a log for another one starts empty. */
  static async open(root: string, target: string): Promise<ShipLog> {
    const dir = path.join(root, SHIP_DIR);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'shipped.json');
    const saved = await readMarker<LogFile>(file, (v) => v.version === 1 && typeof v.objects === 'object' && v.objects !== null);
    const objects = saved?.target === target ? new Map(Object.entries(saved.objects)) : new Map<string, ShippedObject>();
    return new ShipLog(file, target, objects);
  }

  has(key: string, size: number, sha256?: string): boolean {
    const entry = this.objects.get(key);
    return entry !== undefined && entry.size === size && (sha256 === undefined || entry.sha256 === sha256);
  }

  add(key: string, object: ShippedObject): void {
    this.objects.set(key, object);
    this.dirty = true;
  }

  delete(key: string): void {
    if (this.objects.delete(key)) this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const value: LogFile = { version: 1, target: this.target, objects: Object.fromEntries(this.objects) };
    await writeMarker(this.file, value);
  }
}

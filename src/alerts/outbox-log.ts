// The outbox's file, `<store>/_alerts/outbox.jsonl` (format 2): JSON lines, a header line
// `{"outbox":2}`, then one record per change, appended: an alert added (with its deliveries), one
// delivery's end, alerts written to the alerts table, alerts removed. Records set values (never
// increments), so a record applied twice changes nothing: a rewrite may hold the effect of a record
// appended after it. The file is rewritten whole (temp, fsync, rename) from memory when the bytes
// appended since the last rewrite exceed what it holds, so a delivery costs its own line, whatever
// the backlog. Before 0.4 the outbox was one JSON document, `outbox.json` (format 1), written whole
// on every change: it is read, and upgraded by the daemon.
import { appendFile, open, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fsync } from '../store/durable.js';
import type { Delivery, DeliveryStatus, OutboxEntry } from './outbox.js';

export const OUTBOX_FILE = 'outbox.jsonl';
/** The 0.3 outbox: `{"version":1,"entries":[...]}`. */
export const LEGACY_OUTBOX_FILE = 'outbox.json';
export const OUTBOX_FORMAT = 2;
export const HEADER_LINE = JSON.stringify({ outbox: OUTBOX_FORMAT });

export type OutboxRecord =
  | { add: OutboxEntry }
  | { delivery: Delivery & { key: string } }
  | { recorded: string[] }
  | { removed: string[] };

export interface ReadLog {
  records: OutboxRecord[];
  /** Lines that are not a record (not JSON, or not of this format): skipped. */
  badLines: number;
  /** The last line had no newline: a write cut by a crash, skipped. */
  torn: boolean;
}

const STATUSES: readonly DeliveryStatus[] = ['pending', 'sent', 'failed'];
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isKeys = (v: unknown): v is string[] => Array.isArray(v) && v.every((k) => typeof k === 'string');

function isDelivery(v: unknown): v is Delivery {
  return isObject(v) && typeof v.destination === 'string' && STATUSES.includes(v.status as DeliveryStatus) && typeof v.attempts === 'number';
}

/** An entry as format 1 and format 2 hold it. */
export function isEntry(v: unknown): v is OutboxEntry {
  return isObject(v) && isObject(v.alert) && typeof v.alert.key === 'string' && typeof v.alert.created_at === 'string' && Array.isArray(v.deliveries) && v.deliveries.every(isDelivery)
    && (v.unrecorded === undefined || typeof v.unrecorded === 'string');
}

function recordOf(v: unknown): OutboxRecord | null {
  if (!isObject(v) || Object.keys(v).length !== 1) return null;
  if ('add' in v) return isEntry(v.add) ? { add: v.add } : null;
  if ('delivery' in v) return isDelivery(v.delivery) && typeof (v.delivery as { key?: unknown }).key === 'string' ? { delivery: v.delivery as Delivery & { key: string } } : null;
  if ('recorded' in v) return isKeys(v.recorded) ? { recorded: v.recorded } : null;
  if ('removed' in v) return isKeys(v.removed) ? { removed: v.removed } : null;
  return null;
}

/** The records of a log's text; null when its first line is not this format's header (another file, or a newer format). */
export function parseLog(text: string): ReadLog | null {
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  // A torn header (a crash inside the first write) holds no record: as good as empty.
  if (lines.length === 0) return tail === '' || HEADER_LINE.startsWith(tail) ? { records: [], badLines: 0, torn: tail !== '' } : null;
  if (lines[0] !== HEADER_LINE) return null;
  const out: ReadLog = { records: [], badLines: 0, torn: tail !== '' };
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    let record: OutboxRecord | null = null;
    try {
      record = recordOf(JSON.parse(line) as unknown);
    } catch {
      record = null;
    }
    if (record) out.records.push(record);
    else out.badLines++;
  }
  return out;
}

/** The log's text, or null when there is none. */
export async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Appends lines (each ends with a newline); `sync`: fsynced before it resolves. */
export async function appendLines(file: string, text: string, sync: boolean): Promise<void> {
  if (!sync) return appendFile(file, text);
  const handle = await open(file, 'a');
  try {
    await handle.write(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces the log whole: written beside, fsynced, renamed into place, the folder fsynced. */
export async function rewriteLog(file: string, text: string): Promise<void> {
  const temp = `${file}.tmp`;
  await writeFile(temp, text);
  await fsync(temp);
  await rename(temp, file);
  await fsync(path.dirname(file));
}

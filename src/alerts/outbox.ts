// The outbox: every computed alert with its delivery state per destination, kept in memory and in
// `<store>/_alerts/outbox.jsonl` (outbox-log.ts: one line per change, rewritten whole now and then).
// An alert enters it (fsynced) before its rule state advances and leaves it when it is finished
// (delivered or given up everywhere, in the alerts table) and no longer among the newest
// KEEP_FINISHED, so a crash or a dead destination loses nothing younger than alerts.outboxDays.
// The outbox is bounded (MAX_OUTBOX_ENTRIES alerts, MAX_OUTBOX_BYTES of them): past the bound the
// oldest go, finished ones first; an alert dropped undelivered is logged and counted, like one
// older than alerts.outboxDays. One write at a time; changes asked for while one waits share it.
import { copyFileSync, existsSync, mkdirSync, renameSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/log.js';
import { fsync, readMarker, readMarkerOrSetAside } from '../store/durable.js';
import { HEADER_LINE, LEGACY_OUTBOX_FILE, OUTBOX_FILE, appendLines, isEntry, parseLog, readText, rewriteLog, type OutboxRecord } from './outbox-log.js';
import type { Alert } from './rules.js';
import { alertsDir } from './state.js';

export type DeliveryStatus = 'pending' | 'sent' | 'failed';

export interface Delivery {
  destination: string;
  status: DeliveryStatus;
  attempts: number;
  /** When the next attempt is due (ISO). */
  next_at: string;
  last_error: string | null;
  sent_at: string | null;
}

export interface OutboxEntry {
  alert: Alert;
  deliveries: Delivery[];
  /**
   * Set while the alert is not in the alerts table yet: the table file (batch id) it goes to.
   * Cleared once written; a write repeated after a restart keeps the file already there.
   */
  unrecorded?: string;
}

/** Delivered or given-up entries kept for display (the page, `report --section alerts`). */
const KEEP_FINISHED = 200;
/** The bound: at most this many alerts, and this many bytes of them (their lines in the file). */
export const MAX_OUTBOX_ENTRIES = 10_000;
export const MAX_OUTBOX_BYTES = 16 * 1024 * 1024;
/** The file is rewritten once the lines appended since the last rewrite exceed what it holds, or this. */
const MIN_REWRITE_BYTES = 64 * 1024;

/** Why deliveries were given up without being sent: alerts.outboxDays, or the bound. */
export type DropReason = 'expired' | 'outbox_full';

export interface OutboxOwner {
  logger: Logger;
  /** Deliveries given up unsent, by destination: the daemon counts them in /metrics. */
  dropped?: (destination: string, reason: DropReason, count: number) => void;
}

const finished = (e: OutboxEntry): boolean => e.unrecorded === undefined && e.deliveries.every((d) => d.status !== 'pending');
const entryLine = (e: OutboxEntry): string => JSON.stringify({ add: e } satisfies OutboxRecord);
const deliveryLine = (key: string, d: Delivery): string => JSON.stringify({ delivery: { key, ...d } } satisfies OutboxRecord);
const bytesOf = (line: string): number => Buffer.byteLength(line) + 1;

export class Outbox {
  private list: OutboxEntry[] = [];
  private readonly byKey = new Map<string, OutboxEntry>();
  /** Bytes of each alert's line, and their sum: the bound's measure. */
  private readonly sizes = new Map<string, number>();
  private contentBytes = 0;
  /** Bytes appended since the last rewrite; the next write rewrites the file when set. */
  private appended = 0;
  private rewriteNeeded = false;
  private buffer: string[] = [];
  private bufferSync = false;
  private queued: Promise<void> | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** What this process wrote to the file: appends, rewrites, bytes. */
  readonly stats = { appends: 0, rewrites: 0, bytesWritten: 0 };

  /** `file` null: a reader's copy, which never writes. */
  private constructor(
    private readonly file: string | null,
    private readonly owner: OutboxOwner | null,
  ) {}

  /**
   * The daemon's outbox: reads the file, skipping a line cut by a crash; unreadable lines are
   * skipped, with a copy of the file set aside; a file that is no outbox is moved aside (the
   * outbox starts empty). A 0.3 `outbox.json` is upgraded to the log, then removed.
   */
  static async open(root: string, owner: OutboxOwner): Promise<Outbox> {
    const file = path.join(alertsDir(root), OUTBOX_FILE);
    const legacy = path.join(alertsDir(root), LEGACY_OUTBOX_FILE);
    const outbox = new Outbox(file, owner);
    const warn = (message: string, meta: Record<string, unknown>) => owner.logger.warn(`alerts: ${message}`, meta);
    const text = await readText(file);
    outbox.rewriteNeeded = true; // no file yet, or one to clean: the first write rewrites it
    if (text !== null) {
      const log = parseLog(text);
      if (log === null) {
        const aside = `${file}.corrupt-${stamp()}`;
        renameSync(file, aside);
        warn(`${file} is unreadable (not an outbox of format 2); moved to ${aside}; the outbox starts empty: the alerts pending in it will not be delivered`, { file, movedTo: aside });
      } else {
        for (const record of log.records) outbox.apply(record);
        if (log.badLines > 0) {
          const copy = `${file}.corrupt-${stamp()}`;
          copyFileSync(file, copy);
          warn(`${file}: ${log.badLines} unreadable line(s) skipped (the changes they held are lost: an alert may be sent again, or not at all); a copy of the file is kept as ${copy}`, { file, copy, lines: log.badLines });
        }
        outbox.rewriteNeeded = log.torn || log.badLines > 0;
        outbox.appended = Buffer.byteLength(text) - bytesOf(HEADER_LINE);
      }
      // An upgrade cut short after the log was complete: the 0.3 file is left over.
      if (existsSync(legacy)) unlinkSync(legacy);
    } else {
      const saved = await readMarkerOrSetAside<{ version: 1; entries: unknown[] }>(legacy, (v) => v.version === 1 && Array.isArray(v.entries), (aside, why) => {
        warn(`${legacy} is unreadable (${why}); moved to ${aside}; the outbox starts empty: the alerts pending in it will not be delivered`, { file: legacy, movedTo: aside });
      });
      if (saved) {
        for (const entry of saved.entries.filter(isEntry)) outbox.apply({ add: entry });
        await outbox.write([], true); // the log, whole and fsynced, before the old file goes
        unlinkSync(legacy);
        await fsync(path.dirname(legacy));
        owner.logger.info(`alerts: ${legacy} (format 1) upgraded to ${file}`, { entries: outbox.list.length });
      }
    }
    const removed = outbox.makeRoom();
    if (removed.length > 0) await outbox.write([JSON.stringify({ removed } satisfies OutboxRecord)], false);
    return outbox;
  }

  /** A reader's copy (the report): what the file says now; never writes, never moves a file. */
  static async read(root: string): Promise<Outbox> {
    const outbox = new Outbox(null, null);
    const text = await readText(path.join(alertsDir(root), OUTBOX_FILE));
    if (text !== null) {
      for (const record of parseLog(text)?.records ?? []) outbox.apply(record);
    } else {
      const saved = await readMarker<{ version: 1; entries: unknown[] }>(path.join(alertsDir(root), LEGACY_OUTBOX_FILE), (v) => v.version === 1 && Array.isArray(v.entries));
      for (const entry of saved?.entries.filter(isEntry) ?? []) outbox.apply({ add: entry });
    }
    return outbox;
  }

  /** Oldest first. */
  get entries(): readonly OutboxEntry[] {
    return this.list;
  }

  /** Alerts held and the bytes of their lines (the bound's measures). */
  size(): { entries: number; bytes: number } {
    return { entries: this.list.length, bytes: this.contentBytes };
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /**
   * Adds alerts not held yet (same key = same alert), to be recorded as table file `batch`, makes
   * room past the bound, and writes them durably (fsync); returns those added.
   */
  async add(alerts: Alert[], now: Date, batch: string): Promise<Alert[]> {
    const added: Alert[] = [];
    const lines: string[] = [];
    for (const alert of alerts) {
      if (this.byKey.has(alert.key)) continue;
      const entry: OutboxEntry = { alert, unrecorded: batch, deliveries: alert.destinations.map((destination) => ({ destination, status: 'pending', attempts: 0, next_at: now.toISOString(), last_error: null, sent_at: null })) };
      this.apply({ add: entry });
      lines.push(entryLine(entry));
      added.push(alert);
    }
    if (added.length === 0) return added;
    const removed = this.makeRoom();
    if (removed.length > 0) lines.push(JSON.stringify({ removed } satisfies OutboxRecord));
    await this.write(lines, true);
    return added;
  }

  /** A destination's oldest pending delivery. */
  oldestPending(destination: string): { entry: OutboxEntry; delivery: Delivery } | null {
    for (const entry of this.list) {
      const delivery = entry.deliveries.find((d) => d.destination === destination && d.status === 'pending');
      if (delivery) return { entry, delivery };
    }
    return null;
  }

  hasPending(destination: string): boolean {
    return this.oldestPending(destination) !== null;
  }

  pending(): Array<{ entry: OutboxEntry; delivery: Delivery }> {
    return this.list.flatMap((entry) => entry.deliveries.filter((d) => d.status === 'pending').map((delivery) => ({ entry, delivery })));
  }

  /**
   * A delivery ended (sent or given up; the caller changed it): its line is appended, not fsynced.
   * A power cut may lose it: the alert is then sent again, under the same key (at least once).
   */
  finish(entry: OutboxEntry, delivery: Delivery): Promise<void> {
    if (this.byKey.get(entry.alert.key) !== entry) return Promise.resolve(); // dropped meanwhile
    return this.write([deliveryLine(entry.alert.key, delivery)], false);
  }

  /** Alerts not in the alerts table yet, by table file. */
  unrecorded(): Map<string, OutboxEntry[]> {
    const batches = new Map<string, OutboxEntry[]>();
    for (const e of this.list) {
      if (e.unrecorded === undefined) continue;
      const batch = batches.get(e.unrecorded);
      if (batch) batch.push(e);
      else batches.set(e.unrecorded, [e]);
    }
    return batches;
  }

  /** These alerts are in the alerts table now (not fsynced: lost, the table write is repeated and keeps the file there). */
  recorded(entries: OutboxEntry[]): Promise<void> {
    const keys = entries.filter((e) => e.unrecorded !== undefined).map((e) => e.alert.key);
    if (keys.length === 0) return Promise.resolve();
    this.apply({ recorded: keys });
    return this.write([JSON.stringify({ recorded: keys } satisfies OutboxRecord)], false);
  }

  /**
   * Gives up the pending deliveries of alerts older than `days` (marked failed; logged, counted)
   * and removes finished entries but the newest KEEP_FINISHED. Returns the deliveries given up.
   * The lines are written in the background (a failure is logged; the next write rewrites the file).
   */
  expire(now: Date, days: number): number {
    const cutoff = now.getTime() - days * 86_400_000;
    const lines: string[] = [];
    const byDestination = new Map<string, number>();
    for (const e of this.list) {
      if (Date.parse(e.alert.created_at) >= cutoff) continue;
      for (const d of e.deliveries) {
        if (d.status !== 'pending') continue;
        d.status = 'failed';
        d.last_error = `${d.last_error ?? 'not delivered'}; dropped from the outbox after ${days} days`;
        lines.push(deliveryLine(e.alert.key, d));
        byDestination.set(d.destination, (byDestination.get(d.destination) ?? 0) + 1);
      }
    }
    const done = this.list.filter(finished);
    const removed = done.slice(0, Math.max(0, done.length - KEEP_FINISHED)).map((e) => e.alert.key);
    if (removed.length > 0) {
      this.apply({ removed });
      lines.push(JSON.stringify({ removed } satisfies OutboxRecord));
    }
    const dropped = [...byDestination.values()].reduce((a, b) => a + b, 0);
    if (dropped > 0) {
      this.owner?.logger.warn(`alerts: ${dropped} undelivered alert(s) dropped from the outbox after ${days} days (alerts.outboxDays)`, { dropped, byDestination: Object.fromEntries(byDestination) });
      for (const [destination, n] of byDestination) this.owner?.dropped?.(destination, 'expired', n);
    }
    if (lines.length > 0) {
      this.write(lines, false).catch((err: unknown) => this.owner?.logger.error(`alerts: the outbox could not be written (${String(err)}); it is rewritten whole at the next change`));
    }
    return dropped;
  }

  /** Waits for the writes asked for so far. */
  async idle(): Promise<void> {
    await this.writing.catch(() => undefined);
  }

  /** Applies one record to memory: the file's replay, and the changes the outbox makes itself. */
  private apply(record: OutboxRecord): void {
    if ('add' in record) {
      const entry = record.add;
      if (this.byKey.has(entry.alert.key)) return;
      this.list.push(entry);
      this.byKey.set(entry.alert.key, entry);
      const bytes = bytesOf(entryLine(entry));
      this.sizes.set(entry.alert.key, bytes);
      this.contentBytes += bytes;
    } else if ('delivery' in record) {
      const { key, ...change } = record.delivery;
      const delivery = this.byKey.get(key)?.deliveries.find((d) => d.destination === change.destination);
      if (delivery) Object.assign(delivery, change);
    } else if ('recorded' in record) {
      for (const key of record.recorded) delete this.byKey.get(key)?.unrecorded;
    } else {
      const gone = new Set(record.removed.filter((k) => this.byKey.has(k)));
      if (gone.size === 0) return;
      this.list = this.list.filter((e) => !gone.has(e.alert.key));
      for (const key of gone) {
        this.byKey.delete(key);
        this.contentBytes -= this.sizes.get(key) ?? 0;
        this.sizes.delete(key);
      }
    }
  }

  /**
   * Past the bound, removes the oldest alerts, finished ones first, then any (their pending
   * deliveries given up: logged, counted). Returns the keys removed (the caller writes them).
   */
  private makeRoom(): string[] {
    let entries = this.list.length - MAX_OUTBOX_ENTRIES;
    let bytes = this.contentBytes - MAX_OUTBOX_BYTES;
    if (entries <= 0 && bytes <= 0) return [];
    const victims: OutboxEntry[] = [];
    for (const pass of [finished, (e: OutboxEntry) => !finished(e)]) {
      for (const e of this.list) {
        if (entries <= 0 && bytes <= 0) break;
        if (!pass(e)) continue;
        victims.push(e);
        entries--;
        bytes -= this.sizes.get(e.alert.key) ?? 0;
      }
    }
    const byDestination = new Map<string, number>();
    for (const e of victims) for (const d of e.deliveries) if (d.status === 'pending') byDestination.set(d.destination, (byDestination.get(d.destination) ?? 0) + 1);
    const unrecorded = victims.filter((e) => e.unrecorded !== undefined).length;
    const removed = victims.map((e) => e.alert.key);
    this.apply({ removed });
    const undelivered = victims.filter((e) => !finished(e)).length;
    if (undelivered > 0) {
      this.owner?.logger.warn(
        `alerts: the outbox is full (at most ${MAX_OUTBOX_ENTRIES} alerts and ${MAX_OUTBOX_BYTES / 1024 / 1024} MiB): its ${undelivered} oldest unfinished alert(s) dropped${unrecorded > 0 ? `, ${unrecorded} of them not in the alerts table` : ''}; a destination is failing for long (see /healthz)`,
        { dropped: undelivered, unrecorded, byDestination: Object.fromEntries(byDestination) },
      );
      for (const [destination, n] of byDestination) this.owner?.dropped?.(destination, 'outbox_full', n);
    }
    return removed;
  }

  /** Queues lines (sync: fsynced before it resolves); lines asked for while a write waits to start share it. */
  private write(lines: string[], sync: boolean): Promise<void> {
    if (this.file === null) throw new Error('the outbox was opened for reading only');
    this.buffer.push(...lines);
    this.bufferSync ||= sync;
    if (this.queued) return this.queued;
    const next = this.writing.catch(() => undefined).then(() => this.flush());
    this.queued = next;
    this.writing = next;
    return next;
  }

  private async flush(): Promise<void> {
    this.queued = null;
    const file = this.file ?? '';
    const text = this.buffer.map((l) => `${l}\n`).join('');
    const sync = this.bufferSync;
    this.buffer = [];
    this.bufferSync = false;
    const bytes = Buffer.byteLength(text);
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      if (this.rewriteNeeded || this.appended + bytes > Math.max(this.contentBytes, MIN_REWRITE_BYTES)) {
        // Memory holds every change so far, those of the lines in hand included.
        const lines = this.list.map(entryLine);
        this.contentBytes = 0;
        lines.forEach((line, i) => {
          const key = this.list[i]?.alert.key ?? '';
          this.sizes.set(key, bytesOf(line));
          this.contentBytes += bytesOf(line);
        });
        const whole = [HEADER_LINE, ...lines].map((l) => `${l}\n`).join('');
        await rewriteLog(file, whole);
        this.stats.rewrites++;
        this.stats.bytesWritten += Buffer.byteLength(whole);
        this.appended = 0;
        this.rewriteNeeded = false;
      } else if (bytes > 0) {
        await appendLines(file, text, sync);
        this.stats.appends++;
        this.stats.bytesWritten += bytes;
        this.appended += bytes;
      }
    } catch (err) {
      this.rewriteNeeded = true; // a line may be cut: the next write replaces the file
      throw err;
    }
  }
}

const stamp = (): string => new Date().toISOString().replaceAll(':', '');

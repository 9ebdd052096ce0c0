// The outbox: every computed alert with its delivery state per destination, in
// `<store>/_alerts/outbox.json` (written whole: temp, fsync, rename; one write at a time). An
// alert enters it before its rule state advances and leaves it only when delivered, given up or
// older than alerts.outboxDays, so a crash or a dead destination loses nothing younger than that.
// Finished entries stay (the newest KEEP_FINISHED) for the page and `report --section alerts`.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/log.js';
import { readMarker, readMarkerOrSetAside, writeMarker } from '../store/durable.js';
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
   * Cleared in memory once written; a write repeated after a restart keeps the file already there.
   */
  unrecorded?: string;
}

interface OutboxFile {
  version: 1;
  entries: OutboxEntry[];
}

/** Delivered or given-up entries kept for display. */
const KEEP_FINISHED = 200;

const file = (root: string) => path.join(alertsDir(root), 'outbox.json');

export class Outbox {
  private writing: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;

  private constructor(
    private readonly root: string,
    readonly entries: OutboxEntry[],
  ) {}

  /**
   * The saved outbox. `logger`: given by its owner, the daemon, which sets a corrupt file aside
   * with a warning and starts empty; a reader (the report) gives none and reads such a file as empty.
   */
  static async open(root: string, logger?: Logger): Promise<Outbox> {
    const valid = (v: Partial<OutboxFile>) => v.version === 1 && Array.isArray(v.entries);
    const saved = logger === undefined ? await readMarker<OutboxFile>(file(root), valid) : await readMarkerOrSetAside<OutboxFile>(file(root), valid, (aside, why) => {
      logger.warn(`alerts: ${file(root)} is unreadable (${why}); moved to ${aside}; the outbox starts empty: the alerts pending in it will not be delivered`, { file: file(root), movedTo: aside });
    });
    return new Outbox(root, saved?.entries ?? []);
  }

  has(key: string): boolean {
    return this.entries.some((e) => e.alert.key === key);
  }

  /** Adds alerts not held yet (same key = same alert), to be recorded as table file `batch`, and saves; returns those added. */
  async add(alerts: Alert[], now: Date, batch: string): Promise<Alert[]> {
    const held = new Set(this.entries.map((e) => e.alert.key));
    const added = alerts.filter((a) => !held.has(a.key));
    for (const alert of added) {
      this.entries.push({ alert, unrecorded: batch, deliveries: alert.destinations.map((destination) => ({ destination, status: 'pending', attempts: 0, next_at: now.toISOString(), last_error: null, sent_at: null })) });
    }
    if (added.length > 0) await this.save();
    return added;
  }

  /** A destination's oldest pending delivery (entries are kept oldest first). */
  oldestPending(destination: string): { entry: OutboxEntry; delivery: Delivery } | null {
    for (const entry of this.entries) {
      const delivery = entry.deliveries.find((d) => d.destination === destination && d.status === 'pending');
      if (delivery) return { entry, delivery };
    }
    return null;
  }

  hasPending(destination: string): boolean {
    return this.oldestPending(destination) !== null;
  }

  /** Alerts not in the alerts table yet, by table file. */
  unrecorded(): Map<string, OutboxEntry[]> {
    const batches = new Map<string, OutboxEntry[]>();
    for (const e of this.entries) if (e.unrecorded !== undefined) batches.set(e.unrecorded, [...(batches.get(e.unrecorded) ?? []), e]);
    return batches;
  }

  pending(): Array<{ entry: OutboxEntry; delivery: Delivery }> {
    return this.entries.flatMap((entry) => entry.deliveries.filter((d) => d.status === 'pending').map((delivery) => ({ entry, delivery })));
  }

  /**
   * Drops pending deliveries of alerts older than `days` (marked failed: given up) and trims
   * finished entries to the newest KEEP_FINISHED. Returns how many deliveries were given up.
   */
  expire(now: Date, days: number): number {
    const cutoff = now.getTime() - days * 86_400_000;
    let dropped = 0;
    for (const e of this.entries) {
      if (Date.parse(e.alert.created_at) >= cutoff) continue;
      for (const d of e.deliveries) {
        if (d.status !== 'pending') continue;
        d.status = 'failed';
        d.last_error = `${d.last_error ?? 'not delivered'}; dropped from the outbox after ${days} days`;
        dropped++;
      }
    }
    const finished = this.entries.filter((e) => e.unrecorded === undefined && e.deliveries.every((d) => d.status !== 'pending'));
    const excess = new Set(finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED)));
    if (excess.size > 0) this.entries.splice(0, this.entries.length, ...this.entries.filter((e) => !excess.has(e)));
    return dropped;
  }

  /**
   * Writes the whole outbox durably; writes queue behind each other, and saves asked for while
   * one waits to start share it (it serialises the entries when it starts, so it holds every
   * change made before).
   */
  save(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.writing.catch(() => undefined).then(async () => {
      this.queued = null;
      mkdirSync(alertsDir(this.root), { recursive: true });
      await writeMarker(file(this.root), { version: 1, entries: this.entries } satisfies OutboxFile);
    });
    this.queued = next;
    this.writing = next;
    return next;
  }
}

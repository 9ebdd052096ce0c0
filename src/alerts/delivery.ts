// Delivery beside the polls: one worker per destination sends its pending alerts oldest first,
// one at a time, head of line: only the destination's oldest pending alert is tried, and a
// transient failure (network error, timeout, 408/429/5xx) pauses the whole destination for a
// capped exponential backoff with jitter, or Retry-After when that is longer (capped too). Any
// other answer (4xx, a redirect) gives that alert up at once and the next one is tried.
// A failed attempt is counted in memory only: the outbox gets a line when a delivery ends (sent,
// given up, expired), so a dead destination costs one request per backoff and no disk writes.
// Nothing here is awaited by a poll.
import type { Logger } from '../log/log.js';
import { redactLine, knownSecrets } from '../runtime/redact.js';
import { shownUrl, type AlertDestination, type AlertSettings } from './config.js';
import { buildRequest } from './destinations.js';
import type { AlertMetrics } from './metrics.js';
import type { Delivery, Outbox, OutboxEntry } from './outbox.js';
import { send } from './send.js';

const FIRST_RETRY_MS = 1000;

export function backoffMs(attempts: number, capMs: number, retryAfter: number | null, random = Math.random): number {
  const exp = FIRST_RETRY_MS * 2 ** Math.min(attempts - 1, 30);
  const delay = Math.max(exp * (1 + random() * 0.2), retryAfter ?? 0);
  return Math.min(capMs, delay);
}

export class Deliverer {
  private timer: NodeJS.Timeout | null = null;
  private readonly busy = new Set<string>();
  private readonly stopper = new AbortController();
  private readonly running = new Set<Promise<void>>();
  /** Per destination: failed attempts in a row and the time (ms) before which it is not tried. */
  private readonly paused = new Map<string, { failures: number; until: number }>();
  /** Destinations whose last attempt failed, with the reason: /healthz shows them as degraded. */
  readonly failing = new Map<string, string>();

  constructor(
    private readonly outbox: Outbox,
    private readonly settings: () => AlertSettings,
    private readonly logger: Logger,
    private readonly metrics: AlertMetrics | null,
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** Starts whatever is due now and sets a timer for the next due attempt. */
  kick(): void {
    if (this.stopper.signal.aborted) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const { destinations, outboxDays } = this.settings();
    this.outbox.expire(new Date(), outboxDays); // logged and counted by the outbox
    const now = Date.now();
    let next = Infinity;
    for (const { name } of destinations) {
      // A destination removed from the config is not listed: its alerts wait (and expire) in the outbox.
      if (this.busy.has(name) || !this.outbox.hasPending(name)) continue;
      const until = this.paused.get(name)?.until ?? 0;
      if (until <= now) this.startWorker(name);
      else next = Math.min(next, until);
    }
    this.metrics?.setOutbox(this.outbox, destinations.map((d) => d.name));
    if (next !== Infinity) {
      this.timer = setTimeout(() => this.kick(), Math.max(0, next - now));
      this.timer.unref();
    }
  }

  private startWorker(name: string): void {
    this.busy.add(name);
    const run = this.work(name)
      .catch((err: unknown) => {
        this.logger.error(`alerts: delivery to ${name} stopped: ${String(err)}`);
      })
      .finally(() => {
        this.busy.delete(name);
        this.running.delete(run);
        this.kick();
      });
    this.running.add(run);
  }

  /** Sends this destination's pending alerts, oldest first, until none is left or it fails. */
  private async work(name: string): Promise<void> {
    for (;;) {
      if (this.stopper.signal.aborted) return;
      const destination = this.settings().destinations.find((d) => d.name === name);
      if (!destination || (this.paused.get(name)?.until ?? 0) > Date.now()) return;
      const head = this.outbox.oldestPending(name);
      if (!head) return;
      await this.attempt(destination, head.entry, head.delivery);
    }
  }

  private async attempt(destination: AlertDestination, entry: OutboxEntry, delivery: Delivery): Promise<void> {
    const settings = this.settings();
    const outcome = await send(buildRequest(destination, entry.alert), settings, this.stopper.signal);
    if (this.stopper.signal.aborted) return; // not an attempt: sent again after the restart, same key
    delivery.attempts++;
    const where = `${destination.name} (${destination.type} ${shownUrl(destination.url)})`;
    if (outcome.ok) {
      delivery.status = 'sent';
      delivery.sent_at = new Date().toISOString();
      delivery.last_error = null;
      this.paused.delete(destination.name);
      this.metrics?.sent(destination.name);
      if (this.failing.delete(destination.name)) this.logger.info(`alerts: ${where} accepts alerts again`);
      this.logger.info(`alert delivered to ${destination.name}`, { rule: entry.alert.rule, kind: entry.alert.kind, key: entry.alert.key, attempts: delivery.attempts });
    } else {
      const error = redactLine(outcome.error, knownSecrets());
      delivery.last_error = error;
      this.metrics?.failed(destination.name);
      this.failing.set(destination.name, error);
      if (outcome.retry) {
        const failures = (this.paused.get(destination.name)?.failures ?? 0) + 1;
        const wait = backoffMs(failures, settings.maxRetryDelayMs, outcome.retryAfterMs);
        this.paused.set(destination.name, { failures, until: Date.now() + wait });
        delivery.next_at = new Date(Date.now() + wait).toISOString();
        this.logger.warn(`alert delivery to ${where} failed (${error}); trying again in ${Math.round(wait / 1000)} s`, { key: entry.alert.key, attempts: delivery.attempts });
        this.onChange();
        return; // kept in memory: the outbox is written when the delivery ends
      }
      delivery.status = 'failed';
      this.logger.error(`alert delivery to ${where} failed (${error}); given up: fix the destination in alerts.destinations`, { key: entry.alert.key, attempts: delivery.attempts });
    }
    await this.outbox.finish(entry, delivery);
    this.metrics?.setOutbox(this.outbox, settings.destinations.map((d) => d.name));
    this.onChange();
  }

  /** Stops the timer and any attempt in flight (an interrupted attempt stays pending). */
  async stop(): Promise<void> {
    this.stopper.abort();
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.running]);
  }

  /** Waits for the workers running now (tests, `alerts test`). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}

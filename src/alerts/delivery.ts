// Delivery beside the polls: one worker per destination sends its pending alerts oldest first,
// one at a time, and records each attempt in the outbox. A transient failure (network error,
// timeout, 408/429/5xx) is tried again after a capped exponential backoff with jitter, or after
// Retry-After when that is longer (capped too); any other answer (4xx, a redirect) gives up at
// once. Nothing here is awaited by a poll.
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
    const dropped = this.outbox.expire(new Date(), outboxDays);
    if (dropped > 0) {
      this.logger.warn(`alerts: ${dropped} undelivered alert(s) dropped from the outbox after ${outboxDays} days (alerts.outboxDays)`, { dropped });
      void this.outbox.save();
    }
    const byName = new Map(destinations.map((d) => [d.name, d]));
    const now = Date.now();
    let next = Infinity;
    for (const { delivery } of this.outbox.pending()) {
      if (!byName.has(delivery.destination)) continue; // removed from the config: it waits (and expires) in the outbox
      const due = Date.parse(delivery.next_at);
      if (due <= now) {
        if (!this.busy.has(delivery.destination)) this.startWorker(delivery.destination);
      } else {
        next = Math.min(next, due);
      }
    }
    this.metrics?.setPending(this.outbox.pending(), destinations.map((d) => d.name));
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

  /** Sends this destination's due deliveries, oldest first, until none is due. */
  private async work(name: string): Promise<void> {
    for (;;) {
      if (this.stopper.signal.aborted) return;
      const destination = this.settings().destinations.find((d) => d.name === name);
      if (!destination) return;
      const now = Date.now();
      const item = this.outbox.pending().find(({ delivery }) => delivery.destination === name && Date.parse(delivery.next_at) <= now);
      if (!item) return;
      await this.attempt(destination, item.entry, item.delivery);
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
      this.metrics?.sent(destination.name);
      if (this.failing.delete(destination.name)) this.logger.info(`alerts: ${where} accepts alerts again`);
      this.logger.info(`alert delivered to ${destination.name}`, { rule: entry.alert.rule, kind: entry.alert.kind, key: entry.alert.key, attempts: delivery.attempts });
    } else {
      const error = redactLine(outcome.error, knownSecrets());
      delivery.last_error = error;
      this.metrics?.failed(destination.name);
      this.failing.set(destination.name, error);
      if (outcome.retry) {
        const wait = backoffMs(delivery.attempts, settings.maxRetryDelayMs, outcome.retryAfterMs);
        delivery.next_at = new Date(Date.now() + wait).toISOString();
        this.logger.warn(`alert delivery to ${where} failed (${error}); trying again in ${Math.round(wait / 1000)} s`, { key: entry.alert.key, attempts: delivery.attempts });
      } else {
        delivery.status = 'failed';
        this.logger.error(`alert delivery to ${where} failed (${error}); given up: fix the destination in alerts.destinations`, { key: entry.alert.key, attempts: delivery.attempts });
      }
    }
    await this.outbox.save();
    this.metrics?.setPending(this.outbox.pending(), settings.destinations.map((d) => d.name));
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

// The alerts' Prometheus series, registered on the daemon's registry (health.ts's Metrics): sent
// and failed attempts, deliveries pending and dropped unsent, by destination; the outbox's size.
import client from 'prom-client';
import { MAX_OUTBOX_BYTES, MAX_OUTBOX_ENTRIES, type DropReason, type Outbox } from './outbox.js';

/** Every DropReason (the object makes the compiler list them all). */
const DROP_REASONS = Object.keys({ expired: 0, outbox_full: 0 } satisfies Record<DropReason, 0>) as DropReason[];

export class AlertMetrics {
  private readonly sentTotal: client.Counter;
  private readonly failedTotal: client.Counter;
  private readonly pendingGauge: client.Gauge;
  private readonly alertsTotal: client.Counter;
  private readonly droppedTotal: client.Counter;
  private readonly outboxEntries: client.Gauge;
  private readonly outboxBytes: client.Gauge;

  constructor(registry: client.Registry) {
    this.sentTotal = new client.Counter({ name: 'collector_alerts_sent_total', help: 'Alerts delivered, by destination.', labelNames: ['destination'], registers: [registry] });
    this.failedTotal = new client.Counter({ name: 'collector_alerts_failed_total', help: 'Failed delivery attempts, by destination.', labelNames: ['destination'], registers: [registry] });
    this.pendingGauge = new client.Gauge({ name: 'collector_alerts_pending', help: 'Alerts waiting in the outbox, by destination.', labelNames: ['destination'], registers: [registry] });
    this.alertsTotal = new client.Counter({ name: 'collector_alerts_total', help: 'Alerts computed, by rule kind.', labelNames: ['kind'], registers: [registry] });
    this.droppedTotal = new client.Counter({
      name: 'collector_alerts_dropped_total', help: 'Deliveries given up unsent, by destination and reason: expired (alerts.outboxDays) or outbox_full (the bound).', labelNames: ['destination', 'reason'], registers: [registry],
    });
    this.outboxEntries = new client.Gauge({ name: 'collector_alerts_outbox_entries', help: `Alerts held in the outbox (bound: ${MAX_OUTBOX_ENTRIES}).`, registers: [registry] });
    this.outboxBytes = new client.Gauge({ name: 'collector_alerts_outbox_bytes', help: `Bytes of the alerts held in the outbox, as its file holds them (bound: ${MAX_OUTBOX_BYTES}).`, registers: [registry] });
  }

  sent(destination: string): void {
    this.sentTotal.inc({ destination });
  }

  failed(destination: string): void {
    this.failedTotal.inc({ destination });
  }

  computed(kind: string): void {
    this.alertsTotal.inc({ kind });
  }

  dropped(destination: string, reason: DropReason, count: number): void {
    this.droppedTotal.inc({ destination, reason }, count);
  }

  /** Pending deliveries by destination (every configured one, 0 included) and the outbox's size. */
  setOutbox(outbox: Pick<Outbox, 'pending' | 'size'>, destinations: string[] = []): void {
    const counts = new Map<string, number>(destinations.map((d) => [d, 0]));
    for (const { delivery } of outbox.pending()) counts.set(delivery.destination, (counts.get(delivery.destination) ?? 0) + 1);
    this.pendingGauge.reset();
    for (const [destination, n] of counts) this.pendingGauge.set({ destination }, n);
    // Each destination's drop counts exist from 0, so that Prometheus's increase() sees the first drop.
    for (const destination of destinations) for (const reason of DROP_REASONS) this.droppedTotal.inc({ destination, reason }, 0);
    const { entries, bytes } = outbox.size();
    this.outboxEntries.set(entries);
    this.outboxBytes.set(bytes);
  }
}

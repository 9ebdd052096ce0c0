// The alerts' Prometheus series, registered on the daemon's registry (health.ts's Metrics): sent
// and failed attempts, and deliveries pending, by destination.
import client from 'prom-client';
import type { Delivery, OutboxEntry } from './outbox.js';

export class AlertMetrics {
  private readonly sentTotal: client.Counter;
  private readonly failedTotal: client.Counter;
  private readonly pendingGauge: client.Gauge;
  private readonly alertsTotal: client.Counter;

  constructor(registry: client.Registry) {
    this.sentTotal = new client.Counter({ name: 'collector_alerts_sent_total', help: 'Alerts delivered, by destination.', labelNames: ['destination'], registers: [registry] });
    this.failedTotal = new client.Counter({ name: 'collector_alerts_failed_total', help: 'Failed delivery attempts, by destination.', labelNames: ['destination'], registers: [registry] });
    this.pendingGauge = new client.Gauge({ name: 'collector_alerts_pending', help: 'Alerts waiting in the outbox, by destination.', labelNames: ['destination'], registers: [registry] });
    this.alertsTotal = new client.Counter({ name: 'collector_alerts_total', help: 'Alerts computed, by rule kind.', labelNames: ['kind'], registers: [registry] });
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

  setPending(pending: Array<{ entry: OutboxEntry; delivery: Delivery }>, destinations: string[] = []): void {
    const counts = new Map<string, number>(destinations.map((d) => [d, 0]));
    for (const { delivery } of pending) counts.set(delivery.destination, (counts.get(delivery.destination) ?? 0) + 1);
    this.pendingGauge.reset();
    for (const [destination, n] of counts) this.pendingGauge.set({ destination }, n);
  }
}

// The daemon's Prometheus metrics (prom-client, GET /metrics): polls, records, HTTP attempts and
// retries, skipped ticks, failed polls in a row, compaction, and the process's own (RSS, open fds,
// event loop lag).
import client from 'prom-client';
import type { PollSummary } from '../poll/poll.js';

export class Metrics {
  readonly registry = new client.Registry();
  private readonly polls = new client.Counter({ name: 'collector_polls_total', help: 'Polls by status (complete, partial, failed).', labelNames: ['status'], registers: [this.registry] });
  private readonly fetched = new client.Counter({ name: 'collector_records_fetched_total', help: 'Detail answers received (HTTP 200), by provider.', labelNames: ['provider'], registers: [this.registry] });
  private readonly rejected = new client.Counter({ name: 'collector_records_rejected_total', help: 'Answers that failed validation, by provider.', labelNames: ['provider'], registers: [this.registry] });
  private readonly responses = new client.Counter({ name: 'collector_http_responses_total', help: 'HTTP attempts by provider and status (or error code).', labelNames: ['provider', 'status'], registers: [this.registry] });
  private readonly retries = new client.Counter({ name: 'collector_http_retries_total', help: 'HTTP retries, by provider.', labelNames: ['provider'], registers: [this.registry] });
  private readonly skipped = new client.Counter({ name: 'collector_ticks_skipped_total', help: 'Schedule ticks skipped because a poll was still running.', registers: [this.registry] });
  private readonly duration = new client.Histogram({ name: 'collector_poll_duration_seconds', help: 'Duration of polls.', buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600], registers: [this.registry] });
  private readonly compactedDays = new client.Counter({ name: 'collector_compacted_days_total', help: 'Closed days compacted into one file per table and provider.', registers: [this.registry] });
  private readonly compactionFailures = new client.Counter({ name: 'collector_compaction_failures_total', help: 'Compactions that failed (the day stays uncompacted and readable).', registers: [this.registry] });
  private readonly schemaChanges = new client.Counter({ name: 'collector_schema_changes_total', help: 'Changes in the shape of provider answers (new-field, missing-field, type-change), by provider and kind.', labelNames: ['provider', 'kind'], registers: [this.registry] });
  private readonly lastSuccess = new client.Gauge({ name: 'collector_last_success_timestamp_seconds', help: 'End of the last poll that committed data (complete or partial), as a Unix time.', registers: [this.registry] });
  /** Where the failed polls in a row are read at each scrape: the count /healthz and the `failing` rule use. */
  private failedInARow: () => number = () => 0;
  private readonly consecutiveFailures: client.Gauge = new client.Gauge({
    name: 'collector_consecutive_failed_polls', help: 'Polls failed in a row, as /healthz counts them (carried across a restart; 0 after a poll that committed data).', registers: [this.registry],
    collect: (): void => this.consecutiveFailures.set(this.failedInARow()),
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry }); // RSS, open fds, event loop lag
  }

  recordPoll(summary: PollSummary): void {
    this.polls.inc({ status: summary.status });
    this.duration.observe((summary.finishedAt.getTime() - summary.startedAt.getTime()) / 1000);
    if (summary.status !== 'failed') this.lastSuccess.set(summary.finishedAt.getTime() / 1000);
    for (const change of summary.schemaChanges) this.schemaChanges.inc({ provider: change.provider, kind: change.kind });
    for (const run of summary.runs) {
      this.fetched.inc({ provider: run.provider }, run.fetched);
      this.rejected.inc({ provider: run.provider }, run.rejected);
      this.retries.inc({ provider: run.provider }, run.retries);
      for (const [status, n] of Object.entries(JSON.parse(run.responses) as Record<string, number>)) {
        this.responses.inc({ provider: run.provider, status }, n);
      }
    }
  }

  /** A poll that threw (e.g. the store could not be written) has no summary. */
  recordFailedPoll(durationSeconds: number): void {
    this.polls.inc({ status: 'failed' });
    this.duration.observe(durationSeconds);
  }

  recordCompaction(days: number, error: string | null): void {
    this.compactedDays.inc(days);
    if (error !== null) this.compactionFailures.inc();
  }

  /** `count` gives the failed polls in a row whenever /metrics is read. */
  countFailedPolls(count: () => number): void {
    this.failedInARow = count;
  }

  recordSkippedTick(): void {
    this.skipped.inc();
  }
}

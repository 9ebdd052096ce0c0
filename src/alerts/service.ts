// Alerts in the daemon: after each poll (its runs committed), the rules are evaluated against
// what the store holds for that poll; the alerts enter the outbox (durable), the rule state
// advances, then the `alerts` table is written (retried later if it fails); delivery runs beside
// the polls. At start, a committed poll
// the rules have not seen (the daemon was killed between its commit and its alerts) is evaluated.
// Every failure here is logged and shown as degraded; none reaches the poll.
import type client from 'prom-client';
import type { Settings } from '../config/settings.js';
import { errorMessage } from '../runtime/errors.js';
import { knownSecrets, redactText } from '../runtime/redact.js';
import type { Logger } from '../log/log.js';
import { latestCommittedRun } from '../store/history.js';
import { newRunId } from '../store/layout.js';
import { Deliverer } from './delivery.js';
import { AlertMetrics } from './metrics.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { readCommittedPoll, type CommittedPoll } from './read.js';
import { evaluate, type Alert, type Observation, type RuleState } from './rules.js';
import { loadState, saveState } from './state.js';
import { writeAlertsFile } from './table.js';

/** How often the stale rule is checked between polls. */
const STALE_CHECK_MS = 60_000;

export interface AlertServiceOptions {
  root: string;
  logger: Logger;
  settings: () => Settings;
  registry?: client.Registry;
  /** Two schedule intervals, in ms, for the stale rule (null: unknown). */
  staleAfterMs: () => number | null;
  /** The store lock's fence, checked before the alerts file is renamed into place. */
  beforeVisible?: () => void;
}

/** What the page and /api/status show: each rule's state and the latest alerts with their delivery. */
export interface AlertsView {
  rules: Array<{ name: string; type: string; firing: string[] }>;
  latest: Array<Pick<Alert, 'rule' | 'kind' | 'message' | 'film_key' | 'provider' | 'run' | 'created_at'> & { deliveries: Array<{ destination: string; status: string; attempts: number; last_error: string | null }> }>;
}

export class AlertService {
  private stale: NodeJS.Timeout | null = null;
  private queue: Promise<void> = Promise.resolve();
  /** The last failure to compute or record alerts (null: fine). */
  private problem: string | null = null;
  /** The rule state as last saved (JSON), so that an unchanged state is not written again. */
  private savedJson = '';

  private constructor(
    private readonly options: AlertServiceOptions,
    private state: RuleState,
    readonly outbox: Outbox,
    readonly deliverer: Deliverer,
    private readonly metrics: AlertMetrics | null,
  ) {}

  static async open(options: AlertServiceOptions): Promise<AlertService> {
    const metrics = options.registry ? new AlertMetrics(options.registry) : null;
    const outbox = await Outbox.open(options.root, { logger: options.logger, dropped: (destination, reason, n) => metrics?.dropped(destination, reason, n) });
    const deliverer = new Deliverer(outbox, () => options.settings().alerts, options.logger, metrics);
    const state = await loadState(options.root, options.logger);
    const service = new AlertService(options, state, outbox, deliverer, metrics);
    service.savedJson = JSON.stringify(state);
    return service;
  }

  private get rules() {
    return this.options.settings().alerts.rules;
  }

  /**
   * Failed polls in a row as the rule state saved them, when it has seen the latest committed poll
   * (0 otherwise: the store's count then says more). Polls that failed without committing
   * anything are counted here only.
   */
  savedFailures(): number {
    const latest = latestCommittedRun(this.options.root);
    return latest !== null && latest.run === this.state.lastRun ? (this.state.failures ?? 0) : 0;
  }

  /**
   * At start: evaluates a committed poll the rules missed, resumes delivery, starts the stale
   * check. `failures`: the daemon's count of failed polls in a row, that poll included.
   */
  async start(failures: number): Promise<void> {
    const latest = latestCommittedRun(this.options.root);
    if (latest && latest.run > this.state.lastRun && this.rules.length > 0 && this.state.lastRun !== '') {
      this.options.logger.info('alerts: evaluating a committed poll the rules have not seen (the collector stopped before its alerts)', { run: latest.run });
      // Its real outcome: a failed poll continues the count of failed polls (no false "recovered").
      await this.evaluatePoll(latest.run, (poll) => (poll !== null && poll.providers.every((p) => p.status === 'failed') ? Math.max(1, failures) : 0));
    }
    this.deliverer.kick();
    this.stale = setInterval(() => void this.run(() => this.observe({ run: '', at: new Date(), providers: [], prices: [], consecutiveFailures: 0, polled: false, staleAfterMs: this.options.staleAfterMs() })), STALE_CHECK_MS);
    this.stale.unref();
  }

  /**
   * After a poll: `run` is the committed poll (null when nothing was committed, e.g. the store
   * could not be written). Never throws; resolves once the alerts are recorded (not delivered).
   * The daemon does not wait for it: evaluations queue in order, beside the next poll.
   */
  afterPoll(run: string | null, consecutiveFailures: number): Promise<void> {
    return this.evaluatePoll(run, () => consecutiveFailures);
  }

  private evaluatePoll(run: string | null, failures: (poll: CommittedPoll | null) => number): Promise<void> {
    return this.run(async () => {
      if (run !== null && run === this.state.lastRun) return; // evaluated already
      if (run !== null && run < this.state.lastRun) {
        // A run id sorting before the last one evaluated: the clock went back. Evaluated all the same.
        this.options.logger.warn(`alerts: poll ${run} starts before the last poll evaluated (${this.state.lastRun}): the clock went back; evaluating it anyway`, { run, lastRun: this.state.lastRun });
      }
      const poll = run === null ? null : await readCommittedPoll(this.options.root, run);
      await this.observe({
        run: poll?.run ?? '', at: poll?.at ?? new Date(), providers: poll?.providers ?? [], prices: poll?.prices ?? [], schemaChanges: poll?.schemaChanges ?? [],
        consecutiveFailures: failures(poll), polled: true, staleAfterMs: this.options.staleAfterMs(),
      });
    });
  }

  /** One evaluation at a time, in order; failures are logged and kept for /healthz. */
  private run(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(async () => {
      if (this.rules.length === 0) return;
      try {
        await step();
        if (this.problem !== null) this.options.logger.info('alerts: computing and recording alerts works again');
        this.problem = null;
      } catch (err) {
        this.problem = `alerts could not be computed or recorded: ${errorMessage(err)}; the rules try again after the next poll`;
        this.options.logger.error(this.problem);
      }
    });
    return this.queue;
  }

  private async observe(obs: Observation): Promise<void> {
    const settings = this.options.settings();
    const { alerts, state } = evaluate(this.state, obs, {
      rules: settings.alerts.rules, destinations: settings.alerts.destinations.map((d) => d.name), defaultFailingPolls: settings.health.maxConsecutiveFailures,
    });
    // Durable order: the outbox, then at once the state (see state.ts), then the table. A table
    // that cannot be written does not hold the state back (the condition would fire again under
    // the next poll's id): its alerts stay marked in the outbox and are written on a later try.
    const added = await this.outbox.add(alerts.map(redacted), new Date(), obs.run !== '' ? obs.run : newRunId(obs.at));
    const json = JSON.stringify(state);
    if (json !== this.savedJson) await saveState(this.options.root, state); // a clock tick that changed nothing writes nothing
    this.savedJson = json;
    this.state = state;
    for (const a of added) {
      this.metrics?.computed(a.kind);
      this.options.logger.info(`alert: ${a.message}`, { rule: a.rule, kind: a.kind, key: a.key, run: a.run, destinations: a.destinations });
    }
    if (added.length > 0) this.deliverer.kick();
    await this.recordInTable(); // old days of the table go with the store's retention, after each poll
  }

  /** Writes the outbox's alerts not in the alerts table yet. */
  private async recordInTable(): Promise<void> {
    for (const [batch, entries] of this.outbox.unrecorded()) {
      await writeAlertsFile(this.options.root, batch, entries.map((e) => e.alert), this.options.beforeVisible);
      await this.outbox.recorded(entries);
    }
  }

  /** Degraded reasons for /healthz: a destination failing, or alerts not computed. */
  health(): string | null {
    const configured = new Set(this.options.settings().alerts.destinations.map((d) => d.name)); // one removed from the config no longer counts
    const parts = [...this.deliverer.failing].filter(([name]) => configured.has(name)).map(([name, why]) => `destination ${name} failing (${why}); alerts wait in the outbox`);
    if (this.problem) parts.unshift(this.problem);
    return parts.length > 0 ? parts.join('; ') : null;
  }

  view(limit = 20): AlertsView {
    const state = this.state;
    return {
      rules: this.rules.map((r) => ({ name: r.name, type: r.type, firing: Object.keys(state.fired).filter((k) => k.startsWith(`${r.name}|`)).map((k) => k.slice(r.name.length + 1)) })),
      latest: this.outbox.entries.slice(-limit).reverse().map((e: OutboxEntry) => ({
        rule: e.alert.rule, kind: e.alert.kind, message: e.alert.message, film_key: e.alert.film_key, provider: e.alert.provider, run: e.alert.run, created_at: e.alert.created_at,
        deliveries: e.deliveries.map((d) => ({ destination: d.destination, status: d.status, attempts: d.attempts, last_error: d.last_error })),
      })),
    };
  }

  /** Waits for recording to finish and stops delivery (pending alerts stay in the outbox). */
  async stop(): Promise<void> {
    if (this.stale) clearInterval(this.stale);
    await this.queue;
    await this.deliverer.stop();
    await this.outbox.idle();
  }
}

/**
 * Provider text as alerts carry it into the outbox and the alerts table: drawn from the store, it
 * is redacted already, but a secret registered since (a destination added by a config edit) is
 * hidden too. Keys are computed before (a hash of the original subject): the same on every try.
 */
function redacted(alert: Alert): Alert {
  const secrets = knownSecrets();
  const hide = (text: string | null) => (text === null ? null : redactText(text, secrets));
  return { ...alert, title: hide(alert.title), film_key: hide(alert.film_key), message: hide(alert.message) ?? '' };
}

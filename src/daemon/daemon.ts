// The daemon: one poll at a time on the schedule (a tick that comes while one runs is skipped and
// counted), a poll at start when one was missed, compaction after each poll, the HTTP port
// (health, metrics and the live report, whose cache is refreshed after each poll), live config
// reloads, and a graceful stop. Each of those jobs lives in a module of its own; this class holds
// the daemon's state and wires them together.
import type { ShapeBook } from '../schema/state.js';
import path from 'node:path';
import type { TaskContext } from 'node-cron';
import { DEFAULT_CONFIG_FILE, type LoadOptions, type Settings } from '../config/settings.js';
import { EXIT, UserError, errorMessage } from '../runtime/errors.js';
import type { HealthState } from '../http/health.js';
import { liveRoutes, type DaemonStatus } from '../http/live-routes.js';
import { Metrics } from '../http/metrics.js';
import { startHealthServer, type HealthServer } from '../http/server.js';
import { unwritableFolder } from '../runtime/write-access.js';
import type { LogHandle } from '../log/log.js';
import { runPollJob } from '../poll/job.js';
import { PollAbortedError } from '../poll/poll.js';
import { LiveReport } from '../report/live.js';
import type { CommitHooks } from '../store/committer.js';
import { CompactionError } from '../store/compaction.js';
import { compactStore, prepareStore } from '../store/maintenance.js';
import { lastCommittedPollStart } from '../store/history.js';
import { failedPollsInARow } from '../store/failed-polls.js';
import { LockLostError } from '../store/lock.js';
import { AlertService } from '../alerts/service.js';
import { S3Sink } from '../s3/sink.js';
import { ConfigWatcher } from './config-watcher.js';
import { Schedule } from './schedule.js';
import { LatestPolls } from '../store/price-changes.js';
import { handleProcessSignals } from './signals.js';

export interface DaemonOptions {
  settings: Settings;
  /** How the settings were loaded, to load them again on a change. */
  loadOptions: LoadOptions;
  configFile: string | null;
  log: LogHandle;
  /** Commit hooks for every poll: the store lock's fence (beforeVisible), and the tests' kill points. */
  hooks?: CommitHooks;
}

export class Daemon {
  private settings: Settings;
  private readonly schedule: Schedule;
  private readonly config: ConfigWatcher;
  private readonly configFile: string;
  private running: Promise<void> | null = null;
  /** Each provider's latest poll: the next poll's price_changes compare with it without reading it back. */
  private readonly latestPolls = new LatestPolls();
  /** Each provider's established answer shape: loaded at the first poll, kept up to date by each. */
  private readonly shapes: { book?: ShapeBook } = {};
  private readonly abort = new AbortController();
  private stopping = false;
  private health: HealthServer | null = null;
  /** The report served on the health port, recomputed after each commit (null: the port is off). */
  private live: LiveReport | null = null;
  /** Alerts from committed polls (src/alerts/); null until run() opened them. */
  private alerts: AlertService | null = null;
  readonly metrics = new Metrics();
  private readonly state: HealthState = { lastPoll: null, nextRun: null, consecutiveFailures: 0, polling: false, problem: null, degraded: {} };
  private stopReloading: (() => void) | null = null;
  private stopped: (() => void) | null = null;
  /** Ships committed polls and compacted days to S3 in the background (null: s3.bucket unset). */
  private sink: S3Sink | null = null;
  /** Closed days found compacted: not listed again by the check after each poll (compaction.ts, daysToCompact). */
  private readonly compactedDays = new Set<string>();
  /** The exit code run() resolves with: failed once the store lock was lost. */
  private exitCode: number = EXIT.ok;

  constructor(private readonly options: DaemonOptions) {
    this.settings = options.settings;
    this.schedule = new Schedule((ctx) => this.tick('schedule', ctx), this.logger);
    this.configFile = options.configFile ?? path.resolve(options.loadOptions.cwd ?? process.cwd(), DEFAULT_CONFIG_FILE);
    this.config = new ConfigWatcher(this.configFile, options.loadOptions, this.logger, () => this.settings, (next, why) => this.applySettings(next, why));
    this.metrics.countFailedPolls(() => this.state.consecutiveFailures);
  }

  private get logger() {
    return this.options.log.logger;
  }

  /** Runs until stopped by a signal (or the store lock is lost); resolves with the exit code once stopped. */
  async run(): Promise<number> {
    const done = new Promise<void>((resolve) => (this.stopped = resolve));
    await prepareStore(this.settings.store.dir, this.logger, this.fence);
    this.alerts = await AlertService.open({
      root: this.settings.store.dir, logger: this.logger, settings: () => this.settings, registry: this.metrics.registry, beforeVisible: this.fence.beforeVisible,
      staleAfterMs: () => (this.liveStatus().schedule.interval_seconds ?? 0) * 2000 || null,
    });
    // Failed polls in a row go on across a restart: the store's failed polls at its end, or the
    // rule state's count when it saw the latest poll (it also counts polls that committed nothing).
    this.state.consecutiveFailures = Math.max(await this.failedPollsAtStart(), this.alerts.savedFailures());
    await this.alerts.start(this.state.consecutiveFailures);
    this.sink = S3Sink.fromSettings({ root: this.settings.store.dir, settings: this.settings.s3, logger: this.logger, registry: this.metrics.registry, health: this.state });
    this.sink?.start();
    if (this.settings.health.port !== 0) {
      this.live = new LiveReport(this.settings.store.dir, this.logger, undefined, this.settings.store.duckdbMemoryMB);
      const routes = liveRoutes(this.live, () => this.liveStatus());
      this.health = await startHealthServer(this.settings.health.port, this.settings.health.host, () => this.settings.health.maxConsecutiveFailures, () => this.healthState(), this.metrics, routes, this.settings.health);
      this.logger.info('health endpoint listening', { port: this.health.port, paths: ['/healthz', '/metrics', ...Object.keys(routes)] });
    }
    this.checkFolders();
    this.schedule.start(this.settings.schedule);
    this.config.start();
    this.stopReloading = handleProcessSignals(this.options.log, { reload: () => this.config.reload('SIGHUP'), stop: (signal) => void this.stop(signal) }).stopReloading;
    this.logger.info('daemon started', { cron: this.settings.schedule.cron, timezone: this.settings.schedule.timezone, config: this.configFile, nextRun: this.schedule.nextRun() });
    const reason = this.startupPollReason();
    if (reason) {
      this.logger.info(`polling at start: ${reason}`);
      this.tick('start');
    }
    await done;
    return this.exitCode;
  }

  private async failedPollsAtStart(): Promise<number> {
    try {
      return await failedPollsInARow(this.settings.store.dir);
    } catch (err) {
      this.logger.warn(`cannot count the failed polls at the end of the store (${errorMessage(err)}); the count of failed polls in a row starts at 0`);
      return 0;
    }
  }

  /** Another collector took the store over (this one froze past the lock's stale time): stop, or two would write. */
  lockLost(why: string): void {
    if (this.exitCode === EXIT.failed && this.abort.signal.aborted) return; // said already (the fence and proper-lockfile may both notice)
    this.logger.error(`store lock lost (${why}): another collector may be writing this store; stopping, the running poll is aborted`);
    this.exitCode = EXIT.failed;
    this.abort.abort();
    void this.stop('lock lost');
  }

  private healthState(): HealthState {
    const alerts = this.alerts?.health() ?? null; // side work: degraded, never failing
    return { ...this.state, degraded: alerts === null ? this.state.degraded : { ...this.state.degraded, alerts }, nextRun: this.schedule.nextRun() };
  }

  /** The schedule and poll state the report page shows beside the report. */
  private liveStatus(): DaemonStatus {
    const { cron, timezone } = this.settings.schedule;
    const { seconds, next } = this.schedule.interval();
    const last = this.state.lastPoll;
    return {
      schedule: { cron, timezone, interval_seconds: seconds, next_run: next },
      last_poll: last && { run: last.run, status: last.status, finished_at: last.finishedAt },
      consecutive_failures: this.state.consecutiveFailures,
      polling: this.state.polling,
      problem: this.state.problem,
      alerts: this.alerts?.view() ?? null,
      s3: this.state.degraded.s3 ?? null,
    };
  }

  /** Why to poll at once at start (schedule.runOnStart), or null. */
  private startupPollReason(): string | null {
    const mode = this.settings.schedule.runOnStart;
    if (mode === 'always') return 'schedule.runOnStart is "always"';
    if (mode === 'never') return null;
    const last = lastCommittedPollStart(this.settings.store.dir);
    if (last === null) return 'the store has no committed poll yet';
    const missed = this.schedule.missedTickSince(this.settings.schedule.cron, last, new Date());
    return missed ? `a scheduled poll was missed while the daemon was down (last poll started ${last.toISOString()}, missed tick ${missed.toISOString()})` : null;
  }

  private tick(trigger: 'schedule' | 'start', ctx?: TaskContext): void {
    if (this.stopping) return;
    const lateMs = ctx ? ctx.triggeredAt.getTime() - ctx.date.getTime() : 0;
    if (lateMs > 1000) this.logger.warn(`tick ran ${(lateMs / 1000).toFixed(1)} s late (the process was paused or busy)`, { tick: ctx?.date.toISOString() });
    if (this.running) {
      this.metrics.recordSkippedTick();
      this.logger.warn('tick skipped: the previous poll is still running', { trigger });
      return;
    }
    this.running = this.pollOnce().finally(() => {
      this.running = null;
    });
  }

  /** One poll, then compaction; never throws: a failed poll is logged and counted, and the daemon goes on. */
  private async pollOnce(): Promise<void> {
    const started = Date.now();
    this.state.polling = true;
    try {
      const summary = await runPollJob({
        settings: this.settings, logger: this.logger, signal: this.abort.signal, hooks: this.options.hooks ?? {}, summaryFields: () => ({ nextRun: this.schedule.nextRun() }),
        latestPolls: this.latestPolls,
        shapes: this.shapes,
        ...(this.sink ? { retentionKeeps: this.sink.retentionGuard() } : {}),
      });
      this.metrics.recordPoll(summary);
      const missing = summary.runs.reduce((n, r) => n + r.failed + r.rejected, 0);
      this.state.lastPoll = { run: summary.runId, status: summary.status, finishedAt: summary.finishedAt.toISOString(), movies: summary.movies, missing };
      this.state.consecutiveFailures = summary.status === 'failed' ? this.state.consecutiveFailures + 1 : 0;
      // Side work beside the next steps, never awaited by the poll: alerts (in order; never throws), then shipping.
      void this.alerts?.afterPoll(summary.runId, this.state.consecutiveFailures);
      this.sink?.nudge();
      const compacted = await this.compact(); // not inside sink?.(): without a sink it must still run
      this.sink?.nudge(compacted);
    } catch (err) {
      if (err instanceof LockLostError) {
        this.lockLost(err.why);
        return;
      }
      if (err instanceof PollAbortedError) {
        this.logger.warn('poll aborted at shutdown: nothing of it was committed');
        return;
      }
      this.metrics.recordFailedPoll((Date.now() - started) / 1000);
      this.state.consecutiveFailures++;
      this.state.lastPoll = { run: '', status: 'failed', finishedAt: new Date().toISOString(), movies: 0, missing: 0 };
      const message = err instanceof UserError ? err.message : `poll failed: ${errorMessage(err)}`;
      this.logger.error(message, { consecutiveFailures: this.state.consecutiveFailures, nextRun: this.schedule.nextRun() });
      void this.alerts?.afterPoll(null, this.state.consecutiveFailures);
    } finally {
      this.state.polling = false;
      // Whatever the poll's end, the report's cache follows the store's latest committed run.
      this.live?.refresh();
      this.checkFolders();
      this.logger.debug('next poll', { at: this.schedule.nextRun() });
    }
  }

  /** Store work besides polls (recovery, upgrade, compaction) makes nothing visible once the lock is lost or the daemon stops. */
  private readonly fence = {
    beforeVisible: () => {
      this.options.hooks?.beforeVisible?.();
      this.abort.signal.throwIfAborted();
    },
    signal: this.abort.signal,
  };

  /**
   * Compacts closed days after a poll (under the daemon's lock; the next tick waits, as for a long
   * poll). Side work: a failure is logged and shown as degraded in /healthz, never fails the poll.
   */
  private async compact(): Promise<string[]> {
    try {
      const result = await compactStore(this.settings.store.dir, this.settings.store.compactAfterMinutes, this.logger, { ...this.fence, settled: this.compactedDays });
      this.metrics.recordCompaction(result.days.length, null);
      delete this.state.degraded.compaction;
      return result.days;
    } catch (err) {
      if (err instanceof LockLostError) throw err; // pollOnce stops the daemon
      if (this.abort.signal.aborted) return [];
      const message = `compaction failed: ${errorMessage(err)}; the day stays as it was (readable, uncompacted) and is tried again after the next poll`;
      this.metrics.recordCompaction(0, message);
      this.state.degraded.compaction = message;
      this.logger.error(message);
      return err instanceof CompactionError ? err.days : [];
    }
  }

  /**
   * An unwritable store or log folder (files another user left) fails every poll: /healthz says so
   * at once rather than after health.maxConsecutiveFailures polls, with the fix, until it is gone.
   */
  private checkFolders(): void {
    const found = unwritableFolder(this.settings.store.dir, this.settings.log.dir);
    const problem = found?.problem ?? null;
    if (problem !== null && problem !== this.state.problem) this.logger.error(problem, { path: found?.path });
    if (problem === null && this.state.problem !== null) this.logger.info('store and log folders are writable again');
    this.state.problem = problem;
  }

  /** A valid reloaded configuration: the log level and the schedule take effect at once. */
  private applySettings(next: Settings, why: string): void {
    const old = this.settings;
    if (next.log.level !== old.log.level) {
      // Said at the old level first, so that turning logging down is still recorded.
      this.logger.warn('config reload: log level changed', { from: old.log.level, to: next.log.level, why });
      this.logger.level = next.log.level;
    }
    this.settings = next;
    if (next.schedule.cron !== old.schedule.cron || next.schedule.timezone !== old.schedule.timezone) {
      this.schedule.start(next.schedule);
      this.logger.info('config reload: schedule changed', {
        from: `${old.schedule.cron} (${old.schedule.timezone})`, to: `${next.schedule.cron} (${next.schedule.timezone})`, nextRun: this.schedule.nextRun(),
      });
    } else {
      this.logger.info(`config reloaded (${why})`);
    }
  }

  /** Stops scheduling, lets a running poll finish within shutdown.graceMs, then aborts it. A second signal exits at once. */
  async stop(signal: NodeJS.Signals | 'lock lost'): Promise<void> {
    if (this.stopping) {
      this.logger.warn(`${signal} again: exiting now; anything staged is recovered at the next start`);
      await this.options.log.close();
      process.exit(EXIT.failed);
    }
    this.stopping = true;
    this.logger.info(`${signal}: stopping`, { pollRunning: this.running !== null, graceMs: this.settings.shutdown.graceMs });
    this.schedule.stop();
    this.config.stop();
    this.stopReloading?.();
    // The sink stops beside the running poll, within the same grace, whatever its endpoint does.
    const sinkStopped = this.sink?.stop(Date.now() + this.settings.shutdown.graceMs);
    if (this.running) {
      const timer = setTimeout(() => {
        this.logger.warn('shutdown grace period over: aborting the running poll');
        this.abort.abort();
      }, this.settings.shutdown.graceMs);
      await this.running;
      clearTimeout(timer);
    }
    await this.alerts?.stop();
    await sinkStopped;
    await this.health?.close();
    this.logger.info('daemon stopped');
    this.stopped?.();
  }
}

// The daemon: node-cron on schedule.cron, one poll at a time (a tick that comes while one runs
// is skipped and counted), a poll at start when one was missed, live config reloads (file
// change or SIGHUP), retention after each poll, health/metrics and the live report page (its
// cache refreshed after each poll), and a graceful stop.
import { statSync } from 'node:fs';
import path from 'node:path';
import { createTask, setLogger, type ScheduledTask, type TaskContext } from 'node-cron';
import { DEFAULT_CONFIG_FILE, loadConfig, type LoadOptions, type Settings } from './config.js';
import { ConfigError, EXIT, UserError, errorMessage } from './errors.js';
import { Metrics, startHealthServer, type HealthServer, type HealthState } from './health.js';
import { liveRoutes, type DaemonStatus } from './http/live-routes.js';
import { unwritableInLogs, unwritableInStore } from './write-access.js';
import type { LogHandle } from './log.js';
import { PollAbortedError, logPollSummary, runPoll } from './poll.js';
import { LiveReport } from './report/live.js';
import { recoverStaging, type CommitHooks } from './store/committer.js';
import { compactStore, prepareStore } from './store/maintenance.js';
import { lastCommittedPollStart } from './store/history.js';
import { LockLostError } from './store/lock.js';
import { applyRetention } from './store/retention.js';
import { S3Sink } from './s3/sink.js';

/** Settings that cannot change under a running daemon: it says so and keeps the old value. */
const RESTART_ONLY = ['store.dir', 'log.dir', 'log.maxFiles', 'log.maxSize', 'health.port', 'health.host', 'api.token', 'api.tokenFile', 'api.tokenHeader', 's3.bucket', 's3.prefix', 's3.endpoint', 's3.accessKeyId', 's3.secretAccessKey'] as const;
/** How often the config file is checked for edits (a stat; works on bind mounts, where inotify may not). */
const CONFIG_CHECK_MS = 1000;
/** How far back the missed-tick check scans, in steps of the cron's resolution; beyond it a tick counts as missed. */
const MAX_SCAN_STEPS = 1_000_000;
/**
 * How late a tick may fire and still run. node-cron's default (1 s) drops a tick whose timer fires
 * later than that (a paused container, a suspended VM, a stalled event loop) as "missed"; a poll
 * a few seconds late is better than none. node-cron never runs a tick later than the next one.
 */
const LATE_TICK_TOLERANCE_MS = 30_000;

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
  private task: ScheduledTask | null = null;
  private running: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private stopping = false;
  private health: HealthServer | null = null;
  /** The report served on the health port, recomputed after each commit (null: the port is off). */
  private live: LiveReport | null = null;
  readonly metrics = new Metrics();
  private readonly state: HealthState = { lastPoll: null, nextRun: null, consecutiveFailures: 0, polling: false, problem: null, degraded: {} };
  private readonly watchedFile: string;
  private configStamp: string;
  private configCheck: NodeJS.Timeout | null = null;
  private stopped: (() => void) | null = null;
  /** Ships committed polls and compacted days to S3 in the background (null: s3.bucket unset). */
  private sink: S3Sink | null = null;
  /** The exit code run() resolves with: failed once the store lock was lost. */
  private exitCode: number = EXIT.ok;

  constructor(private readonly options: DaemonOptions) {
    this.settings = options.settings;
    this.watchedFile = options.configFile ?? path.resolve(options.loadOptions.cwd ?? process.cwd(), DEFAULT_CONFIG_FILE);
    this.configStamp = this.stampOfConfig();
  }

  /** What identifies the config file's version: an edit, a replacement or a removal changes it. */
  private stampOfConfig(): string {
    try {
      const s = statSync(this.watchedFile);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'absent';
    }
  }

  private get logger() {
    return this.options.log.logger;
  }

  /** Runs until stopped by a signal (or the store lock is lost); resolves with the exit code once stopped. */
  async run(): Promise<number> {
    const done = new Promise<void>((resolve) => (this.stopped = resolve));
    setLogger({
      info: (m) => this.logger.info(`node-cron: ${m}`),
      warn: (m) => this.logger.warn(`node-cron: ${m}`),
      error: (m, e) => this.logger.error(`node-cron: ${String(m)}`, e),
      debug: (m) => this.logger.debug(`node-cron: ${String(m)}`),
    });
    await prepareStore(this.settings.store.dir, this.logger, this.fence);
    this.sink = S3Sink.fromSettings({ root: this.settings.store.dir, settings: this.settings.s3, logger: this.logger, registry: this.metrics.registry, health: this.state });
    this.sink?.start();
    if (this.settings.health.port !== 0) {
      this.live = new LiveReport(this.settings.store.dir, this.logger);
      const routes = liveRoutes(this.live, () => this.liveStatus());
      this.health = await startHealthServer(this.settings.health.port, this.settings.health.host, () => this.settings.health.maxConsecutiveFailures, () => this.healthState(), this.metrics, routes, this.settings.health);
      this.logger.info('health endpoint listening', { port: this.health.port, paths: ['/healthz', '/metrics', ...Object.keys(routes)] });
    }
    this.checkFolders();
    this.schedule();
    // Polled against a stamp taken when the settings were read: fs.watchFile would miss an edit
    // made before its own first stat.
    this.configCheck = setInterval(() => {
      const stamp = this.stampOfConfig();
      if (stamp !== this.configStamp) {
        this.configStamp = stamp;
        this.reload('config file changed');
      }
    }, CONFIG_CHECK_MS);
    // Nothing kills the daemon silently: a stray rejection is logged and the daemon goes on;
    // an uncaught exception leaves state unknown, so it is logged, flushed, and the process exits 1.
    process.on('unhandledRejection', (reason) => this.logger.error(`unhandled rejection: ${errorMessage(reason)}`));
    process.on('uncaughtException', (err) => {
      this.logger.error(`uncaught exception, exiting: ${errorMessage(err)}`, err);
      void this.options.log.close().finally(() => process.exit(EXIT.failed));
    });
    process.on('SIGHUP', this.onHangup);
    process.on('SIGTERM', this.onStop);
    process.on('SIGINT', this.onStop);
    this.logger.info('daemon started', { cron: this.settings.schedule.cron, timezone: this.settings.schedule.timezone, config: this.watchedFile, nextRun: this.nextRun() });
    const reason = this.startupPollReason();
    if (reason) {
      this.logger.info(`polling at start: ${reason}`);
      this.tick('start');
    }
    await done;
    return this.exitCode;
  }

  /** Another collector took the store over (this one froze past the lock's stale time): stop, or two would write. */
  lockLost(why: string): void {
    if (this.exitCode === EXIT.failed && this.abort.signal.aborted) return; // said already (the fence and proper-lockfile may both notice)
    this.logger.error(`store lock lost (${why}): another collector may be writing this store; stopping, the running poll is aborted`);
    this.exitCode = EXIT.failed;
    this.abort.abort();
    void this.stop('lock lost');
  }

  private readonly onHangup = () => this.reload('SIGHUP');
  private readonly onStop = (signal: NodeJS.Signals) => void this.stop(signal);

  private schedule(): void {
    const { cron, timezone } = this.settings.schedule;
    // createTask() returns a stopped task; a bad expression was rejected by config validation already.
    const task = createTask(cron, (ctx) => this.tick('schedule', ctx), { timezone, name: 'poll', missedExecutionTolerance: LATE_TICK_TOLERANCE_MS });
    void task.start();
    this.task = task;
  }

  private nextRun(): string | null {
    return this.task?.getNextRun()?.toISOString() ?? null;
  }

  private healthState(): HealthState {
    return { ...this.state, nextRun: this.nextRun() };
  }

  /** The schedule and poll state the report page shows beside the report. */
  private liveStatus(): DaemonStatus {
    const { cron, timezone } = this.settings.schedule;
    const [next, after] = this.task?.getNextRuns(2) ?? [];
    const last = this.state.lastPoll;
    return {
      schedule: { cron, timezone, interval_seconds: next && after ? (after.getTime() - next.getTime()) / 1000 : null, next_run: next?.toISOString() ?? null },
      last_poll: last && { run: last.run, status: last.status, finished_at: last.finishedAt },
      consecutive_failures: this.state.consecutiveFailures,
      polling: this.state.polling,
      problem: this.state.problem,
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
    const missed = this.missedTickSince(last, new Date());
    return missed ? `a scheduled poll was missed while the daemon was down (last poll started ${last.toISOString()}, missed tick ${missed.toISOString()})` : null;
  }

  /** The first tick of the schedule after `since` and before `now`, if any. node-cron keeps no state, so we scan. */
  private missedTickSince(since: Date, now: Date): Date | null {
    const task = this.task;
    if (!task) return null;
    const hasSeconds = this.settings.schedule.cron.trim().split(/\s+/).length === 6;
    const step = hasSeconds ? 1000 : 60_000;
    let t = Math.floor(since.getTime() / step) * step + step;
    for (let i = 0; t < now.getTime(); i++, t += step) {
      if (i >= MAX_SCAN_STEPS) return new Date(t); // down for longer than we scan: treat it as missed
      if (task.match(new Date(t))) return new Date(t);
    }
    return null;
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

  /** One poll; never throws: a failed poll is logged and counted, and the daemon goes on. */
  private async pollOnce(): Promise<void> {
    const started = Date.now();
    this.state.polling = true;
    try {
      // A commit of this daemon that failed after its _READY marker (a disk that turned read-only
      // between two renames) left a poll staged and part of it visible: finish it first.
      await recoverStaging(this.settings.store.dir, this.logger, this.fence).catch((err: unknown) => {
        if (err instanceof LockLostError) throw err;
        // A store that cannot be read or written: the poll below meets the same fault and names it.
      });
      const summary = await runPoll({ settings: this.settings, logger: this.logger, signal: this.abort.signal, hooks: this.options.hooks });
      this.metrics.recordPoll(summary);
      logPollSummary(this.logger, summary, { nextRun: this.nextRun() });
      const missing = summary.runs.reduce((n, r) => n + r.failed + r.rejected, 0);
      this.state.lastPoll = { run: summary.runId, status: summary.status, finishedAt: summary.finishedAt.toISOString(), movies: summary.movies, missing };
      this.state.consecutiveFailures = summary.status === 'failed' ? this.state.consecutiveFailures + 1 : 0;
      this.sink?.nudge();
      await applyRetention(this.settings.store.dir, this.settings.store.retentionDays, new Date(), this.logger, this.options.hooks?.beforeVisible, this.sink?.retentionGuard());
      await this.compact();
      this.sink?.nudge();
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
      this.logger.error(message, { consecutiveFailures: this.state.consecutiveFailures, nextRun: this.nextRun() });
    } finally {
      this.state.polling = false;
      // Whatever the poll's end, the report's cache follows the store's latest committed run.
      this.live?.refresh();
      this.checkFolders();
      this.logger.debug('next poll', { at: this.nextRun() });
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
  private async compact(): Promise<void> {
    try {
      const result = await compactStore(this.settings.store.dir, this.settings.store.compactAfterMinutes, this.logger, this.fence);
      this.metrics.recordCompaction(result.days.length, null);
      delete this.state.degraded.compaction;
    } catch (err) {
      if (err instanceof LockLostError) throw err; // the poll job stops the daemon
      if (this.abort.signal.aborted) return;
      const message = `compaction failed: ${errorMessage(err)}; the day stays as it was (readable, uncompacted) and is tried again after the next poll`;
      this.metrics.recordCompaction(0, message);
      this.state.degraded.compaction = message;
      this.logger.error(message);
    }
  }

  /**
   * An unwritable store or log folder (files another user left) fails every poll: /healthz says so
   * at once rather than after health.maxConsecutiveFailures polls, with the fix, until it is gone.
   */
  private checkFolders(): void {
    const store = unwritableInStore(this.settings.store.dir);
    const logs = store ? null : unwritableInLogs(this.settings.log.dir);
    const found = store ? { ...store, setting: 'store.dir' } : logs ? { ...logs, setting: 'log.dir' } : null;
    const uid = process.getuid?.() ?? 1000;
    const gid = process.getgid?.() ?? 1000;
    const problem = found
      ? `${found.setting}: cannot write ${found.path} (${found.code}): files there belong to another user; give the store and log folders to the collector's user (uid ${uid}), e.g. in the compose folder: chown -R ${uid}:${gid} data logs`
      : null;
    if (problem !== null && problem !== this.state.problem) this.logger.error(problem, { path: found?.path });
    if (problem === null && this.state.problem !== null) this.logger.info('store and log folders are writable again');
    this.state.problem = problem;
  }

  /** Re-reads the config file; a valid schedule change takes effect at once, an invalid file changes nothing. */
  private reload(why: string): void {
    let next: Settings;
    try {
      next = loadConfig(this.options.loadOptions).settings;
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [errorMessage(err)];
      this.logger.error(`config reload rejected (${why}); keeping the current configuration: ${problems.join('; ')}`, { problems });
      return;
    }
    const old = this.settings;
    for (const key of RESTART_ONLY) {
      const [group, name] = key.split('.') as [keyof Settings, string];
      const before = (old[group] as unknown as Record<string, unknown>)[name];
      const after = (next[group] as unknown as Record<string, unknown>)[name];
      if (before !== after) {
        // No values in this line: the token is among these settings.
        this.logger.warn(`config reload: ${key} changed but needs a restart to take effect; keeping the current value`, { setting: key });
        (next[group] as unknown as Record<string, unknown>)[name] = before;
      }
    }
    if (next.log.level !== old.log.level) {
      // Said at the old level first, so that turning logging down is still recorded.
      this.logger.warn('config reload: log level changed', { from: old.log.level, to: next.log.level, why });
      this.logger.level = next.log.level;
    }
    this.settings = next;
    if (next.schedule.cron !== old.schedule.cron || next.schedule.timezone !== old.schedule.timezone) {
      void this.task?.destroy();
      this.schedule();
      this.logger.info('config reload: schedule changed', {
        from: `${old.schedule.cron} (${old.schedule.timezone})`, to: `${next.schedule.cron} (${next.schedule.timezone})`, nextRun: this.nextRun(),
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
    void this.task?.destroy();
    if (this.configCheck) clearInterval(this.configCheck);
    process.off('SIGHUP', this.onHangup);
    if (this.running) {
      const timer = setTimeout(() => {
        this.logger.warn('shutdown grace period over: aborting the running poll');
        this.abort.abort();
      }, this.settings.shutdown.graceMs);
      await this.running;
      clearTimeout(timer);
    }
    await this.sink?.stop();
    await this.health?.close();
    this.logger.info('daemon stopped');
    this.stopped?.();
  }
}

// The poll schedule: node-cron on schedule.cron, ticks allowed to run late, the next runs, and
// the scan for a tick missed while the daemon was down (node-cron keeps no state).
import { createTask, setLogger, type ScheduledTask, type TaskContext } from 'node-cron';
import type { Logger } from '../log/log.js';

/** How far back the missed-tick check scans, in steps of the cron's resolution; beyond it a tick counts as missed. */
const MAX_SCAN_STEPS = 1_000_000;
/**
 * How late a tick may fire and still run. node-cron's default (1 s) drops a tick whose timer fires
 * later than that (a paused container, a suspended VM, a stalled event loop) as "missed"; a poll
 * a few seconds late is better than none. node-cron never runs a tick later than the next one.
 */
const LATE_TICK_TOLERANCE_MS = 30_000;

export interface CronSetting {
  cron: string;
  timezone: string;
}

export class Schedule {
  private task: ScheduledTask | null = null;

  constructor(
    private readonly onTick: (ctx: TaskContext) => void,
    logger: Logger,
  ) {
    setLogger({
      info: (m) => logger.info(`node-cron: ${m}`),
      warn: (m) => logger.warn(`node-cron: ${m}`),
      error: (m, e) => logger.error(`node-cron: ${String(m)}`, e),
      debug: (m) => logger.debug(`node-cron: ${String(m)}`),
    });
  }

  /** Starts ticking on `setting`, replacing the schedule before (a bad expression was rejected by config validation already). */
  start({ cron, timezone }: CronSetting): void {
    void this.task?.destroy();
    // createTask() returns a stopped task.
    const task = createTask(cron, (ctx) => this.onTick(ctx), { timezone, name: 'poll', missedExecutionTolerance: LATE_TICK_TOLERANCE_MS });
    void task.start();
    this.task = task;
  }

  stop(): void {
    void this.task?.destroy();
    this.task = null;
  }

  nextRun(): string | null {
    return this.task?.getNextRun()?.toISOString() ?? null;
  }

  /** The seconds between the next two ticks (the page's refresh pace), and the next tick. */
  interval(): { seconds: number | null; next: string | null } {
    const [next, after] = this.task?.getNextRuns(2) ?? [];
    return { seconds: next && after ? (after.getTime() - next.getTime()) / 1000 : null, next: next?.toISOString() ?? null };
  }

  /** The first tick of `cron` after `since` and before `now`, if any. */
  missedTickSince(cron: string, since: Date, now: Date): Date | null {
    const task = this.task;
    if (!task) return null;
    const hasSeconds = cron.trim().split(/\s+/).length === 6;
    const step = hasSeconds ? 1000 : 60_000;
    let t = Math.floor(since.getTime() / step) * step + step;
    for (let i = 0; t < now.getTime(); i++, t += step) {
      if (i >= MAX_SCAN_STEPS) return new Date(t); // down for longer than we scan: treat it as missed
      if (task.match(new Date(t))) return new Date(t);
    }
    return null;
  }
}

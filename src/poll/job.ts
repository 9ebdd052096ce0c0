// One scheduled or one-shot poll, as the `poll` command and the daemon both run it: finish what a
// failed commit left staged, poll, log the summary, then apply retention. The store was prepared
// (recovery and upgrade) by the caller when it took the lock.
import type { ShapeBook } from '../schema/state.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../log/log.js';
import { recoverStaging, type CommitHooks } from '../store/committer.js';
import { LockLostError } from '../store/lock.js';
import { applyRetention } from '../store/retention.js';
import type { LatestPolls } from '../store/price-changes.js';
import { logPollSummary, runPoll, type PollSummary } from './poll.js';

export interface PollJobOptions {
  settings: Settings;
  logger: Logger;
  /** Aborts the poll without committing anything (shutdown, or the lock lost). */
  signal: AbortSignal;
  /** beforeVisible is the store lock's fence: it runs before every step that makes data visible. */
  hooks: CommitHooks;
  onProgress?: (provider: string, done: number, total: number) => void;
  /** Fields added to the summary's log line (the daemon's next run). */
  summaryFields?: () => Record<string, unknown>;
  /** Days retention must keep (not yet shipped to S3). */
  retentionKeeps?: (dt: string) => boolean;
  /** Each provider's latest poll, kept between the daemon's polls (see store/price-changes.ts). */
  latestPolls?: LatestPolls;
  /** The providers' established shapes, kept between the daemon's polls (see schema/state.ts). */
  shapes?: { book?: ShapeBook };
}

export async function runPollJob(options: PollJobOptions): Promise<PollSummary> {
  const { settings, logger, hooks } = options;
  // A commit that failed after its _READY marker (a disk that turned read-only between two
  // renames) left a poll staged and part of it visible: finish it first.
  await recoverStaging(settings.store.dir, logger, hooks).catch((err: unknown) => {
    if (err instanceof LockLostError) throw err;
    // A store that cannot be read or written: the poll below meets the same fault and names it.
  });
  const summary = await runPoll({
    settings, logger, signal: options.signal, hooks, ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.latestPolls ? { latestPolls: options.latestPolls } : {}),
    ...(options.shapes ? { shapes: options.shapes } : {}),
  });
  logPollSummary(logger, summary, options.summaryFields?.());
  await applyRetention(settings.store.dir, settings.store.retentionDays, new Date(), logger, hooks.beforeVisible, options.retentionKeeps);
  return summary;
}

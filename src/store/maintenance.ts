// What a writer does to the store besides polling, in the order it must happen: before its first
// poll, finish or discard what a crash left and upgrade an old layout; after a poll, compact the
// closed days. Every step runs under the store lock and checks it before making anything visible.
import type { Logger } from '../log/log.js';
import { recoverStaging } from './committer.js';
import { backfillPriceChanges, compactClosedDays, type CompactResult, type FenceHooks } from './compaction.js';
import { migrateLegacyStore } from './migrate.js';

/**
 * Before a writer's first poll: recovery, the upgrade of a store written before 0.3, then the
 * price_changes of days written without them (a failed day is logged; polls go on).
 */
export async function prepareStore(root: string, logger: Logger, hooks: FenceHooks = {}): Promise<void> {
  await recoverStaging(root, logger, hooks);
  await migrateLegacyStore(root, logger, hooks);
  await backfillPriceChanges({ root, logger, ...hooks });
}

/** Compacts the days that ended more than `compactAfterMinutes` ago (`settled`: days known compacted, see daysToCompact). */
export async function compactStore(root: string, compactAfterMinutes: number, logger: Logger, hooks: FenceHooks & { signal?: AbortSignal; settled?: Set<string> } = {}): Promise<CompactResult> {
  return compactClosedDays({ root, now: new Date(), graceMs: compactAfterMinutes * 60_000, logger, ...hooks });
}

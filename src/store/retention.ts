// Retention: dt partitions more than store.retentionDays days before today (UTC) are deleted,
// runs first (so the poll stops counting as committed), then movies, rejects, price_changes, schema_changes and alerts. Each partition
// leaves its table by one atomic rename into _staging, and is removed from there; a crash in
// between leaves it for recovery to discard.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/log.js';
import { ALERTS_TABLE, STAGING_DIR, dtOf } from './layout.js';

const ORDER = ['runs', 'movies', 'rejects', 'price_changes', 'schema_changes', ALERTS_TABLE];

/**
 * Returns the dt values removed (one entry per table partition). `beforeVisible`: the store lock's
 * fence, checked before each removal. `keep`: days that must stay (not yet shipped to S3).
 */
export async function applyRetention(root: string, days: number, now: Date, logger: Logger, beforeVisible?: () => void, keep?: (dt: string) => boolean): Promise<string[]> {
  if (days <= 0) return [];
  const cutoff = dtOf(new Date(now.getTime() - days * 86_400_000));
  const removed: string[] = [];
  for (const table of ORDER) {
    const tableDir = path.join(root, table);
    if (!existsSync(tableDir)) continue;
    for (const entry of readdirSync(tableDir)) {
      const dt = /^dt=(\d{4}-\d{2}-\d{2})$/.exec(entry)?.[1];
      if (!dt || dt >= cutoff || keep?.(dt) === true) continue;
      const trash = path.join(root, STAGING_DIR, `expired-${table}-${entry}-${process.pid}`);
      await mkdir(path.dirname(trash), { recursive: true });
      beforeVisible?.(); // nothing awaited between the check and the rename
      await rename(path.join(tableDir, entry), trash);
      await rm(trash, { recursive: true, force: true });
      removed.push(`${table}/${entry}`);
    }
  }
  if (removed.length > 0) logger.info('retention: deleted partitions older than the retention period', { retentionDays: days, cutoff, removed });
  return removed;
}

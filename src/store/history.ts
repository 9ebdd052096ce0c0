// What the store says about past polls, read from its folder names alone (no Parquet reads):
// a poll is committed once its runs/dt=*/run=<run_id> folder exists, and run_id encodes its start.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { RUN_ID, runIdStart } from './layout.js';

/** Start time of the latest committed poll, or null when the store has none. */
export function lastCommittedPollStart(root: string): Date | null {
  const runsDir = path.join(root, 'runs');
  if (!existsSync(runsDir)) return null;
  let latest: string | null = null;
  for (const dt of readdirSync(runsDir)) {
    if (!dt.startsWith('dt=')) continue;
    for (const run of readdirSync(path.join(runsDir, dt))) {
      const id = run.slice('run='.length);
      if (run.startsWith('run=') && RUN_ID.test(id) && (latest === null || id > latest)) latest = id;
    }
  }
  return latest === null ? null : runIdStart(latest);
}

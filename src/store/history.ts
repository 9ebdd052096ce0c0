// What the store says about past polls, read from its folder names alone (no Parquet reads):
// a poll is committed once its runs/dt=*/run=<run_id> folder exists, and run_id encodes its start.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { RUN_ID } from './layout.js';

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
  if (latest === null) return null;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(latest);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))) : null;
}

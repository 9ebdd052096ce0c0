// What the store says about past polls, read from its folder names alone (no Parquet reads):
// a poll is committed once its runs/dt=*/run=<run_id> folder exists, and run_id encodes its start.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { RUN_ID, runIdStart } from './layout.js';

/** The latest committed poll: its run id and the folder that committed it. */
export interface LatestRun {
  run: string;
  folder: string;
}

/** The latest committed poll, or null when the store has none. */
export function latestCommittedRun(root: string): LatestRun | null {
  const runsDir = path.join(root, 'runs');
  if (!existsSync(runsDir)) return null;
  let latest: LatestRun | null = null;
  for (const dt of readdirSync(runsDir)) {
    if (!dt.startsWith('dt=')) continue;
    for (const run of readdirSync(path.join(runsDir, dt))) {
      const id = run.slice('run='.length);
      if (run.startsWith('run=') && RUN_ID.test(id) && (latest === null || id > latest.run)) latest = { run: id, folder: path.join(runsDir, dt, run) };
    }
  }
  return latest;
}

/** When a committed poll's runs folder was renamed into place (its inode change time: a rename sets it). */
export function committedAt(latest: LatestRun): Date {
  try {
    return statSync(latest.folder).ctime;
  } catch {
    return runIdStart(latest.run) ?? new Date(0); // removed since (retention): its start is the best we know
  }
}

/** Start time of the latest committed poll, or null when the store has none. */
export function lastCommittedPollStart(root: string): Date | null {
  const latest = latestCommittedRun(root);
  return latest === null ? null : runIdStart(latest.run);
}

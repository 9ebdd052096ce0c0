// What the store says about past polls, read from its folder and file names alone (no Parquet
// reads): a poll is committed once its runs file exists, and a run id encodes its start. Only the
// newest dt folder is listed, so this costs the same on a store's first day and its three hundredth.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { RUN_ID, dtFolders, runIdOfFile, runIdStart } from './layout.js';

/** The latest committed poll: its run id and the file (or, before 0.3, the folder) that committed it. */
export interface LatestRun {
  run: string;
  folder: string;
}

/** The latest committed poll, or null when the store has none. */
export function latestCommittedRun(root: string): LatestRun | null {
  const runsDir = path.join(root, 'runs');
  if (!existsSync(runsDir)) return null;
  for (const dt of dtFolders(readdirSync(runsDir)).reverse()) {
    const day = path.join(runsDir, `dt=${dt}`);
    let latest: LatestRun | null = null;
    for (const name of readdirSync(day)) {
      // A file of this layout, or a run= folder of a store not yet migrated.
      const id = name.startsWith('run=') ? (RUN_ID.test(name.slice(4)) ? name.slice(4) : null) : runIdOfFile(name);
      if (id !== null && (latest === null || id > latest.run)) latest = { run: id, folder: path.join(day, name) };
    }
    if (latest) return latest;
  }
  return null;
}

/** When a committed poll's runs file was renamed into place (its inode change time: a rename sets it). */
export function committedAt(latest: LatestRun): Date {
  try {
    return statSync(latest.folder).ctime;
  } catch {
    return runIdStart(latest.run) ?? new Date(0); // removed since (retention, compaction): its start is the best we know
  }
}

/** Start time of the latest committed poll, or null when the store has none. */
export function lastCommittedPollStart(root: string): Date | null {
  const latest = latestCommittedRun(root);
  return latest === null ? null : runIdStart(latest.run);
}

// Failed polls in a row at the end of the store, read back at the daemon's start: the count of
// failed polls goes on across a restart (/api/status, /healthz, the `failing` rule) instead of
// starting again at 0. A poll is failed when every provider of it failed (its runs rows). The
// `runs` files are read newest first (hyparquet: small files, no DuckDB), day by day, until a poll
// that did not fail, or MAX_COUNTED failed ones.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { dtFolders, runIdOfFile } from './layout.js';

/** Beyond this many, the exact number no longer matters to any threshold: the walk stops. */
export const MAX_COUNTED = 1000;

/** Failed polls in a row among the store's latest committed polls (0 when the latest did not fail, or the store has none). */
export async function failedPollsInARow(root: string): Promise<number> {
  const runsDir = path.join(root, 'runs');
  let days: string[];
  try {
    days = dtFolders(readdirSync(runsDir)).reverse();
  } catch {
    return 0;
  }
  let count = 0;
  for (const dt of days) {
    const day = path.join(runsDir, `dt=${dt}`);
    // A poll's own file holds its run; a compacted file holds the day's runs up to the id in its name.
    const files = readdirSync(day).flatMap((name) => {
      const id = runIdOfFile(name);
      return id === null ? [] : [{ id, file: path.join(day, name) }];
    }).sort((a, b) => (a.id < b.id ? 1 : -1));
    const failed = new Map<string, boolean>(); // run id → every provider of it failed
    for (const [i, { file }] of files.entries()) {
      const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(file), columns: ['run', 'status'] })) as Array<{ run: string; status: string }>;
      for (const r of rows) failed.set(r.run, (failed.get(r.run) ?? true) && r.status === 'failed');
      // Runs after the next file's id are in no file still to read: they are known whole.
      const next = files[i + 1]?.id ?? '';
      for (const run of [...failed.keys()].filter((r) => r > next).sort().reverse()) {
        if (!failed.get(run)) return count;
        if (++count >= MAX_COUNTED) return count;
        failed.delete(run);
      }
    }
  }
  return count;
}

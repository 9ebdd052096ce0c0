// Finds a folder (or log file) under the store or the log folder that this user cannot write: files
// left by another user (the README's `npm run demo` run as root, then the container as uid 1000)
// fail every poll, which no retry fixes. Checked with access(W_OK) on what the collector writes
// into: the store's tables and date folders (not each run folder: a store holds thousands), and the
// log files written to (older ones are only deleted, which the folder's own mode governs; other
// files there, such as a checkout's logs/.gitkeep, are never written).
import { accessSync, constants, readdirSync } from 'node:fs';
import path from 'node:path';

export interface Unwritable {
  path: string;
  code: string;
}

function check(p: string): Unwritable | null {
  try {
    accessSync(p, constants.W_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EACCES';
    return code === 'ENOENT' ? null : { path: p, code }; // gone meanwhile (retention, rotation): nothing to write
  }
}

function entries(dir: string): Array<{ name: string; dir: boolean }> {
  try {
    return readdirSync(dir, { withFileTypes: true }).map((e) => ({ name: e.name, dir: e.isDirectory() }));
  } catch {
    return []; // missing, or unreadable: access() on the folder itself reports that
  }
}

/** The store folder, its tables (and _staging) and their dt= folders. */
export function unwritableInStore(root: string): Unwritable | null {
  const found = check(root);
  if (found) return found;
  for (const t of entries(root).filter((e) => e.dir)) {
    const tableDir = path.join(root, t.name);
    const inTable = check(tableDir) ?? entries(tableDir).filter((e) => e.dir).map((e) => check(path.join(tableDir, e.name))).find((u) => u !== null);
    if (inTable) return inTable;
  }
  return null;
}

/** The log folder, the file being appended to (current.log's target) and the rotation audit. */
export function unwritableInLogs(dir: string): Unwritable | null {
  return check(dir) ?? check(path.join(dir, 'current.log')) ?? check(path.join(dir, '.audit.json'));
}

/** The first folder of the store, else of the logs, this user cannot write, with the line that names it and the fix. */
export function unwritableFolder(storeDir: string, logDir: string): (Unwritable & { problem: string }) | null {
  const store = unwritableInStore(storeDir);
  const logs = store ? null : unwritableInLogs(logDir);
  const found = store ? { ...store, setting: 'store.dir' } : logs ? { ...logs, setting: 'log.dir' } : null;
  if (!found) return null;
  const uid = process.getuid?.() ?? 1000;
  const gid = process.getgid?.() ?? 1000;
  return {
    path: found.path,
    code: found.code,
    problem: `${found.setting}: cannot write ${found.path} (${found.code}): files there belong to another user; give the store and log folders to the collector's user (uid ${uid}), e.g. in the compose folder: chown -R ${uid}:${gid} data logs`,
  };
}

// file-stream-rotator (under winston-daily-rotate-file) prunes old log files (log.maxFiles) by an
// audit file; two gaps would let log.dir grow for ever on a daemon left for months:
// - it rewrites the audit in place with writeFileSync: a crash or a full disk during that write
//   leaves it empty or cut short, and the library then silently stops pruning. Before a file
//   transport starts, a missing or unreadable audit is rebuilt from the log files present.
// - pruning at start (a restart on a new day) happens before winston-daily-rotate-file listens
//   for it, so the .gz of a pruned file is left behind. After a transport starts, archives the
//   audit no longer lists are removed.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../runtime/errors.js';

/** The hash winston-daily-rotate-file asks for by default; the library checks it before deleting. */
const HASH_TYPE = 'sha256';

interface AuditEntry {
  date: number;
  name: string;
  hash: string;
}

function readAudit(auditFile: string): { files: AuditEntry[] } {
  const audit = JSON.parse(readFileSync(auditFile, 'utf8')) as { files?: unknown };
  if (!Array.isArray(audit.files)) throw new Error('no list of files'); // the library would prune nothing
  return audit as { files: AuditEntry[] };
}

/**
 * Rebuilds `auditFile` when it is missing or does not parse while log files exist; returns a line
 * saying so, else null. `isLogFile` matches the transport's file names, rotated and gzipped ones included.
 */
export function repairLogAudit(auditFile: string, isLogFile: RegExp, maxFiles: string): string | null {
  const dir = path.dirname(auditFile);
  const logFiles = readdirSync(dir).filter((f) => isLogFile.test(f));
  let problem: string;
  try {
    readAudit(auditFile);
    return null;
  } catch (err) {
    if (logFiles.length === 0) return null; // a new folder: the library starts its own
    problem = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable: ${errorMessage(err)}`;
  }
  const files: AuditEntry[] = logFiles
    .map((f) => {
      // The library records the uncompressed name and removes the .gz beside it.
      const name = path.join(dir, f.replace(/\.gz$/, ''));
      const date = Math.floor(statSync(path.join(dir, f)).mtimeMs);
      return { date, name, hash: createHash(HASH_TYPE).update(`${name}LOG_FILE${date}`).digest('hex') };
    })
    .filter((entry, i, all) => all.findIndex((e) => e.name === entry.name) === i)
    .sort((a, b) => a.date - b.date);
  const amount = Number(/^\d+/.exec(maxFiles)?.[0] ?? 0);
  const audit = { keep: { days: maxFiles.endsWith('d'), amount }, auditLog: auditFile, files, hashType: HASH_TYPE };
  const temp = `${auditFile}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(audit, null, 4));
  renameSync(temp, auditFile); // ours is never left half-written
  return `log.dir: the log audit ${path.basename(auditFile)} was ${problem}; rebuilt it from ${files.length} log files so log.maxFiles pruning goes on`;
}

/** Removes the gzipped log files whose entries the library pruned from the audit; returns their names. */
export function removePrunedArchives(auditFile: string, isLogFile: RegExp): string[] {
  const dir = path.dirname(auditFile);
  let listed: Set<string>;
  try {
    listed = new Set(readAudit(auditFile).files.map((f) => path.basename(f.name)));
  } catch {
    return []; // no audit to go by: remove nothing
  }
  const pruned = readdirSync(dir).filter((f) => isLogFile.test(f) && f.endsWith('.gz') && !listed.has(f.replace(/\.gz$/, '')));
  for (const f of pruned) rmSync(path.join(dir, f), { force: true });
  return pruned;
}

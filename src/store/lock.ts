// One writer per store. `start` holds the lock for its whole life, `poll` for its poll. The lock is
// proper-lockfile's: a folder DATA_DIR/_LOCK made atomically (mkdir), its mtime refreshed every few
// seconds by the holder; a lock not refreshed for STALE_MS belongs to a dead (or frozen) process
// and is taken over. That works across containers sharing a volume, where pids mean nothing.
// Beside it, _LOCK.json names the holder for the messages (pid, host, command, since).
import { readFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { EXIT, UserError, errorMessage } from '../errors.js';

export const LOCK_DIR = '_LOCK';
export const LOCK_INFO = '_LOCK.json';
/** A lock not refreshed for this long is stale (its holder died or is frozen) and is taken over. */
export const STALE_MS = 10_000;
const UPDATE_MS = 2_000;
const RETRY_MS = 1_000;

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface StoreLock {
  release(): Promise<void>;
}

export interface LockOptions {
  /** The command taking it: `start` or `poll`. */
  command: string;
  /** How long to wait for a lock another process holds. */
  waitMs: number;
  /** Called once while waiting, with whoever holds it. */
  onWait?: (holder: string) => void;
  /** The lock was lost (another process took it over after this one froze past STALE_MS, or _LOCK was removed). */
  onLost: (why: string) => void;
}

/** Takes the store's lock, waiting up to waitMs; throws a UserError (exit 75, EX_TEMPFAIL) naming the holder. */
export async function acquireStoreLock(root: string, options: LockOptions): Promise<StoreLock> {
  const lockOptions = {
    realpath: false, // the store root exists, but the lock is a path of its own
    lockfilePath: path.join(root, LOCK_DIR),
    stale: STALE_MS,
    update: UPDATE_MS,
    onCompromised: (err: Error) => options.onLost(errorMessage(err)),
  };
  const deadline = Date.now() + options.waitMs;
  let waited = false;
  for (;;) {
    try {
      const release = await lockfile.lock(root, lockOptions);
      await writeHolder(root, options.command);
      return {
        async release() {
          await rm(path.join(root, LOCK_INFO), { force: true });
          await release().catch(() => undefined); // already released when the lock was lost
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new UserError(`cannot lock the store at ${root} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}): make DATA_DIR writable by this user`, EXIT.failed);
      }
      const holder = describeHolder(root);
      if (Date.now() >= deadline) {
        throw new UserError(
          `the store at ${root} is locked by ${holder}: one collector writes a store at a time; stop the other one or use another DATA_DIR (a lock not refreshed for ${STALE_MS / 1000} s is taken over)`,
          EXIT.tempfail,
        );
      }
      if (!waited) options.onWait?.(holder);
      waited = true;
      await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS, Math.max(0, deadline - Date.now()))));
    }
  }
}

/** Who holds the lock, as read from _LOCK.json: the daemon or a poll, or null when unknown. */
export function lockHolder(root: string): LockHolder | null {
  try {
    const info = JSON.parse(readFileSync(path.join(root, LOCK_INFO), 'utf8')) as Partial<LockHolder>;
    return typeof info.pid === 'number' && typeof info.host === 'string' && typeof info.command === 'string' && typeof info.since === 'string' ? (info as LockHolder) : null;
  } catch {
    return null;
  }
}

function describeHolder(root: string): string {
  const h = lockHolder(root);
  return h ? `\`${h.command}\` (pid ${h.pid} on host ${h.host}, since ${h.since})` : 'another collector';
}

async function writeHolder(root: string, command: string): Promise<void> {
  const info: LockHolder = { pid: process.pid, host: os.hostname(), command, since: new Date().toISOString() };
  const temp = path.join(root, `${LOCK_INFO}.${process.pid}.tmp`);
  await writeFile(temp, JSON.stringify(info));
  await rename(temp, path.join(root, LOCK_INFO));
}

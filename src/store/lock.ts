// One writer per store. `start` holds the lock for its whole life, `poll` for its poll. The lock is
// proper-lockfile's: a folder DATA_DIR/_LOCK made atomically (mkdir), its mtime refreshed every few
// seconds by the holder; a lock not refreshed for STALE_MS belongs to a dead (or frozen) process
// and is taken over. That works across containers sharing a volume, where pids mean nothing.
// Beside it, _LOCK.json names the holder for the messages (pid, host, command, since).
import { readFileSync, rmdirSync, statSync } from 'node:fs';
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
  /** Called when an abandoned lock is taken over, with a line saying whose and why. */
  onTakeOver?: (line: string) => void;
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
      const me = await writeHolder(root, options.command);
      return {
        async release() {
          // Only our own holder file: after a takeover it names the process that holds the lock now.
          const holder = lockHolder(root);
          if (holder?.pid === me.pid && holder.host === me.host && holder.since === me.since) await rm(path.join(root, LOCK_INFO), { force: true });
          await release().catch(() => undefined); // already released when the lock was lost
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new UserError(`cannot lock the store at ${root} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}): make DATA_DIR writable by this user`, EXIT.failed);
      }
      const abandoned = abandonedBecause(root);
      if (abandoned !== null) {
        // Not stale by its mtime, but certainly dead: take it over now rather than never (a future mtime) or in 10 s.
        options.onTakeOver?.(`taking over the store lock of ${describeHolder(root)}, which ${abandoned}`);
        if (removeLockDir(root)) continue;
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

/**
 * Why a held lock is certainly abandoned, or null: its mtime lies beyond any refresh (a clock that
 * jumped back, a volume restored from a backup: it would never go stale), or its holder was on this
 * host and its pid is gone (or is this very process: a container restarted as pid 1). The second
 * only once the lock has missed two refreshes: a new holder writes _LOCK.json just after taking the
 * lock, and until then the file still names the dead one before it.
 */
function abandonedBecause(root: string): string | null {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path.join(root, LOCK_DIR)).mtimeMs;
  } catch {
    return null; // removed meanwhile: the next attempt takes it
  }
  if (mtimeMs > Date.now() + STALE_MS) return 'was refreshed in the future';
  const holder = lockHolder(root);
  const dead = holder !== null && holder.host === os.hostname() && (holder.pid === process.pid || !isAlive(holder.pid));
  return dead && Date.now() - mtimeMs > 2 * UPDATE_MS ? 'is no longer running' : null;
}

/** Removes an abandoned lock; false when it cannot be (then the holder is waited for as usual). */
function removeLockDir(root: string): boolean {
  try {
    rmdirSync(path.join(root, LOCK_DIR));
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'; // gone already: another starter took it
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

function describeHolder(root: string): string {
  const h = lockHolder(root);
  return h ? `\`${h.command}\` (pid ${h.pid} on host ${h.host}, since ${h.since})` : 'another collector';
}

async function writeHolder(root: string, command: string): Promise<LockHolder> {
  const info: LockHolder = { pid: process.pid, host: os.hostname(), command, since: new Date().toISOString() };
  const temp = path.join(root, `${LOCK_INFO}.${process.pid}.tmp`);
  await writeFile(temp, JSON.stringify(info));
  await rename(temp, path.join(root, LOCK_INFO));
  return info;
}

// One writer per store. `start` holds the lock for its whole life, `poll` for its poll. The lock is
// proper-lockfile's: a folder DATA_DIR/_LOCK made atomically (mkdir), its mtime refreshed every few
// seconds by the holder; a lock not refreshed for STALE_MS belongs to a dead (or frozen) process
// and is taken over. That works across containers sharing a volume, where pids mean nothing.
// Beside it, _LOCK.json names the holder (pid, host, command, since, its boot, pid namespace and
// process start time, and the identity of the _LOCK folder it made). The holder checks that it still holds the lock right
// before each step that makes data visible (assertHeld, the committer's and retention's fence).
import { readFileSync, rmdirSync, statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { EXIT, UserError, errorMessage } from '../runtime/errors.js';
import { certainlyExited, thisProcess, type ProcessIdentity } from '../runtime/process-identity.js';

export const LOCK_DIR = '_LOCK';
export const LOCK_INFO = '_LOCK.json';
/** A lock not refreshed for this long is stale (its holder died or is frozen) and is taken over. */
export const STALE_MS = 10_000;
const UPDATE_MS = 2_000;
const RETRY_MS = 1_000;
/** How long a waiter gives a new holder to write _LOCK.json before it calls it "another collector". */
const NAMING_GRACE_MS = 1_500;
/**
 * assertHeld refuses once the lock was last refreshed this long ago: from then on another collector
 * may take it over (at STALE_MS), so the step about to run gets at least STALE_MS - FENCE_MS (3 s)
 * before anyone else can hold the store. A refresh is due every UPDATE_MS.
 */
export const FENCE_MS = STALE_MS - 3_000;

export interface LockHolder extends Partial<Omit<ProcessIdentity, 'pid' | 'host'>> {
  pid: number;
  host: string;
  command: string;
  since: string;
  /** The _LOCK folder this holder made: tells a _LOCK.json left by the previous holder from its own. */
  lock?: { ino: number; birthtimeMs: number };
}

export interface StoreLock {
  release(): Promise<void>;
  /**
   * Throws a LockLostError unless this process still holds the lock: the folder is the one it made,
   * _LOCK.json names it, and its last refresh is recent enough (FENCE_MS) that nobody may take it
   * over yet. Synchronous, so that nothing runs between the check and the step it guards.
   */
  assertHeld(): void;
}

/** This process lost the store lock: nothing more may be made visible in the store. */
export class LockLostError extends UserError {
  constructor(readonly why: string) {
    super(`store lock lost (${why}): another collector may be writing this store; nothing more of this poll was made visible`, EXIT.failed);
    this.name = 'LockLostError';
  }
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
    onCompromised: (err: Error) => {
      compromised = errorMessage(err);
      options.onLost(compromised);
    },
  };
  let compromised: string | null = null;
  const deadline = Date.now() + options.waitMs;
  let waited = false;
  let unnamedSince: number | null = null;
  for (;;) {
    try {
      const release = await lockfile.lock(root, lockOptions);
      const me = await writeHolder(root, options.command);
      return {
        assertHeld() {
          if (compromised !== null) throw new LockLostError(compromised);
          const folder = lockFolder(root);
          if (folder === null) throw new LockLostError('the _LOCK folder is gone');
          const holder = lockHolder(root);
          if (folder.ino !== me.lock?.ino || folder.birthtimeMs !== me.lock.birthtimeMs || holder?.pid !== me.pid || holder.host !== me.host || holder.since !== me.since) {
            throw new LockLostError(`another collector holds it now: ${describeHolder(root)}`);
          }
          const age = Date.now() - folder.mtimeMs;
          if (age > FENCE_MS) throw new LockLostError(`not refreshed for ${(age / 1000).toFixed(1)} s: it may be taken over at any moment`);
        },
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
      const judged = lockFolder(root);
      const abandoned = abandonedBecause(root);
      if (abandoned !== null) {
        // Not stale by its mtime, but certainly dead: take it over now rather than never (a future mtime) or in 10 s.
        options.onTakeOver?.(`taking over the store lock of ${describeHolder(root)}, which ${abandoned}`);
        if (removeLockDir(root, judged)) continue;
      }
      // A holder that has just made _LOCK has not yet written _LOCK.json: name it a moment later
      // rather than as "another collector" (or as the previous holder, whose file is still there).
      const named = holderOfFolder(root, judged) !== null;
      if (named) unnamedSince = null;
      else unnamedSince ??= Date.now();
      if (unnamedSince !== null && Date.now() - unnamedSince < NAMING_GRACE_MS && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
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
 * jumped back, a volume restored from a backup: it would never go stale), or its holder certainly
 * exited (runtime/process-identity.ts: recorded in this boot and pid namespace, and its pid is gone,
 * reused, or this very process's). A holder of another container with the same host name, or of an
 * older version's _LOCK.json (no boot or namespace), is never judged by its pid: its lock is taken
 * over only once stale. A certain exit is acted on at once when _LOCK.json names the _LOCK folder
 * that exists; otherwise (a file left by the previous holder while a new one has just made the
 * folder and not yet written its own) only once the lock has missed two refreshes.
 */
function abandonedBecause(root: string): string | null {
  const folder = lockFolder(root);
  if (folder === null) return null; // removed meanwhile: the next attempt takes it
  if (folder.mtimeMs > Date.now() + STALE_MS) return 'was refreshed in the future';
  const holder = lockHolder(root);
  if (holder === null || !certainlyExited(holder)) return null;
  // _LOCK.json written by the holder of this very folder (its birth time, where the filesystem
  // keeps one, tells it from an earlier folder of the same inode): act at once.
  const ownFile = holder.lock !== undefined && holder.lock.birthtimeMs > 0 && holder.lock.ino === folder.ino && holder.lock.birthtimeMs === folder.birthtimeMs;
  return ownFile || Date.now() - folder.mtimeMs > 2 * UPDATE_MS ? 'is no longer running' : null;
}

type Folder = { ino: number; birthtimeMs: number; mtimeMs: number };

function lockFolder(root: string): Folder | null {
  try {
    return statSync(path.join(root, LOCK_DIR));
  } catch {
    return null;
  }
}

/**
 * Removes an abandoned lock, unless the folder is no longer the one judged abandoned (another
 * starter took it over meanwhile and made its own); false when it cannot be (then the holder is
 * waited for as usual).
 */
function removeLockDir(root: string, judged: Folder | null): boolean {
  const now = lockFolder(root);
  if (now === null) return true; // gone already: another starter took it
  if (judged === null || now.ino !== judged.ino || now.birthtimeMs !== judged.birthtimeMs) return false;
  try {
    rmdirSync(path.join(root, LOCK_DIR));
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'; // gone already: another starter took it
  }
}

/** The holder _LOCK.json names, if it wrote the file for this _LOCK folder (a file of an older version names no folder: trusted). */
function holderOfFolder(root: string, folder: Folder | null): LockHolder | null {
  const holder = lockHolder(root);
  if (holder === null || folder === null) return null;
  return holder.lock === undefined || (holder.lock.ino === folder.ino && holder.lock.birthtimeMs === folder.birthtimeMs) ? holder : null;
}

function describeHolder(root: string): string {
  const h = holderOfFolder(root, lockFolder(root));
  return h ? `\`${h.command}\` (pid ${h.pid} on host ${h.host}, since ${h.since})` : 'another collector';
}

async function writeHolder(root: string, command: string): Promise<LockHolder> {
  const folder = statSync(path.join(root, LOCK_DIR));
  const info: LockHolder = {
    ...thisProcess(), command, since: new Date().toISOString(), lock: { ino: folder.ino, birthtimeMs: folder.birthtimeMs },
  };
  const temp = path.join(root, `${LOCK_INFO}.${process.pid}.tmp`);
  await writeFile(temp, JSON.stringify(info));
  await rename(temp, path.join(root, LOCK_INFO));
  return info;
}

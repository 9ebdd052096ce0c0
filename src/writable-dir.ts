// Proves a folder usable: a probe file written, synced and removed. access(W_OK) alone is not
// enough: it says yes to root on a read-only mount.
import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, errorMessage } from './errors.js';

/**
 * Writes `bytes` to a probe file in `dir`, syncs it and removes it; returns the error code when
 * that fails (ENOSPC, EROFS, EACCES ...), else null. A few KiB ask whether a nearly full disk has room.
 */
export function writeProbe(dir: string, bytes = 0): string | null {
  const probe = path.join(dir, `.write-probe-${process.pid}`);
  try {
    const fd = openSync(probe, 'w');
    try {
      if (bytes > 0) writeSync(fd, Buffer.alloc(bytes));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    rmSync(probe);
    return null;
  } catch (err) {
    try {
      rmSync(probe, { force: true });
    } catch {
      // a read-only folder: nothing was created
    }
    return (err as NodeJS.ErrnoException).code ?? errorMessage(err);
  }
}

/** Throws a ConfigError naming the setting and its env variable when `dir` cannot be written. */
export function ensureWritableDir(dir: string, setting: string, envName: string): void {
  let code: string | null;
  try {
    mkdirSync(dir, { recursive: true });
    code = writeProbe(dir);
  } catch (err) {
    code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
  }
  if (code !== null) {
    throw new ConfigError([`${setting}: "${dir}" is not a writable folder (${code}); expected a folder this user can write (${envName})`]);
  }
}

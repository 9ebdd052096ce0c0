// Proves a folder usable: a probe file written, synced and removed. access(W_OK) alone is not
// enough: it says yes to root on a read-only mount.
import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
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
  if (code !== null) throw notWritable(dir, setting, envName, code);
}

/**
 * What ensureWritableDir proves, without creating anything (check-config): `dir` is a writable
 * folder, or does not exist yet and its nearest existing parent is one (start would create it there).
 */
export function checkWritableDir(dir: string, setting: string, envName: string): void {
  let existing = path.resolve(dir);
  let code: string | null = null;
  for (;;) {
    try {
      if (!statSync(existing).isDirectory()) code = 'ENOTDIR';
      break;
    } catch (err) {
      const parent = path.dirname(existing);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === existing) {
        code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
        break;
      }
      existing = parent;
    }
  }
  code ??= writeProbe(existing);
  if (code !== null) throw notWritable(dir, setting, envName, code);
}

function notWritable(dir: string, setting: string, envName: string, code: string): ConfigError {
  return new ConfigError([`${setting}: "${dir}" is not a writable folder (${code}); expected a folder this user can write (${envName})`]);
}

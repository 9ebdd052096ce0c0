// Proves a folder usable before work starts: created if missing, then a probe file written
// and removed. access(W_OK) alone is not enough: it says yes to root on a read-only mount.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, errorMessage } from './errors.js';

/** Throws a ConfigError naming the setting and its env variable when `dir` cannot be written. */
export function ensureWritableDir(dir: string, setting: string, envName: string): void {
  const probe = path.join(dir, `.write-probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
    throw new ConfigError([`${setting}: "${dir}" is not a writable folder (${code}); expected a folder this user can write (${envName})`]);
  }
}

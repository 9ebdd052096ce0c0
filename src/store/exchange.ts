// Swaps two folders in one step: Linux's renameat2(RENAME_EXCHANGE), called through koffi (Node's
// fs has no exchange). A reader listing either path sees the old tree or the new one, never a mix
// and never nothing. Filesystems that refuse it (NFS, some FUSE: EINVAL) fall back to two renames,
// with a moment between them where the path is missing; that fallback is logged once per process.
import { rename } from 'node:fs/promises';
import { createRequire } from 'node:module';

type Renameat2 = (olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number) => number;
interface Koffi {
  load(name: string): { func(signature: string): Renameat2 };
  errno(): number;
}

const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;
const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 18: 'EXDEV', 22: 'EINVAL', 28: 'ENOSPC', 30: 'EROFS', 38: 'ENOSYS', 95: 'EOPNOTSUPP' };

let native: { renameat2: Renameat2; errno: () => number } | null | undefined;

function loadNative(): typeof native {
  if (native !== undefined) return native;
  try {
    // koffi is CommonJS with a native module: loaded on first use only, so importing this costs nothing.
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    native = { renameat2: koffi.load('libc.so.6').func('int renameat2(int, const char *, int, const char *, unsigned int)'), errno: () => koffi.errno() };
  } catch {
    native = null; // not Linux/glibc, or no prebuilt binary for this platform
  }
  return native;
}

export type ExchangeMode = 'atomic' | 'two-renames';

/**
 * Puts `replacement` at `target` and the old `target` at `replacement`. Both must exist. Returns
 * how it was done; `onFallback` is told why the atomic swap was not available.
 */
export async function exchangeFolders(target: string, replacement: string, onFallback?: (reason: string) => void): Promise<ExchangeMode> {
  const lib = loadNative();
  if (lib) {
    if (lib.renameat2(AT_FDCWD, replacement, AT_FDCWD, target, RENAME_EXCHANGE) === 0) return 'atomic';
    const errno = lib.errno();
    const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    // Only "this filesystem cannot exchange" falls back; anything else (a missing folder, no space, no permission) is an error.
    if (code !== 'EINVAL' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') {
      throw Object.assign(new Error(`${code}: cannot exchange ${replacement} with ${target}`), { code });
    }
    onFallback?.(`${code} from renameat2(RENAME_EXCHANGE)`);
  } else {
    onFallback?.('renameat2 is not available on this platform');
  }
  const aside = `${replacement}.old`;
  await rename(target, aside);
  await rename(replacement, target);
  await rename(aside, replacement);
  return 'two-renames';
}

// Small durable-filesystem steps shared by the store's writers: fsync of a file or folder, a JSON
// marker that appears whole or not at all, and a folder tree made durable.
import { readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Writes `value` as JSON beside, fsyncs, renames into place, fsyncs the folder. */
export async function writeMarker(file: string, value: unknown): Promise<void> {
  const temp = `${file}.tmp`;
  await writeFile(temp, JSON.stringify(value));
  await fsync(temp);
  await rename(temp, file);
  await fsync(path.dirname(file));
}

/** A marker's JSON if it exists and passes `valid`, else null (none, or torn by an older version). */
export async function readMarker<T>(file: string, valid: (v: Partial<T>) => boolean): Promise<T | null> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<T>;
    return valid(value) ? (value as T) : null;
  } catch {
    return null;
  }
}

/**
 * Like readMarker, but a file that is there and unreadable (not JSON, or failing `valid`) is not
 * silently taken as absent: it is renamed to `<file>.corrupt-<timestamp>`, kept for a look, and
 * `onCorrupt` is told where it went. Returns null then, as for a missing file.
 */
export async function readMarkerOrSetAside<T>(file: string, valid: (v: Partial<T>) => boolean, onCorrupt: (movedTo: string, why: string) => void): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let why = 'not the expected content';
  try {
    const value = JSON.parse(text) as Partial<T>;
    if (valid(value)) return value as T;
  } catch (err) {
    why = `not JSON: ${(err as Error).message}`;
  }
  const aside = `${file}.corrupt-${new Date().toISOString().replaceAll(':', '')}`;
  await rename(file, aside);
  onCorrupt(aside, why);
  return null;
}

/** fsyncs every folder of a tree (its files were fsynced as they were written). */
export async function fsyncTree(dir: string): Promise<void> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await fsyncTree(path.join(dir, entry.name));
  }
  await fsync(dir);
}

/**
 * Removes a tree one folder at a time, synchronously (it runs before the daemon serves anything;
 * 175,200 awaited unlinks cost a minute more). fs.rm's recursive removal holds the whole tree in
 * memory at once: 120 MB for 19,200 files, about 600 MB for the 175,200 of a year-old store.
 */
export function removeTree(target: string): void {
  let entries;
  try {
    entries = readdirSync(target, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') return unlinkSync(target);
    throw err;
  }
  for (const entry of entries) {
    const full = path.join(target, entry.name);
    if (entry.isDirectory()) removeTree(full);
    else unlinkSync(full);
  }
  rmdirSync(target);
}

/** fsync a file, or a folder so that renames and new entries in it survive a power cut. */
export async function fsync(target: string): Promise<void> {
  const handle = await open(target, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some filesystems refuse fsync on a folder; the data files themselves were synced.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    await handle.close();
  }
}

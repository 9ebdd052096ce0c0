// Writes rows to one Parquet file and makes it durable (fsync). On failure the partial file
// is removed: a truncated Parquet file breaks every DuckDB query over its glob.
import { open, rm } from 'node:fs/promises';
import * as parquet from './parquet-lib.js';
import { writeLogicalTypes } from './parquet-footer.js';

/** Rows per row group: large groups read faster; a poll of 10,000 films is a few groups. */
const ROW_GROUP_SIZE = 4096;

export async function writeParquetFile(file: string, schema: parquet.ParquetSchema, rows: Iterable<Record<string, unknown>>): Promise<void> {
  let writer: parquet.ParquetWriter | null = null;
  try {
    writer = await parquet.ParquetWriter.openFile(schema, file, { rowGroupSize: ROW_GROUP_SIZE });
    writeLogicalTypes(writer);
    for (const row of rows) await writer.appendRow(row);
    const closing = writer;
    writer = null;
    await closing.close();
    await fsync(file);
  } catch (err) {
    if (writer) await writer.close().catch(() => undefined);
    await rm(file, { force: true });
    throw err;
  }
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

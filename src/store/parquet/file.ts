// Writes rows to one Parquet file and makes it durable (fsync). On failure the partial file
// is removed: a truncated Parquet file breaks every DuckDB query over its glob.
// Rows go straight into parquetjs's row buffer (row-buffer.ts); the library itself still
// encodes pages, row groups and the footer, so files are the ones its appendRow would write.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { fsync } from '../durable.js';
import { writeLogicalTypes } from './footer.js';
import { installParquetWriter } from './install.js';
import * as parquet from './lib.js';
import { RowBufferFiller } from './row-buffer.js';

/** Rows per row group: large groups read faster; a poll of 10,000 films is a few groups. */
export const ROW_GROUP_SIZE = 4096;

type Row = Record<string, unknown>;

const fillers = new WeakMap<parquet.ParquetSchema, RowBufferFiller>();
function fillerFor(schema: parquet.ParquetSchema): RowBufferFiller {
  let filler = fillers.get(schema);
  if (!filler) fillers.set(schema, (filler = new RowBufferFiller(schema)));
  return filler;
}

/**
 * One Parquet file being written. Rows can be appended from concurrent callbacks: they are
 * written in order, one at a time (a row that completes a row group waits for it to be encoded
 * and written, and the rows after it queue). A failed row fails the file: `close` then removes
 * it and throws the error.
 */
export class ParquetFileWriter {
  /** Rows appended and accepted so far. */
  rows = 0;
  private readonly pending: Row[] = [];
  private running = false;
  private draining: Promise<void> = Promise.resolve();
  private error: unknown = null;
  private finished = false;

  private constructor(
    readonly file: string,
    private readonly writer: parquet.ParquetWriter,
    private readonly filler: RowBufferFiller,
    /** The first failed write to the file, if any. */
    private readonly writeFailure: () => unknown = () => null,
    /** Columns with one value for the whole file (the run id of a poll's file), added to each row. */
    private readonly constants: Row | null = null,
  ) {}

  static async open(file: string, schema: parquet.ParquetSchema, options: { rowGroupSize?: number; constants?: Row } = {}): Promise<ParquetFileWriter> {
    installParquetWriter();
    const filler = fillerFor(schema); // refuses a schema shape it cannot fill before any file exists
    const opts = { rowGroupSize: options.rowGroupSize ?? ROW_GROUP_SIZE };
    // ParquetWriter.openFile, opened by hand: parquetjs leaves some writes' promises unawaited (the
    // header, the page index), so a failed write (ENOSPC) would be an unhandled rejection that ends
    // the process. Every write's failure is caught here and kept, and fails the file.
    const stream = createWriteStream(file);
    let failure: unknown = null;
    stream.on('error', (err) => (failure ??= err));
    await once(stream, 'open'); // rejects with the error of a file that cannot be created
    const envelope = await parquet.ParquetEnvelopeWriter.openStream(schema, stream, opts);
    const write = envelope.write;
    envelope.write = (buf: Buffer) => {
      const written = Promise.resolve(write(buf));
      written.catch((err: unknown) => (failure ??= err));
      return written as unknown as void; // typed void by parquetjs; it is the promise its callers await
    };
    const writer = new parquet.ParquetWriter(schema, envelope, opts);
    const fileWriter = new ParquetFileWriter(file, writer, filler, () => failure, options.constants ?? null);
    try {
      writeLogicalTypes(writer);
    } catch (err) {
      await fileWriter.discard();
      throw err;
    }
    return fileWriter;
  }

  /** Queues a row. Never throws: a failure is kept, later rows are dropped, and `close` throws it. */
  append(row: Row): void {
    if (this.error !== null || this.finished) return;
    if (this.constants) row = { ...row, ...this.constants };
    if (this.running) {
      this.pending.push(row);
      return;
    }
    try {
      if (this.completesPage()) {
        this.running = true;
        this.draining = this.flushThenDrain(row);
      } else {
        this.filler.append(this.writer.rowBuffer, row);
        this.rows++;
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Appends a row; while a row group is being written, waits for it: a producer's loop then holds at most one group. */
  write(row: Row): Promise<void> | undefined {
    this.append(row);
    return this.running ? this.draining : undefined;
  }

  /** Whether a row failed (the file will not be committed). */
  get failed(): boolean {
    return this.error !== null;
  }

  /** Writes what is buffered and the footer, then fsyncs; on any failure removes the file and throws. */
  async close(): Promise<void> {
    this.finished = true;
    await this.draining;
    if (this.error !== null) {
      await this.discard();
      throw this.error;
    }
    try {
      await this.writer.close();
      const failure = this.writeFailure(); // a write whose promise parquetjs did not await
      if (failure !== null) throw failure;
      await fsync(this.file);
    } catch (err) {
      await this.discard();
      throw err;
    }
  }

  /** Stops writing and removes the file (an aborted or failed poll). */
  async discard(): Promise<void> {
    this.finished = true;
    this.pending.length = 0;
    await this.draining;
    const envelope = this.writer.envelopeWriter;
    this.writer.envelopeWriter = null;
    await Promise.resolve(envelope?.close()).catch(() => undefined); // the stream may have failed or ended already
    await rm(this.file, { force: true });
  }

  /**
   * Whether the next row completes a page or a row group. Such a row goes through appendRow: the
   * library then encodes and writes them exactly as it would have (one shredded row per group costs little).
   */
  private completesPage(): boolean {
    const buffer = this.writer.rowBuffer;
    const envelope = this.writer.envelopeWriter;
    if (!envelope) throw new Error('parquet writer already closed');
    return (buffer.rowCount ?? 0) + 1 >= this.writer.rowGroupSize || (buffer.pageRowCount ?? 0) + 1 >= envelope.pageSize;
  }

  /** Writes `row` through appendRow, then the rows that queued meanwhile (in order). */
  private async flushThenDrain(row: Row): Promise<void> {
    try {
      let next: Row | undefined = row;
      let first = true;
      while (next !== undefined && this.error === null) {
        if (first || this.completesPage()) await this.writer.appendRow(this.filler.libraryRow(next));
        else this.filler.append(this.writer.rowBuffer, next);
        this.rows++;
        first = false;
        next = this.pending.shift();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.running = false;
    }
  }

  private fail(err: unknown): void {
    this.error = err;
    this.pending.length = 0;
  }
}

/** Writes a whole file from rows that may come asynchronously (a compaction's reader); returns the row count. */
export async function writeParquetFile(file: string, schema: parquet.ParquetSchema, rows: Iterable<Row> | AsyncIterable<Row>, constants?: Row): Promise<number> {
  const writer = await ParquetFileWriter.open(file, schema, constants ? { constants } : {});
  try {
    for await (const row of rows) {
      const writing = writer.write(row); // a promise only while a row group is being written
      if (writing) await writing;
    }
  } catch (err) {
    await writer.discard(); // the rows' iterator failed
    throw err;
  }
  await writer.close();
  return writer.rows;
}


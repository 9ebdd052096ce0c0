// Reads rows back out of the store's Parquet files, for compaction and migration: DuckDB streams
// them in chunks (a day of a large catalogue never sits in memory whole), in file order then row
// order, as the JavaScript values the writer takes (bigint, Date, arrays, null). Files of every
// version read together: union_by_name fills columns an older file lacks, the `run` of a file in
// a run=<id> folder (before 0.3) comes from its path, and naive timestamps (before 0.2) are UTC.
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { ParquetSchema } from './parquet/index.js';
import { changeRows, observe, type PollPrices, type PriceChangeRow } from './price-changes.js';
import { duckdbMemory } from '../runtime/duckdb-memory.js';
import { COMPACTED_PREFIX, runIdOfFile, runIdOfLegacyPath } from './layout.js';

/** The run id of a file that holds one poll: its name (this layout), or its run= folder (before 0.3); null for a compacted day. */
function runOfOneFile(file: string): string | null {
  const name = path.basename(file);
  return name.startsWith(COMPACTED_PREFIX) ? null : (runIdOfFile(name) ?? runIdOfLegacyPath(file));
}

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

type Row = Record<string, unknown>;

export class ParquetRowSource {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly con: DuckDBConnection,
  ) {}

  /** `spill`: the folder DuckDB may write a sort that outgrows its memory cap into. */
  static async open(spill: string): Promise<ParquetRowSource> {
    // Loaded here, not on import: a writer imports this module (through compaction and the
    // upgrade) at every start, and only opens a source when a day needs rewriting. DuckDB's
    // ~180 modules and native library cost a one-shot poll ~0.15 s of CPU for nothing otherwise.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    // One thread and a memory cap: compaction runs beside the daemon's polls and page. Rows are
    // streamed file by file (see rows()), so the cap holds whatever the size of a day.
    const instance = await DuckDBInstance.create(':memory:', { threads: '1', ...duckdbMemory(spill), preserve_insertion_order: 'true' });
    const con = await instance.connect();
    await con.run("SET TimeZone = 'UTC'");
    return new ParquetRowSource(instance, con);
  }

  private from(files: string[]): string {
    return `read_parquet([${files.map(quote).join(', ')}], hive_partitioning = true, union_by_name = true, filename = true, file_row_number = true)`;
  }

  /**
   * Files of each layout apart (older run= folders first): a Hive-partitioned read refuses files at
   * two depths, and one day can hold both (a 0.2 collector run again on an upgraded store).
   */
  private static byLayout(files: string[]): string[][] {
    const legacy = files.filter((f) => /[/\\]run=[^/\\]+[/\\]/.test(f));
    const current = files.filter((f) => !legacy.includes(f));
    return [legacy, current].filter((g) => g.length > 0);
  }

  async count(files: string[]): Promise<number> {
    let n = 0;
    for (const group of ParquetRowSource.byLayout(files)) {
      const reader = await this.con.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${this.from(group)}`);
      n += Number(reader.getRowObjectsJS()[0]?.n ?? 0);
    }
    return n;
  }

  /** The rows of `files` with exactly the schema's columns (a column no file has is an error, named), in run order, then each file's order. */
  async *rows(files: string[], schema: ParquetSchema): AsyncGenerator<Row> {
    for (const group of ParquetRowSource.byLayout(files)) yield* this.rowsOfOneLayout(group, schema);
  }

  /**
   * In run order. A sort of a whole day with its `raw` JSON does not fit a bounded DuckDB (2 × 5,000
   * films: 480,000 rows per provider, "failed to pin block"), so when the files' runs do not overlap
   * (one poll per file, or a compacted day and polls after it: the normal case) each file is
   * streamed in turn, in its own order, and nothing is sorted. Only files whose runs interleave (a
   * clock set back) are sorted together.
   */
  private async *rowsOfOneLayout(files: string[], schema: ParquetSchema): AsyncGenerator<Row> {
    const present = new Set(
      (await this.con.runAndReadAll(`DESCRIBE SELECT * FROM ${this.from(files)}`)).getRowObjectsJS().map((r) => String(r.column_name)),
    );
    const columns = Object.keys(schema.fields);
    const missing = columns.filter((c) => !present.has(c));
    if (missing.length > 0) throw new Error(`cannot rewrite ${files[0] ?? ''} and ${files.length - 1} more: column(s) ${missing.join(', ')} not in any of them`);
    for await (const chunk of this.chunksInRunOrder(files, `SELECT ${columns.map((c) => `"${c}"`).join(', ')}`)) {
      for (const row of chunk) yield row;
    }
  }

  /**
   * `select` (a column list) over `files`, in run order, chunk by chunk: files whose runs come one
   * after another are streamed in turn, each in its own row order, unsorted; files whose runs
   * interleave are sorted together.
   */
  private async *chunksInRunOrder(files: string[], select: string): AsyncGenerator<Row[]> {
    const ordered = await this.inRunOrder(files);
    const reads = ordered ? ordered.map((f) => `${select} FROM ${this.from([f])}`) : [`${select} FROM ${this.from(files)} ORDER BY "run", filename, file_row_number`];
    for (const sql of reads) yield* (await this.con.stream(sql)).yieldRowObjectJs() as AsyncIterable<Row[]>;
  }

  /** The files sorted so that their runs come in order one file after another, or null when two files' runs interleave. */
  private async inRunOrder(files: string[]): Promise<string[] | null> {
    const ranges: Array<{ file: string; first: string; last: string }> = [];
    for (const file of files) {
      const own = runOfOneFile(file);
      if (own !== null) {
        ranges.push({ file, first: own, last: own });
        continue;
      }
      const [r] = (await this.con.runAndReadAll(`SELECT min("run") AS first, max("run") AS last FROM ${this.from([file])}`)).getRowObjectsJS();
      if (r?.first == null) continue; // no rows
      ranges.push({ file, first: String(r.first), last: String(r.last) });
    }
    ranges.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    for (let i = 1; i < ranges.length; i++) if ((ranges[i]?.first ?? '') <= (ranges[i - 1]?.last ?? '')) return null;
    return ranges.map((r) => r.file);
  }

  /**
   * One provider's price_changes rows of one day, recomputed from its movies and the day's runs
   * (price-changes.ts defines them): its polls in run order, each compared with the one before.
   * Only the narrow columns are read and sorted; two polls' prices are held at a time.
   */
  async *dayChanges(movieFiles: string[], runFiles: string[], provider: string): AsyncGenerator<PriceChangeRow> {
    const polls = (await this.con.runAndReadAll(
      `SELECT "run", min(started_at) AS started_at FROM ${this.from(runFiles)} WHERE provider = $provider GROUP BY "run" ORDER BY "run"`, { provider },
    )).getRowObjectsJS() as Array<{ run: string; started_at: Date }>;
    // Not sorted as a whole: a day's sort of 480,000 rows took DuckDB to its bound.
    const chunks = this.chunksInRunOrder(movieFiles, 'SELECT "run", film_key, price_cents, title, "year", polled_at');
    let buffered: Row[] = [];
    let at = 0;
    const next = async (): Promise<Row | null> => {
      while (at >= buffered.length) {
        const chunk = await chunks.next();
        if (chunk.done) return null;
        buffered = chunk.value;
        at = 0;
      }
      return buffered[at] ?? null;
    };
    let previous: PollPrices | null = null;
    for (const poll of polls) {
      const current: PollPrices = new Map();
      let polledAt: Date | null = null;
      for (let row = await next(); row !== null && String(row.run) <= poll.run; row = await next()) {
        at++;
        if (String(row.run) !== poll.run) continue; // a movies row of no committed poll of this provider
        polledAt ??= row.polled_at as Date;
        observe(current, String(row.film_key), BigInt(row.price_cents as bigint), String(row.title), row.year === null ? null : Number(row.year));
      }
      yield* changeRows(poll.run, polledAt ?? poll.started_at, poll.started_at, current, previous);
      previous = current;
    }
  }

  /** The providers of a day's runs files. */
  async providers(runFiles: string[]): Promise<string[]> {
    return (await this.con.runAndReadAll(`SELECT DISTINCT provider FROM ${this.from(runFiles)} ORDER BY 1`)).getRowObjectsJS().map((r) => String(r.provider));
  }

  close(): void {
    this.con.closeSync();
    this.instance.closeSync();
  }
}

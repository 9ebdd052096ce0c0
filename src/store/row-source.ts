// Reads rows back out of the store's Parquet files, for compaction and migration: DuckDB streams
// them in chunks (a day of a large catalogue never sits in memory whole), in file order then row
// order, as the JavaScript values the writer takes (bigint, Date, arrays, null). Files of every
// version read together: union_by_name fills columns an older file lacks, the `run` of a file in
// a run=<id> folder (before 0.3) comes from its path, and naive timestamps (before 0.2) are UTC.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ParquetSchema } from './parquet/index.js';

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

type Row = Record<string, unknown>;

export class ParquetRowSource {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly con: DuckDBConnection,
  ) {}

  /** `spill`: the folder DuckDB may write a sort that outgrows its memory cap into. */
  static async open(spill: string): Promise<ParquetRowSource> {
    // One thread and a memory cap: compaction runs beside the daemon's polls and page.
    const instance = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '128MB', preserve_insertion_order: 'true', temp_directory: spill });
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

  private async *rowsOfOneLayout(files: string[], schema: ParquetSchema): AsyncGenerator<Row> {
    const present = new Set(
      (await this.con.runAndReadAll(`DESCRIBE SELECT * FROM ${this.from(files)}`)).getRowObjectsJS().map((r) => String(r.column_name)),
    );
    const columns = Object.keys(schema.fields);
    const missing = columns.filter((c) => !present.has(c));
    if (missing.length > 0) throw new Error(`cannot rewrite ${files[0] ?? ''} and ${files.length - 1} more: column(s) ${missing.join(', ')} not in any of them`);
    const result = await this.con.stream(`SELECT ${columns.map((c) => `"${c}"`).join(', ')} FROM ${this.from(files)} ORDER BY "run", filename, file_row_number`);
    for await (const chunk of result.yieldRowObjectJs()) {
      for (const row of chunk) yield row as Row;
    }
  }

  close(): void {
    this.con.closeSync();
    this.instance.closeSync();
  }
}

// DuckDB as the independent reader of the store in tests.
import { DuckDBInstance } from '@duckdb/node-api';

export type Row = Record<string, unknown>;

export async function query(sql: string): Promise<Row[]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJS() as Row[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A table's glob from its root, as users read it. */
export function table(dataDir: string, name: 'movies' | 'rejects' | 'runs'): string {
  return `read_parquet('${dataDir}/${name}/**/*.parquet', hive_partitioning = true)`;
}

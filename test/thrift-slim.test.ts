// The Parquet writer's thrift without its connections (src/store/parquet/thrift-slim.ts), in a
// process of its own (node --test runs each file apart): nothing here loads thrift's index first.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { writeParquetFile } from '../src/store/parquet/index.js';
import { MOVIES_SCHEMA, movieRow } from '../src/store/schema.js';
import { query } from './duckdb.js';
import { extremeMovies } from './extreme-records.js';
import { tempDir } from './helpers.js';

test('the writer gets the members of thrift Parquet uses, an error naming thrift-slim.ts for any other, and writes files DuckDB reads', async (t) => {
  const thrift = createRequire(import.meta.resolve('@dsnp/parquetjs/dist/lib/util.js'))('thrift') as Record<string, unknown>;
  assert.equal(typeof (thrift.Thrift as { Type?: unknown }).Type, 'object', 'thrift.Thrift (its type codes)');
  for (const name of ['TBufferedTransport', 'TFramedTransport', 'TCompactProtocol', 'Int64', 'Q']) assert.equal(typeof thrift[name], 'function', `thrift.${name}`);
  assert.throws(() => thrift.createHttpConnection, /thrift\.createHttpConnection is not loaded.*thrift-slim\.ts/);
  assert.equal(Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes(`${path.sep}ws${path.sep}`)), false, 'ws is not loaded');

  // Page headers and the footer go through the slim thrift's compact protocol: an independent reader reads them back.
  const file = path.join(tempDir(t), 'movies.parquet');
  const records = extremeMovies(50);
  await writeParquetFile(file, MOVIES_SCHEMA, records.map((m) => ({ run: 'r1', ...movieRow(m) })));
  const rows = await query(`SELECT provider_movie_id AS id FROM read_parquet('${file}', file_row_number = true) ORDER BY file_row_number`);
  assert.deepEqual(rows.map((r) => r.id), records.map((m) => m.provider_movie_id));
});

// The writer that fills parquetjs's row buffer directly writes the very files parquetjs's own
// appendRow writes (byte for byte), and readers read them back: nulls, empty lists, the largest
// INT64, text beyond the BMP, zero rows and several row groups. The reference also sets the
// footer's logical types the earlier way (the finished footer decoded, amended, encoded again).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import parquet from '@dsnp/parquetjs';
import thrift from '@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js';
import { decodeThrift, serializeThrift } from '@dsnp/parquetjs/dist/lib/util.js';
import thriftLib from 'thrift';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { INT64_MAX } from '../src/records/normalize.js';
import type { MovieRecord, RejectRecord, RunRecord } from '../src/records/types.js';
import { ParquetFileWriter, ROW_GROUP_SIZE, writeParquetFile } from '../src/store/parquet/index.js';
import { serializeCompact } from '../src/store/parquet/thrift-serialize.js';
import * as schemas from '../src/store/schema.js';
import { query } from './duckdb.js';
import { tempDir } from './helpers.js';
import { EXTREME_POLLED_AT, extremeMovies, extremeRejects, extremeRuns } from './extreme-records.js';

type Row = Record<string, unknown>;

const { MOVIES_SCHEMA, REJECTS_SCHEMA, RUNS_SCHEMA } = schemas;
/** Every table's rows carry the run id as their first column (the committer adds it to a poll's rows). */
const RUN = '20260115T134506.789Z-0badc0de';
const movieRow = (m: MovieRecord): Row => ({ run: RUN, ...schemas.movieRow(m) });
const rejectRow = (r: RejectRecord): Row => ({ run: RUN, ...schemas.rejectRow(r) });
const runRow = (r: RunRecord): Row => ({ run: RUN, ...schemas.runRow(r) });

const libraryList = (items: string[] | null) => (items === null ? null : { list: items.map((element) => ({ element })) });
/** A movie row in parquetjs's own shape (lists as { list: [{ element }] }), as the writer before built it. */
const libraryMovieRow = (m: MovieRecord): Row => ({
  run: RUN, ...m, genres: libraryList(m.genres), writers: libraryList(m.writers), actors: libraryList(m.actors), warnings: libraryList(m.warnings),
});

/**
 * The writer before: parquetjs's appendRow (its generic shredRecord) for every row, then the
 * finished footer decoded, given each field's logicalType, and encoded again. Kept here only, as the reference.
 */
async function writeWithAppendRow(file: string, schema: parquet.ParquetSchema, rows: Row[], rowGroupSize = ROW_GROUP_SIZE): Promise<void> {
  const writer = await parquet.ParquetWriter.openFile(schema, file, { rowGroupSize });
  for (const row of rows) await writer.appendRow(row);
  await writer.close();
  const bytes = readFileSync(file);
  const length = bytes.readUInt32LE(bytes.length - 8);
  const meta = new thrift.FileMetaData();
  decodeThrift(meta, bytes.subarray(bytes.length - 8 - length, bytes.length - 8));
  schema.fieldList.forEach((field, i) => {
    const element = meta.schema[i + 1];
    assert.equal(element?.name, field.name);
    if (field.logicalType && element) element.logicalType = field.logicalType;
  });
  const footer = serializeThrift(meta);
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(footer.length, 0);
  tail.write('PAR1', 4);
  writeFileSync(file, Buffer.concat([bytes.subarray(0, bytes.length - 8 - length), footer, tail]));
}

async function writeWithRowBuffer(file: string, schema: parquet.ParquetSchema, rows: Row[], rowGroupSize = ROW_GROUP_SIZE): Promise<void> {
  const writer = await ParquetFileWriter.open(file, schema, { rowGroupSize });
  for (const row of rows) writer.append(row); // all at once: rows after a full row group queue behind it
  await writer.close();
}

const polledAt = EXTREME_POLLED_AT;
const movies = (n: number) => extremeMovies(n, polledAt);
const rejects = (n: number) => extremeRejects(n, polledAt);
const runs = (n: number) => extremeRuns(n, polledAt);

const CASES: Array<{ name: string; schema: parquet.ParquetSchema; before: Row[]; after: Row[]; rowGroupSize?: number; rowGroups: number }> = [
  { name: 'movies, 40 rows in row groups of 7 (nulls, empty lists, max INT64, unicode)', schema: MOVIES_SCHEMA, before: movies(40).map(libraryMovieRow), after: movies(40).map(movieRow), rowGroupSize: 7, rowGroups: 6 },
  { name: 'movies, 9,000 rows in the default row groups', schema: MOVIES_SCHEMA, before: movies(9000).map(libraryMovieRow), after: movies(9000).map(movieRow), rowGroups: 3 },
  { name: 'movies, exactly one full row group', schema: MOVIES_SCHEMA, before: movies(7).map(libraryMovieRow), after: movies(7).map(movieRow), rowGroupSize: 7, rowGroups: 1 },
  { name: 'movies, one row', schema: MOVIES_SCHEMA, before: movies(1).map(libraryMovieRow), after: movies(1).map(movieRow), rowGroups: 1 },
  { name: 'movies, zero rows', schema: MOVIES_SCHEMA, before: [], after: [], rowGroups: 0 },
  { name: 'rejects, 25 rows in row groups of 4', schema: REJECTS_SCHEMA, before: rejects(25).map(rejectRow), after: rejects(25).map(rejectRow), rowGroupSize: 4, rowGroups: 7 },
  { name: 'runs, 5 rows', schema: RUNS_SCHEMA, before: runs(5).map(runRow), after: runs(5).map(runRow), rowGroups: 1 },
];

for (const c of CASES) {
  test(`byte-identical to parquetjs appendRow: ${c.name}`, async (t) => {
    const dir = tempDir(t);
    const before = path.join(dir, 'append-row.parquet');
    const after = path.join(dir, 'row-buffer.parquet');
    await writeWithAppendRow(before, c.schema, c.before, c.rowGroupSize);
    await writeWithRowBuffer(after, c.schema, c.after, c.rowGroupSize);
    const [a, b] = [readFileSync(before), readFileSync(after)];
    assert.ok(a.equals(b), `files differ (${a.length} and ${b.length} bytes)`);
    const [meta] = await query(`SELECT count(DISTINCT row_group_id)::INT AS groups, count(*) FILTER (WHERE compression <> 'SNAPPY')::INT AS unsnappy FROM parquet_metadata('${after}')`);
    assert.deepEqual(meta, { groups: c.rowGroups, unsnappy: 0 });
  });
}

test('read back by DuckDB (filters in SQL) and hyparquet: nulls, empty lists, max INT64, unicode, several row groups', async (t) => {
  const file = path.join(tempDir(t), 'movies.parquet');
  const records = movies(40);
  await writeWithRowBuffer(file, MOVIES_SCHEMA, records.map(movieRow), 7);
  const from = `read_parquet('${file}')`;
  const [counts] = await query(
    `SELECT count(*)::INT AS n,
            count(*) FILTER (WHERE votes = 9223372036854775807)::INT AS max_votes,
            count(*) FILTER (WHERE price_cents = 9223372036854775807)::INT AS max_price,
            count(*) FILTER (WHERE genres IS NULL)::INT AS null_genres,
            count(*) FILTER (WHERE len(genres) = 0)::INT AS empty_genres,
            count(*) FILTER (WHERE list_contains(actors, '😀 Smile'))::INT AS emoji_actor,
            count(*) FILTER (WHERE title LIKE 'Ｆｕｌｌ width %')::INT AS fullwidth,
            count(*) FILTER (WHERE year IS NULL AND released IS NULL AND rating IS NULL)::INT AS sparse,
            count(*) FILTER (WHERE released = DATE '1939-01-01')::INT AS released_1939,
            count(DISTINCT polled_at)::INT AS polled
       FROM ${from}`,
  );
  const expect = (pred: (m: MovieRecord) => boolean) => records.filter(pred).length;
  assert.deepEqual(counts, {
    n: 40,
    max_votes: expect((m) => m.votes === INT64_MAX),
    max_price: expect((m) => m.price_cents === INT64_MAX),
    null_genres: expect((m) => m.genres === null),
    empty_genres: expect((m) => m.genres?.length === 0),
    emoji_actor: expect((m) => m.actors?.includes('😀 Smile') === true),
    fullwidth: expect((m) => m.title.startsWith('Ｆｕｌｌ width ')),
    sparse: expect((m) => m.year === null),
    released_1939: expect((m) => m.released?.getTime() === Date.UTC(1939, 0, 1)),
    polled: 1,
  });
  const [last] = await query(`SELECT title, actors, warnings, raw FROM ${from} WHERE provider_movie_id = 'cw39'`);
  assert.deepEqual(last, { title: records[39]?.title, actors: records[39]?.actors, warnings: records[39]?.warnings, raw: records[39]?.raw });

  const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file) });
  assert.equal(rows.length, 40);
  rows.forEach((r, i) => {
    const m = records[i];
    assert.ok(m);
    assert.equal(r.title, m.title);
    assert.equal(r.votes ?? null, m.votes);
    assert.equal(r.price_cents, m.price_cents);
    assert.deepEqual(r.genres ?? null, m.genres);
    assert.equal((r.fetched_at as Date).getTime(), m.fetched_at.getTime());
  });
});

test('rows appended from concurrent callbacks keep their order across row groups', async (t) => {
  const file = path.join(tempDir(t), 'movies.parquet');
  const records = movies(100);
  const writer = await ParquetFileWriter.open(file, MOVIES_SCHEMA, { rowGroupSize: 8 });
  // One row per macrotask: a row group's write (file I/O) spans several, so later rows queue behind it.
  await Promise.all(records.map((m) => new Promise<void>((resolve) => setImmediate(() => resolve(writer.append(movieRow(m)))))));
  await writer.close();
  assert.equal(writer.rows, 100);
  const rows = await query(`SELECT provider_movie_id AS id FROM read_parquet('${file}', file_row_number = true) WHERE film_key >= 'tt' ORDER BY file_row_number`);
  assert.deepEqual(rows.map((r) => r.id), records.map((m) => m.provider_movie_id));
});

test('a row the schema refuses fails the file: close throws and no partial file is left', async (t) => {
  const file = path.join(tempDir(t), 'movies.parquet');
  const writer = await ParquetFileWriter.open(file, MOVIES_SCHEMA, { rowGroupSize: 4 });
  const [good] = movies(1);
  assert.ok(good);
  writer.append(movieRow(good));
  writer.append({ ...movieRow(good), title: null });
  writer.append(movieRow(good));
  assert.equal(writer.failed, true);
  await assert.rejects(writer.close(), /missing required field: title/);
  assert.equal(existsSync(file), false);
  // The old entry point refuses the same row the same way.
  await assert.rejects(writeParquetFile(file, MOVIES_SCHEMA, [{ ...movieRow(good), price_cents: null }]), /missing required field: price_cents/);
  assert.equal(existsSync(file), false);
});

/** parquetjs's own serializeThrift, rebuilt from thrift's classes: the reference for the faster serializer. */
function libraryThriftBytes(obj: object): Buffer {
  const output: Buffer[] = [];
  const transport = new thriftLib.TBufferedTransport(undefined, (buf?: Buffer) => void (buf && output.push(buf)));
  const protocol = new thriftLib.TCompactProtocol(transport);
  (obj as Record<symbol, (p: unknown) => void>)[Symbol.for('write')]?.call(obj, protocol);
  transport.flush();
  return Buffer.concat(output);
}

test('the faster thrift serializer gives the library\'s bytes: footers (statistics, INT64 extremes, logical types) and every page header', async (t) => {
  const dir = tempDir(t);
  const files = [
    { file: path.join(dir, 'movies.parquet'), schema: MOVIES_SCHEMA, rows: movies(9000).map(movieRow) },
    { file: path.join(dir, 'runs.parquet'), schema: RUNS_SCHEMA, rows: runs(5).map(runRow) },
  ];
  let headers = 0;
  for (const { file, schema, rows } of files) {
    await writeWithRowBuffer(file, schema, rows);
    const bytes = readFileSync(file);
    const length = bytes.readUInt32LE(bytes.length - 8);
    const footer = bytes.subarray(bytes.length - 8 - length, bytes.length - 8);
    const meta = new thrift.FileMetaData();
    decodeThrift(meta, footer);
    assert.ok(serializeCompact(meta).equals(footer), 'footer as written');
    assert.ok(serializeCompact(meta).equals(libraryThriftBytes(meta)), 'footer as the library serializes it');
    for (const group of meta.row_groups) {
      for (const chunk of group.columns) {
        const header = new thrift.PageHeader();
        const offset = Number(chunk.meta_data?.data_page_offset);
        const size = decodeThrift(header, bytes, offset) as number;
        assert.ok(serializeCompact(header).equals(bytes.subarray(offset, offset + size)), 'page header as written');
        assert.ok(serializeCompact(header).equals(libraryThriftBytes(header)), 'page header as the library serializes it');
        headers++;
      }
    }
  }
  assert.ok(headers > 50, `${headers} page headers checked`);
});

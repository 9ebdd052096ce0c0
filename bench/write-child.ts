// One block of bench/write.ts in a process of its own: writes the same movie rows `--block` times
// with one writer and prints the CPU of each write (JSON). The writers: the collector's; @dsnp/parquetjs
// as published (its appendRow; no logical types); DuckDB (appender into a table, COPY TO Parquet).
// Each runs in its own process so that the collector's install step (its thrift serializer) never
// touches the library's baseline.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import parquet from '@dsnp/parquetjs';
import { DuckDBInstance, LIST, VARCHAR, dateValue, listValue, timestampTZValue, type DuckDBAppender } from '@duckdb/node-api';
import { Catalogue } from '../src/mock/catalogue.js';
import { lazyMap } from '../src/poll/poll.js';
import { normalizeDetail } from '../src/records/normalize.js';
import type { MovieRecord } from '../src/records/types.js';
import { ROW_GROUP_SIZE, writeParquetFile } from '../src/store/parquet/index.js';
import { MOVIES_SCHEMA, movieRow } from '../src/store/schema.js';

const { values } = parseArgs({ options: { writer: { type: 'string' }, rows: { type: 'string', default: '10000' }, block: { type: 'string', default: '3' } } });
const rowCount = Number(values.rows);
const block = Number(values.block);

/** Realistic rows: the simulator's detail bodies, normalized as a poll does. */
function movieRows(n: number): MovieRecord[] {
  const catalogue = new Catalogue(1, n);
  const polledAt = new Date();
  return catalogue.filmsOf('cinemaworld').map((film) => {
    const body = JSON.stringify(catalogue.detailBody('cinemaworld', film, 0));
    const result = normalizeDetail({ provider: 'cinemaworld', requestedId: Catalogue.id('cinemaworld', film), body, httpStatus: 200, polledAt, fetchedAt: new Date() });
    if (!result.ok) throw new Error(result.reject.reason);
    return result.movie;
  });
}

const rows = movieRows(rowCount);
const work = mkdtempSync(path.join(os.tmpdir(), 'mc-bench-write-'));

/** Every row of a poll's file carries its run id (the first column). */
const RUN = '20260115T134506.789Z-0badc0de';

async function ours(file: string): Promise<void> {
  await writeParquetFile(file, MOVIES_SCHEMA, lazyMap(rows, movieRow), { run: RUN });
}

const libraryList = (items: string[] | null) => (items === null ? null : { list: items.map((element) => ({ element })) });
/** A row in parquetjs's own shape, as the writer before built it. */
const libraryRow = (m: MovieRecord) => ({
  run: RUN, ...m, genres: libraryList(m.genres), writers: libraryList(m.writers), actors: libraryList(m.actors), warnings: libraryList(m.warnings),
});

/** The library as published: every row through parquetjs's appendRow (its generic shredRecord). */
async function appendRow(file: string): Promise<void> {
  const writer = await parquet.ParquetWriter.openFile(MOVIES_SCHEMA, file, { rowGroupSize: ROW_GROUP_SIZE });
  for (const row of lazyMap(rows, libraryRow)) await writer.appendRow(row);
  await writer.close();
}

const instance = values.writer === 'duckdb' ? await DuckDBInstance.create(':memory:', { threads: '1' }) : null;
const con = await instance?.connect();
const CREATE = `CREATE OR REPLACE TABLE movies (
  run VARCHAR, film_key VARCHAR, provider_movie_id VARCHAR, title VARCHAR, year INTEGER, rated VARCHAR, released DATE, runtime_minutes INTEGER,
  genres VARCHAR[], director VARCHAR, writers VARCHAR[], actors VARCHAR[], plot VARCHAR, language VARCHAR, country VARCHAR,
  awards VARCHAR, poster VARCHAR, metascore INTEGER, rating DOUBLE, votes BIGINT, type VARCHAR, price_cents BIGINT,
  warnings VARCHAR[], polled_at TIMESTAMPTZ, fetched_at TIMESTAMPTZ, raw VARCHAR)`;
const STRING_LIST = LIST(VARCHAR);

function text(a: DuckDBAppender, v: string | null): void {
  if (v === null) a.appendNull();
  else a.appendVarchar(v);
}
function int(a: DuckDBAppender, v: number | null): void {
  if (v === null) a.appendNull();
  else a.appendInteger(v);
}
function list(a: DuckDBAppender, v: string[] | null): void {
  if (v === null) a.appendNull();
  else a.appendList(listValue(v), STRING_LIST);
}
const micros = (d: Date) => BigInt(d.getTime()) * 1000n;

/** DuckDB's own writer for the same rows: appender into a table, then COPY TO Snappy Parquet. */
async function duckdb(file: string): Promise<void> {
  if (!con) throw new Error('no DuckDB connection');
  await con.run(CREATE); // a fresh table each time: rows deleted from an in-memory table keep their memory
  const a = await con.createAppender('movies');
  for (const m of rows) {
    a.appendVarchar(RUN);
    a.appendVarchar(m.film_key);
    a.appendVarchar(m.provider_movie_id);
    a.appendVarchar(m.title);
    int(a, m.year);
    text(a, m.rated);
    if (m.released === null) a.appendNull();
    else a.appendDate(dateValue(Math.floor(m.released.getTime() / 86_400_000)));
    int(a, m.runtime_minutes);
    list(a, m.genres);
    text(a, m.director);
    list(a, m.writers);
    list(a, m.actors);
    text(a, m.plot);
    text(a, m.language);
    text(a, m.country);
    text(a, m.awards);
    text(a, m.poster);
    int(a, m.metascore);
    if (m.rating === null) a.appendNull();
    else a.appendDouble(m.rating);
    if (m.votes === null) a.appendNull();
    else a.appendBigInt(m.votes);
    text(a, m.type);
    a.appendBigInt(m.price_cents);
    list(a, m.warnings);
    a.appendTimestampTZ(timestampTZValue(micros(m.polled_at)));
    a.appendTimestampTZ(timestampTZValue(micros(m.fetched_at)));
    a.appendVarchar(m.raw);
    a.endRow();
  }
  a.closeSync();
  await con.run(`COPY movies TO '${file}' (FORMAT parquet, COMPRESSION snappy)`);
}

const writers = { ours, appendRow, duckdb } as const;
const write = writers[values.writer as keyof typeof writers];
if (!write) throw new Error(`--writer must be one of ${Object.keys(writers).join(', ')}`);
const cpuMs: number[] = [];
let bytes = 0;
try {
  for (let run = 0; run < block; run++) {
    const file = path.join(work, `${run}.parquet`);
    const before = process.cpuUsage();
    await write(file);
    const used = process.cpuUsage(before);
    cpuMs.push((used.user + used.system) / 1000);
    bytes = statSync(file).size;
    rmSync(file);
  }
} finally {
  con?.closeSync();
  instance?.closeSync();
  rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify({ cpuMs, bytes }));

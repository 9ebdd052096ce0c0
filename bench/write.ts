// Benchmark of the Parquet writer (figures, not a test): CPU to write the same movie rows with our
// writer (rows straight into parquetjs's row buffer), with parquetjs's own appendRow (the writer
// before), and with DuckDB (appender into a table, then COPY TO Snappy Parquet), in this process,
// in alternating blocks of repetitions; prints medians, minima and the ratios to DuckDB (target ≤ 1.2).
// Usage: npm run bench:write [-- --rows 10000 --repeat 5]
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
import { writeParquetFile, ROW_GROUP_SIZE } from '../src/store/parquet/file.js';
import { writeLogicalTypes } from '../src/store/parquet/footer.js';
import { MOVIES_SCHEMA, movieRow } from '../src/store/schema.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000' }, repeat: { type: 'string', default: '5' } } });
const rowCount = Number(values.rows);
const repeat = Number(values.repeat);

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

async function ours(file: string): Promise<void> {
  await writeParquetFile(file, MOVIES_SCHEMA, lazyMap(rows, movieRow));
}

const libraryList = (items: string[] | null) => (items === null ? null : { list: items.map((element) => ({ element })) });
/** A row in parquetjs's own shape, as the writer before built it. */
const libraryRow = (m: MovieRecord) => ({
  ...m, genres: libraryList(m.genres), writers: libraryList(m.writers), actors: libraryList(m.actors), warnings: libraryList(m.warnings),
});

/** The writer before: every row through parquetjs's appendRow (its generic shredRecord). */
async function appendRow(file: string): Promise<void> {
  const writer = await parquet.ParquetWriter.openFile(MOVIES_SCHEMA, file, { rowGroupSize: ROW_GROUP_SIZE });
  writeLogicalTypes(writer);
  for (const row of lazyMap(rows, libraryRow)) await writer.appendRow(row);
  await writer.close();
}

const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await instance.connect();
const CREATE = `CREATE OR REPLACE TABLE movies (
  film_key VARCHAR, provider_movie_id VARCHAR, title VARCHAR, year INTEGER, rated VARCHAR, released DATE, runtime_minutes INTEGER,
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
  await con.run(CREATE); // a fresh table each time: rows deleted from an in-memory table keep their memory
  const a = await con.createAppender('movies');
  for (const m of rows) {
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

const BLOCK = 3;
const writers = { ours, appendRow, duckdb } as const;
type Name = keyof typeof writers;
const cpuMs: Record<Name, number[]> = { ours: [], appendRow: [], duckdb: [] };
const sizes: Partial<Record<Name, number>> = {};

try {
  // Rounds of blocks: each writer runs BLOCK times in a row and its first run is not counted (it pays
  // for the garbage and heap shape the writer before left, and for DuckDB's threads finishing up);
  // round 0 is a warm-up (JIT, DuckDB's first COPY).
  for (let round = 0; round <= repeat; round++) {
    for (const name of Object.keys(writers) as Name[]) {
      for (let run = 0; run < BLOCK; run++) {
        const file = path.join(work, `${name}-${round}-${run}.parquet`);
        const before = process.cpuUsage();
        await writers[name](file);
        const used = process.cpuUsage(before);
        if (round > 0 && run > 0) cpuMs[name].push((used.user + used.system) / 1000);
        sizes[name] = statSync(file).size;
        rmSync(file);
      }
    }
  }
} finally {
  con.closeSync();
  instance.closeSync();
  rmSync(work, { recursive: true, force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const duck = median(cpuMs.duckdb);
const duckMin = Math.min(...cpuMs.duckdb);
console.log(`Parquet write of ${rows.length} movie rows, CPU (user+system) of ${repeat} alternating rounds × ${BLOCK - 1} counted runs, node ${process.version}, ${os.cpus().length} CPUs, DuckDB threads=1`);
const label: Record<Name, string> = {
  ours: 'collector (row buffer filled directly)',
  appendRow: 'parquetjs appendRow (the writer before)',
  duckdb: 'DuckDB appender + COPY TO Snappy Parquet',
};
console.log(`  ${''.padEnd(42)} ${'median'.padStart(7)} ${'ratio'.padStart(6)} ${'min'.padStart(7)} ${'ratio'.padStart(6)}`);
for (const name of Object.keys(writers) as Name[]) {
  const m = median(cpuMs[name]);
  const lo = Math.min(...cpuMs[name]);
  console.log(
    `  ${label[name].padEnd(42)} ${m.toFixed(0).padStart(4)} ms ${(m / duck).toFixed(2).padStart(6)} ${lo.toFixed(0).padStart(4)} ms ${(lo / duckMin).toFixed(2).padStart(6)}` +
      `  (${((sizes[name] ?? 0) / 1e6).toFixed(2)} MB; runs: ${cpuMs[name].map((x) => x.toFixed(0)).join(', ')})`,
  );
}
// DuckDB's COPY sometimes costs 10× its usual CPU on a loaded machine; the ratio of minima is the steadier figure.
console.log(`collector / DuckDB CPU: ${(median(cpuMs.ours) / duck).toFixed(2)} (medians), ${(Math.min(...cpuMs.ours) / duckMin).toFixed(2)} (minima); target ≤ 1.2`);

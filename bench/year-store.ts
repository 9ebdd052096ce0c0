// bench:year's stores: `days` days of polls every `intervalMinutes` of the 13-film catalogue,
// written as version 0.2.0 wrote them (<table>/dt=D/run=<id>/[provider=P/]part-0.parquet, no run
// column), by this collector's Parquet writer, straight to their final paths (no HTTP, no
// staging: a year is 175,200 files). Prices move once a day; every 97th poll a provider answers
// one film badly (a reject, status partial).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Catalogue, MOCK_PROVIDERS } from '../src/mock/catalogue.js';
import { normalizeDetail } from '../src/records/normalize.js';
import type { RejectRecord, RunRecord } from '../src/records/types.js';
import { dtOf, newRunId } from '../src/store/layout.js';
import { ParquetSchema, writeParquetFile } from '../src/store/parquet/index.js';
import { MOVIES_SCHEMA, REJECTS_SCHEMA, RUNS_SCHEMA, movieRow, rejectRow, runRow } from '../src/store/schema.js';

/** A table's schema as 0.2.0 wrote it: the same columns without `run` (it lived in the path). */
function legacySchema(schema: ParquetSchema): ParquetSchema {
  const { run: _run, ...fields } = schema.schema;
  return new ParquetSchema(fields);
}

const LEGACY = { movies: legacySchema(MOVIES_SCHEMA), rejects: legacySchema(REJECTS_SCHEMA), runs: legacySchema(RUNS_SCHEMA) };

export interface BuiltStore {
  polls: number;
  files: number;
  movieRows: number;
  seconds: number;
}

/** Writes the store; the last poll is `end` (e.g. now), the first `days` days before it. */
export async function buildLegacyStore(root: string, days: number, intervalMinutes: number, end: Date, progress = false): Promise<BuiltStore> {
  const started = performance.now();
  const catalogue = new Catalogue(1, undefined, 0.05);
  const step = intervalMinutes * 60_000;
  const polls = Math.round((days * 86_400_000) / step);
  let files = 0;
  let movieRows = 0;
  // Polls are written 16 at a time: each file's fsync waits on the disk, not the CPU.
  const writePoll = async (i: number) => {
    const polledAt = new Date(end.getTime() - (polls - 1 - i) * step);
    const runId = newRunId(polledAt);
    const dt = dtOf(polledAt);
    const generation = Math.floor(i / Math.round(86_400_000 / step)); // prices move once a day
    const writes: Array<Promise<number>> = [];
    const runs: RunRecord[] = [];
    for (const [p, provider] of MOCK_PROVIDERS.entries()) {
      const movies: Array<Record<string, unknown>> = [];
      const rejects: RejectRecord[] = [];
      const bad = i % 97 === p;
      for (const [f, film] of catalogue.filmsOf(provider).entries()) {
        const body = bad && f === 0 ? '{"Title": "cut off' : JSON.stringify(catalogue.detailBody(provider, film, generation));
        const n = normalizeDetail({ provider, requestedId: Catalogue.id(provider, film), body, httpStatus: 200, polledAt, fetchedAt: polledAt });
        if (n.ok) movies.push(movieRow(n.movie));
        else rejects.push(n.reject);
      }
      movieRows += movies.length;
      const listed = catalogue.filmsOf(provider).length;
      runs.push({
        provider, status: rejects.length > 0 ? 'partial' : 'complete', started_at: polledAt, finished_at: new Date(polledAt.getTime() + 800), duration_ms: 800n,
        listed, fetched: listed, failed: 0, rejected: rejects.length, retries: 0, responses: JSON.stringify({ 200: listed + 1 }), error: null, collector_version: '0.2.0',
      });
      const dir = (table: string) => path.join(root, table, `dt=${dt}`, `run=${runId}`, `provider=${provider}`);
      mkdirSync(dir('movies'), { recursive: true });
      mkdirSync(dir('rejects'), { recursive: true });
      writes.push(writeParquetFile(path.join(dir('movies'), 'part-0.parquet'), LEGACY.movies, movies));
      writes.push(writeParquetFile(path.join(dir('rejects'), 'part-0.parquet'), LEGACY.rejects, rejects.map(rejectRow)));
    }
    const runsDir = path.join(root, 'runs', `dt=${dt}`, `run=${runId}`);
    mkdirSync(runsDir, { recursive: true });
    writes.push(writeParquetFile(path.join(runsDir, 'part-0.parquet'), LEGACY.runs, runs.map(runRow)));
    await Promise.all(writes);
    files += writes.length;
  };
  for (let i = 0; i < polls; i += 16) {
    await Promise.all(Array.from({ length: Math.min(16, polls - i) }, (_, k) => writePoll(i + k)));
    if (progress && Math.floor((i + 16) / 2000) > Math.floor(i / 2000)) process.stderr.write(`  wrote ${Math.min(i + 16, polls)}/${polls} polls\n`);
  }
  return { polls, files, movieRows, seconds: (performance.now() - started) / 1000 };
}

// The report benchmarks' synthetic store: `polls` hourly polls of `films` films per provider
// (100 x 2 x 5,000 = 1,000,000 movie rows by default), written with the collector's own store
// code. Shared by bench/report.ts and bench/live.ts.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Catalogue, MOCK_PROVIDERS } from '../src/mock/catalogue.js';
import { lazyMap } from '../src/poll/poll.js';
import { normalizeDetail } from '../src/records/normalize.js';
import type { MovieRecord, RunRecord } from '../src/records/types.js';
import { commitRun } from '../src/store/committer.js';
import { dtOf, newRunId } from '../src/store/layout.js';
import { MOVIES_SCHEMA, RUNS_SCHEMA, movieRow, runRow } from '../src/store/schema.js';

const hours = 3_600_000;

/** Writes the store under root unless it holds one already; returns the rows written (0 if kept) and the seconds it took. */
export async function buildReportStore(root: string, pollCount: number, films: number): Promise<{ rows: number; seconds: number }> {
  const catalogue = new Catalogue(3, films, 0.05);
  let rows = 0;
  const writeStarted = performance.now();
  if (!existsSync(path.join(root, 'runs'))) {
    for (let i = 0; i < pollCount; i++) {
      const polledAt = new Date(Date.now() - (pollCount - i) * hours);
      const runId = newRunId(polledAt);
      const files = [];
      const runs: RunRecord[] = [];
      for (const provider of MOCK_PROVIDERS) {
        const movies: MovieRecord[] = [];
        for (const film of catalogue.filmsOf(provider)) {
          const body = JSON.stringify(catalogue.detailBody(provider, film, i));
          const n = normalizeDetail({ provider, requestedId: Catalogue.id(provider, film), body, httpStatus: 200, polledAt, fetchedAt: polledAt });
          if (n.ok) movies.push(n.movie);
        }
        rows += movies.length;
        files.push({ table: 'movies' as const, provider, schema: MOVIES_SCHEMA, rows: lazyMap(movies, movieRow) });
        runs.push({
          provider, status: 'complete', started_at: polledAt, finished_at: polledAt, duration_ms: 1000n, listed: movies.length, fetched: movies.length,
          failed: 0, rejected: 0, retries: 0, responses: '{}', error: null, collector_version: 'bench',
        });
      }
      files.push({ table: 'runs' as const, schema: RUNS_SCHEMA, rows: lazyMap(runs, runRow) });
      await commitRun(root, runId, dtOf(polledAt), files);
      if ((i + 1) % 10 === 0) process.stderr.write(`  wrote ${i + 1}/${pollCount} polls (${rows} rows)\n`);
    }
  }
  return { rows, seconds: (performance.now() - writeStarted) / 1000 };
}

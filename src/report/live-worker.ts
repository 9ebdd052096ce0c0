// One live report computation, in a child process the daemon starts at low CPU priority: DuckDB's
// reads, the conversion of its rows and the JSON of a 1,000,000-row report take seconds of CPU
// and hundreds of MB, which in the daemon would stall its polls' requests and timers (measured:
// ticks seconds late) and stay in its RSS (a worker thread's native memory is not given back).
// The daemon sends the query, receives the finished JSON texts, one per variant it serves, and
// the process exits, taking DuckDB and its memory with it.
import { errorMessage } from '../runtime/errors.js';
import { chartData } from './charts.js';
import { parseSince, type ReportQuery } from './params.js';
import { StoreReader, retryingVanishedFiles } from './queries.js';
import { loadReportData, type ReportData } from './report.js';

export interface WorkerInput {
  root: string;
  query: ReportQuery;
}

/**
 * What the worker posts back: the window's data (every film; the daemon cuts each request's search,
 * sort and page from it) and each film's chart as its JSON text, by film_key.
 */
export type WorkerOutput = { kind: 'ok'; data: ReportData; charts: Record<string, string>; ms: number } | { kind: 'empty' } | { kind: 'failed'; message: string };

async function compute({ root, query }: WorkerInput): Promise<WorkerOutput> {
  const started = performance.now();
  const since = parseSince(query.since);
  return retryingVanishedFiles(async (): Promise<WorkerOutput> => {
    const reader = await StoreReader.open(root, since);
    if (!reader) return { kind: 'empty' };
    try {
      const filters = { since, provider: query.provider };
      const data = await loadReportData(reader, root, filters);
      const titles = new Map(data.history.map((h) => [h.film_key, h.title]));
      const charts: Record<string, string> = {};
      for await (const points of reader.seriesByFilm(filters)) {
        for (const chart of chartData(titles, points)) charts[chart.film_key] = JSON.stringify(chart);
      }
      return { kind: 'ok', data, charts, ms: Math.round(performance.now() - started) };
    } finally {
      reader.close();
    }
  });
}

const post = (output: WorkerOutput) => process.send?.(output, () => process.exit(0));
process.once('disconnect', () => process.exit(0)); // the daemon is gone: nobody to answer
process.once('message', (input: WorkerInput) => {
  compute(input).then(post, (err: unknown) => post({ kind: 'failed', message: errorMessage(err).split('\n')[0] ?? 'unknown error' }));
});

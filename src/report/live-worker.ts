// One live report computation, in a child process the daemon starts at low CPU priority: DuckDB's
// reads, the conversion of its rows and the JSON of a 1,000,000-row report take seconds of CPU
// and hundreds of MB, which in the daemon would stall its polls' requests and timers (measured:
// ticks seconds late) and stay in its RSS (a worker thread's native memory is not given back).
// The daemon sends the query, receives the finished JSON texts, one per variant it serves, and
// the process exits, taking DuckDB and its memory with it.
import { errorMessage } from '../runtime/errors.js';
import { explainDuckdbError, setDuckdbMemoryMB } from '../runtime/duckdb-memory.js';
import { chartData } from './charts.js';
import { parseSince, type ReportQuery } from './params.js';
import { StoreReader, retryingVanishedFiles } from './queries.js';
import { loadReportData, type ReportData } from './report.js';

export interface WorkerInput {
  root: string;
  query: ReportQuery;
  /** store.duckdbMemoryMB (0: derived from the container's limit). */
  duckdbMemoryMB?: number;
}

/**
 * What the worker posts back, in two messages: first the window's data (every film; the daemon
 * cuts each request's search, sort and page from it), then each film's chart as its JSON text by
 * film_key (the charts take longer than the data, and the page needs the data first).
 */
export type WorkerMessage =
  | { kind: 'ok'; data: ReportData; ms: number }
  | { kind: 'charts'; charts: Record<string, string>; ms: number }
  | { kind: 'empty' }
  | { kind: 'failed'; message: string };

/** One computation as the daemon sees it: the data, and the charts to come. */
export type WorkerOutput = { kind: 'ok'; data: ReportData; charts: Promise<Record<string, string>>; ms: number } | { kind: 'empty' } | { kind: 'failed'; message: string };

async function compute({ root, query, duckdbMemoryMB }: WorkerInput, send: (message: WorkerMessage) => Promise<void>): Promise<WorkerMessage> {
  const started = performance.now();
  setDuckdbMemoryMB(duckdbMemoryMB ?? 0);
  const since = parseSince(query.since);
  return retryingVanishedFiles(async (): Promise<WorkerMessage> => {
    const reader = await StoreReader.open(root, since);
    if (!reader) return { kind: 'empty' };
    try {
      const filters = { since, provider: query.provider };
      const data = await loadReportData(reader, root, filters);
      await send({ kind: 'ok', data, ms: Math.round(performance.now() - started) });
      const titles = new Map(data.history.map((h) => [h.film_key, h.title]));
      const charts: Record<string, string> = {};
      for await (const points of reader.seriesByFilm(filters)) {
        for (const chart of chartData(titles, points)) charts[chart.film_key] = JSON.stringify(chart);
      }
      return { kind: 'charts', charts, ms: Math.round(performance.now() - started) };
    } finally {
      reader.close();
    }
  });
}

const send = (message: WorkerMessage) => new Promise<void>((resolve) => process.send?.(message, () => resolve()));
const failed = (err: unknown): WorkerMessage => ({ kind: 'failed', message: errorMessage(explainDuckdbError(err, 'the report')).split('\n')[0] ?? 'unknown error' });
process.once('disconnect', () => process.exit(0)); // the daemon is gone: nobody to answer
process.once('message', (input: WorkerInput) => {
  compute(input, send).then(send, (err: unknown) => send(failed(err))).then(() => process.exit(0), () => process.exit(1));
});

// One live report computation, in a worker thread: DuckDB's reads, the conversion of its rows
// and the JSON of a 1,000,000-row report take seconds of CPU, which on the daemon's own thread
// would stall the poll's requests and timers. Here they never touch the daemon's event loop; the
// daemon receives the finished JSON texts, one per variant it serves, and the worker exits
// (with it DuckDB and its memory).
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { chartData } from './html.js';
import { parseSince, type ReportQuery } from './params.js';
import { StoreReader } from './queries.js';
import { SECTIONS, buildReport, pickSection } from './report.js';

export interface WorkerInput {
  root: string;
  query: ReportQuery;
}

/** What the worker posts back: the bodies by variant ("report", "report:<section>", "charts"). */
export type WorkerOutput = { kind: 'ok'; bodies: Record<string, string>; ms: number } | { kind: 'empty' } | { kind: 'failed'; message: string };

async function compute({ root, query }: WorkerInput): Promise<WorkerOutput> {
  const started = performance.now();
  const reader = await StoreReader.open(root);
  if (!reader) return { kind: 'empty' };
  try {
    const filters = { since: parseSince(query.since), provider: query.provider, film: query.film };
    const report = await buildReport(reader, root, filters);
    const charts = chartData(report, await reader.series(filters));
    const bodies: Record<string, string> = { report: JSON.stringify(report), charts: JSON.stringify({ charts }) };
    for (const section of SECTIONS) bodies[`report:${section}`] = JSON.stringify(pickSection(report, section));
    return { kind: 'ok', bodies, ms: Math.round(performance.now() - started) };
  } finally {
    reader.close();
  }
}

const post = (output: WorkerOutput) => parentPort?.postMessage(output);
compute(workerData as WorkerInput).then(post, (err: unknown) => post({ kind: 'failed', message: errorMessage(err).split('\n')[0] ?? 'unknown error' }));

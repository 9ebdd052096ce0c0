// The daemon's report, computed once per commit: the latest committed run id (read from folder
// names at start-up and after each of the daemon's polls, never per request) keys a small cache
// of reports by filters. Concurrent requests share one computation, computations run one at a
// time, and DuckDB is loaded on the first request only, so a poll never waits for a report.
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { Logger } from 'winston';
import { errorMessage } from '../errors.js';
import { committedAt, latestCommittedRun } from '../store/history.js';
import type { ChartData } from './html.js';
import { parseSince, type ReportQuery } from './params.js';
import type { Report } from './report.js';

/** One computed report and the page's chart data, for one commit and one set of filters. */
export interface LiveAnswer {
  run: string;
  committedAt: Date;
  report: Report;
  charts: ChartData[];
}

export type LiveResult =
  | { kind: 'ok'; answer: LiveAnswer }
  | { kind: 'empty' } // no committed poll yet
  | { kind: 'failed'; run: string; message: string };

/** Filter sets kept per commit (the page's own, plus a few a user asked for). */
const MAX_ENTRIES = 16;

export class LiveReport {
  private latest: { run: string; committedAt: Date } | null = null;
  private readonly cache = new Map<string, Promise<LiveResult>>();
  /** One DuckDB computation at a time: a burst of different filters queues instead of piling up memory. */
  private readonly queue = pLimit(1);
  /** Report errors already logged, per commit (each is logged once). */
  private readonly logged = new Set<string>();
  private lastError: string | null = null;

  constructor(
    private readonly root: string,
    private readonly logger: Pick<Logger, 'error' | 'debug'>,
  ) {
    this.refresh();
  }

  /** Re-reads the latest committed run (folder names only); a new one drops every cached answer. Call after each poll. */
  refresh(): void {
    let found: ReturnType<typeof latestCommittedRun>;
    try {
      found = latestCommittedRun(this.root);
    } catch (err) {
      this.logger.error(`live report: cannot list the store's runs: ${errorMessage(err)}`);
      return;
    }
    if (found?.run === this.latest?.run) return;
    this.latest = found && { run: found.run, committedAt: committedAt(found) };
    this.cache.clear();
    this.logged.clear();
    this.lastError = null;
  }

  /** The latest committed run the answers are for, and when it was committed. */
  get version(): { run: string; committedAt: Date } | null {
    return this.latest;
  }

  /** The last report error of the current commit (shown on the page), or null. */
  get error(): string | null {
    return this.lastError;
  }

  /** The answer for these filters (a section is picked from it later): cached per commit. */
  answer(query: ReportQuery): Promise<LiveResult> {
    const latest = this.latest;
    if (latest === null) return Promise.resolve({ kind: 'empty' });
    const key = JSON.stringify([query.since, query.provider ?? null, query.film ?? null]);
    let result = this.cache.get(key);
    if (!result) {
      result = this.queue(() => this.compute(latest.run, latest.committedAt, query));
      this.cache.set(key, result);
      while (this.cache.size > MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    }
    return result;
  }

  private async compute(run: string, at: Date, query: ReportQuery): Promise<LiveResult> {
    try {
      // Loaded here, not at start: the poll path never needs DuckDB.
      const { StoreReader } = await import('./queries.js');
      const { buildReport } = await import('./report.js');
      const { chartData } = await import('./html.js');
      const started = performance.now();
      const reader = await StoreReader.open(this.root);
      if (!reader) return { kind: 'empty' };
      try {
        const filters = { since: parseSince(query.since), provider: query.provider, film: query.film };
        const report = await buildReport(reader, this.root, filters);
        const charts = chartData(report, await reader.series(filters));
        this.logger.debug('live report computed', { run, ms: Math.round(performance.now() - started) });
        return { kind: 'ok', answer: { run, committedAt: at, report, charts } };
      } finally {
        reader.close();
      }
    } catch (err) {
      const message = errorMessage(err).split('\n')[0] ?? 'unknown error';
      if (run === this.latest?.run) {
        this.lastError = message;
        if (!this.logged.has(message)) {
          this.logged.add(message);
          this.logger.error(`live report failed (run ${run}): ${message}`);
        }
      }
      return { kind: 'failed', run, message };
    }
  }
}

/** A weak validator of one commit's answer for one URL (the body is computed once per commit, but may be recomputed after eviction). */
export function etagOf(run: string, variant: string): string {
  return `W/"${run}-${createHash('sha1').update(variant).digest('base64url').slice(0, 10)}"`;
}

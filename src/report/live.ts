// The daemon's report, computed once per commit: the latest committed run id (read from folder
// names at start-up and after each of the daemon's polls, never per request) keys a small cache
// of answers by filters. Concurrent requests share one computation; computations run one at a
// time, each in a child process at low CPU priority (live-worker.ts) that loads DuckDB, so
// neither DuckDB's memory nor the report's CPU is the daemon's: its polls come first.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { fork } from 'node:child_process';
import os from 'node:os';
import pLimit from 'p-limit';
import type { Logger } from 'winston';
import { errorMessage } from '../runtime/errors.js';
import { committedAt, latestCommittedRun } from '../store/history.js';
import type { WorkerInput, WorkerMessage, WorkerOutput } from './live-worker.js';
import { DEFAULT_SINCE, type ReportQuery } from './params.js';
import type { ReportData } from './report.js';

/**
 * One computed answer for one commit and one window (since, provider): the data every search, sort
 * and page is cut from (live-routes.ts), and each film's chart as JSON text by film_key.
 */
export interface LiveAnswer {
  run: string;
  committedAt: Date;
  data: ReportData;
  /** Settles after the data: the report process makes the charts once it has sent the data. */
  charts: Promise<Record<string, string>>;
}

export type LiveResult =
  | { kind: 'ok'; answer: LiveAnswer }
  | { kind: 'empty' } // no committed poll yet
  | { kind: 'busy' } // too many other filter sets are waiting to be computed
  | { kind: 'failed'; run: string; message: string };

/** Filter sets kept per commit (the page's own, plus a few a user asked for). */
const MAX_ENTRIES = 16;
/** Computations waiting beyond the one running: a client asking for ever new filters gets 503, not an endless queue. */
const MAX_WAITING = 4;

interface Entry {
  promise: Promise<LiveResult>;
  done: LiveResult | null;
}

/** Computes one answer (the report process; tests pass a stand-in). */
export type ReportWorker = (input: WorkerInput) => Promise<WorkerOutput>;

/** The page's own window: the default since, every provider (any search, sort or page of it). Its answer is kept apart and never refused, whatever other windows queue. */
const isPageView = (q: ReportQuery) => q.since === DEFAULT_SINCE && q.provider === undefined;

export class LiveReport {
  private latest: { run: string; committedAt: Date } | null = null;
  private readonly cache = new Map<string, Entry>();
  /** The last good answer per filter set, kept across commits: served while the next one computes. */
  private readonly lastGood = new Map<string, LiveAnswer>();
  /** The page view's entry and last good answer: outside the bounded maps, so no flood of other filters evicts them. */
  private pageEntry: Entry | null = null;
  private pageLastGood: LiveAnswer | null = null;
  /** One DuckDB computation at a time: a burst of different filters queues instead of piling up memory. */
  private readonly queue = pLimit(1);
  /** Report errors already logged, per commit (each is logged once). */
  private readonly logged = new Set<string>();
  private lastError: string | null = null;

  constructor(
    private readonly root: string,
    private readonly logger: Pick<Logger, 'error' | 'debug'>,
    private readonly worker: ReportWorker = runWorker,
    /** store.duckdbMemoryMB, passed to each report process. */
    private readonly duckdbMemoryMB = 0,
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
    this.pageEntry = null;
    this.logged.clear();
  }

  /** The latest committed run the answers are for, and when it was committed. */
  get version(): { run: string; committedAt: Date } | null {
    return this.latest;
  }

  /** The last report error since the last good answer (shown on the page), or null. */
  get error(): string | null {
    return this.lastError;
  }

  /**
   * The answer for these filters: computed once per commit. While the latest commit's answer is
   * being computed, the previous one is served at once (its own run and ETag), so a slow report
   * on a frequent schedule never makes a request wait; the first answer is waited for. The page's
   * own view (no filters) is never evicted and never refused as busy: other filters cannot starve it.
   */
  answer(query: ReportQuery): Promise<LiveResult> {
    const latest = this.latest;
    if (latest === null) return Promise.resolve({ kind: 'empty' });
    const page = isPageView(query);
    // The window only: a search, sort or page is cut from the window's answer, never computed.
    const key = JSON.stringify([query.since, query.provider ?? null]);
    let entry = page ? this.pageEntry : this.cache.get(key);
    if (!entry) {
      if (!page && this.queue.pendingCount >= MAX_WAITING) return Promise.resolve({ kind: 'busy' });
      const created: Entry = { promise: Promise.resolve({ kind: 'empty' }), done: null };
      // The queue is held until the report process ends (its charts come after its data): one
      // report process at a time, and the answer is served as soon as its data has arrived.
      created.promise = new Promise<LiveResult>((settle) => {
        void this.queue(async () => {
          const result = await this.compute(latest.run, latest.committedAt, query);
          settle(result);
          if (result.kind === 'ok') await result.answer.charts.catch(() => undefined);
        });
      }).then((result) => {
        created.done = result;
        if (result.kind === 'ok' && page) this.pageLastGood = result.answer;
        else if (result.kind === 'ok') remember(this.lastGood, key, result.answer);
        return result;
      });
      entry = page ? (this.pageEntry = created) : remember(this.cache, key, created);
    }
    // While the latest commit's answer computes, and when it failed (a window too big for the
    // memory bound, a broken file), the last good answer is served: its own run and ETag say how
    // old it is, and /api/status and the page show the error.
    const previous = page ? this.pageLastGood : this.lastGood.get(key);
    if (entry.done) return Promise.resolve(entry.done.kind === 'failed' && previous ? { kind: 'ok', answer: previous } : entry.done);
    return previous ? Promise.resolve({ kind: 'ok', answer: previous }) : entry.promise;
  }

  private async compute(run: string, at: Date, query: ReportQuery): Promise<LiveResult> {
    let output: WorkerOutput;
    try {
      output = await this.worker({ root: this.root, query, duckdbMemoryMB: this.duckdbMemoryMB });
    } catch (err) {
      output = { kind: 'failed', message: errorMessage(err).split('\n')[0] ?? 'unknown error' };
    }
    if (output.kind === 'ok') {
      this.lastError = null;
      this.logger.debug('live report computed', { run, ms: output.ms });
      output.charts.catch((err: unknown) => this.failed(run, `charts: ${errorMessage(err).split('\n')[0] ?? ''}`));
      return { kind: 'ok', answer: { run, committedAt: at, data: output.data, charts: output.charts } };
    }
    if (output.kind === 'empty') return output;
    this.failed(run, output.message);
    return { kind: 'failed', run, message: output.message };
  }

  /** A report (or its charts) failed: logged once per commit and message, shown until an answer succeeds. */
  private failed(run: string, message: string): void {
    // Kept until an answer succeeds: on a schedule faster than a report, a new commit comes before
    // each failure is known, and the error must still show.
    this.lastError = message;
    if (!this.logged.has(message)) {
      this.logged.add(message);
      this.logger.error(`live report failed (run ${run}): ${message}`);
    }
  }
}

/** Sets a key in a map bounded to MAX_ENTRIES (the oldest key goes first). */
function remember<V>(map: Map<string, V>, key: string, value: V): V {
  map.delete(key);
  map.set(key, value);
  while (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as string);
  return value;
}

/** Niceness of the report process: it gets the CPU the poll leaves (2 cores are shared with it). */
const REPORT_NICENESS = 10;

/** Runs one computation in a process of its own; one that dies without answering is an error. */
async function runWorker(input: WorkerInput): Promise<WorkerOutput> {
  // Only what it needs from the environment: not the daemon's token.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() };
  const child = fork(new URL('./live-worker.js', import.meta.url), [], { env, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8'); // whole characters, even when one spans two chunks
  child.stderr?.on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  try {
    if (child.pid !== undefined) os.setPriority(child.pid, REPORT_NICENESS);
  } catch {
    // not permitted here: it runs at normal priority
  }
  const ended = once(child, 'exit').then(([code, signal]) => {
    const last = stderr.trim().split('\n').at(-1) ?? '';
    return Promise.reject(new Error(`the report process ended (${String(signal ?? code)}) without an answer${last ? `: ${last}` : ''}`));
  });
  ended.catch(() => undefined); // settled by whichever comes first
  // The first message is the data (or why there is none); the charts follow in a second one.
  let firstMessage: (m: WorkerMessage) => void = () => undefined;
  let chartsMessage: (m: WorkerMessage) => void = () => undefined;
  const first = new Promise<WorkerMessage>((resolve) => (firstMessage = resolve));
  const second = new Promise<WorkerMessage>((resolve) => (chartsMessage = resolve));
  let received = 0;
  child.on('message', (m: WorkerMessage) => (received++ === 0 ? firstMessage(m) : chartsMessage(m)));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  };
  child.send(input);
  let output: WorkerMessage;
  try {
    output = await Promise.race([first, ended]);
  } catch (err) {
    stop();
    throw err;
  }
  if (output.kind !== 'ok') {
    stop();
    return output.kind === 'charts' ? { kind: 'failed', message: 'the report process sent charts before its data' } : output;
  }
  const charts = Promise.race([second, ended]).then((m) => {
    if (m.kind === 'charts') return m.charts;
    throw new Error(m.kind === 'failed' ? m.message : `unexpected ${m.kind} message`);
  }).finally(stop);
  charts.catch(() => undefined); // awaited by whoever asks for a chart
  return { kind: 'ok', data: output.data, charts, ms: output.ms };
}

/** A weak validator of one commit's answer for one URL (the body is computed once per commit, but may be recomputed after eviction). */
export function etagOf(run: string, variant: string): string {
  return `W/"${run}-${createHash('sha1').update(variant).digest('base64url').slice(0, 10)}"`;
}

// bench:catalogue's stores: `days` days of polls every 15 minutes of a catalogue of `films` films
// per provider (the simulator's synthetic catalogue, 90% of films on both providers; null = its
// 13 Star Wars films), about 5% of each provider's prices moving at each poll (deterministic by
// seed), each movie row with the detail body the simulator would serve as `raw`. Written by the
// collector's own Parquet writer straight to their final paths (no HTTP, no staging), in one of
// two layouts:
//   legacy   as version 0.2.0 wrote it: <table>/dt=D/run=<id>/[provider=P/]part-0.parquet, no run
//            column (exactly as bench/year-store.ts writes);
//   current  this version's layout: one file per poll, <table>/dt=D/[provider=P/]<run id>.parquet
//            with `run` as the first column.
// Every 97th poll a provider answers one film with a cut-off body (a reject, status partial);
// every 211th, 1% of a provider's detail calls fail (status partial); every 331st, a provider's
// list call fails (status failed, no rows). The last poll finishes at `end` (now, by default).
//
// Stores are cached under /var/tmp/mc-catalogue/<layout>-<films>x<days>/data with a `_done.json`
// marker beside it: a store without the marker is rebuilt. Polls are written by worker threads
// (each replays the price walk up to its first poll), several at a time in each (fsync waits on
// the disk, not the CPU); a film's record is normalized once per price it takes and reused.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Catalogue, MOCK_PROVIDERS, type Film, type MockProviderName } from '../src/mock/catalogue.js';
import { keyed } from '../src/mock/random.js';
import { normalizeDetail } from '../src/records/normalize.js';
import type { MovieRecord, RejectRecord, RunRecord } from '../src/records/types.js';
import { dtOf } from '../src/store/layout.js';
import { ParquetSchema, writeParquetFile } from '../src/store/parquet/index.js';
import { MOVIES_SCHEMA, REJECTS_SCHEMA, RUNS_SCHEMA, movieRow, rejectRow, runRow } from '../src/store/schema.js';

export type Layout = 'legacy' | 'current';

export interface CatalogueSpec {
  layout: Layout;
  /** Films per provider; null = the simulator's default 13-film catalogue. */
  films: number | null;
  days: number;
  intervalMinutes?: number;
  seed?: number;
  /** Share of each provider's films whose price moves at each poll (default MOVE_SHARE; 1 = every price at every poll). */
  moveShare?: number;
}

/** What `_done.json` records about a finished store. */
export interface StoreMarker {
  layout: Layout;
  films: number | null;
  days: number;
  intervalMinutes: number;
  seed: number;
  moveShare: number;
  /** The last poll's finished_at (ISO). */
  end: string;
  polls: number;
  movieRows: number;
  rejectRows: number;
  /** Sum of price_cents over every movie row (a check for compaction and the upgrade). */
  priceSumCents: number;
  files: number;
  bytes: number;
  /** Wall time of the generation, and its CPU (the process's, workers included). */
  seconds: number;
  cpuSeconds: number;
  workers: number;
  createdAt: string;
}

export interface CachedStore {
  /** The store's root (DATA_DIR). */
  data: string;
  marker: StoreMarker;
  /** True when this call generated it (false: reused from the cache). */
  generated: boolean;
}

export const CACHE_ROOT = process.env.MC_CATALOGUE_CACHE ?? '/var/tmp/mc-catalogue';
/** Share of a provider's films whose price moves at each poll. */
export const MOVE_SHARE = 0.05;
const MIN_CENTS = 99;
const MAX_CENTS = 99_999;

/** A size's label: `1000x7`, or `13filmsx7` for the default catalogue. */
export const sizeLabel = (films: number | null, days: number): string => `${films ?? '13films'}x${days}`;

export function cacheDir(spec: CatalogueSpec): string {
  const moves = spec.moveShare === undefined || spec.moveShare === MOVE_SHARE ? '' : `-moves${spec.moveShare}`;
  return path.join(CACHE_ROOT, `${spec.layout}-${sizeLabel(spec.films, spec.days)}${moves}`);
}

/** The catalogue a store is made of (the simulator's, seed 1 unless told). */
export function catalogueOf(films: number | null, seed = 1): Catalogue {
  return new Catalogue(seed, films ?? undefined);
}

/**
 * The cached store of `spec`, generated first when it is missing, unfinished, older than
 * `maxAgeHours` (its last poll would fall out of a `--since 7d` window) or `fresh` is set.
 */
export async function catalogueStore(spec: CatalogueSpec, options: { fresh?: boolean; maxAgeHours?: number; workers?: number; progress?: boolean; end?: Date } = {}): Promise<CachedStore> {
  const dir = cacheDir(spec);
  const markerFile = path.join(dir, '_done.json');
  const data = path.join(dir, 'data');
  if (!options.fresh && existsSync(markerFile)) {
    const marker = JSON.parse(readFileSync(markerFile, 'utf8')) as StoreMarker;
    const ageHours = (Date.now() - Date.parse(marker.end)) / 3_600_000;
    if (ageHours <= (options.maxAgeHours ?? 24) && existsSync(data)) return { data, marker, generated: false };
    if (options.progress) process.stderr.write(`  ${path.basename(dir)}: the cached store ends ${ageHours.toFixed(1)} h ago: rebuilding it\n`);
  }
  rmSync(markerFile, { force: true });
  rmSync(data, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  const marker = await generate(spec, data, options.end ?? new Date(), options.workers ?? Math.max(1, Math.min(2, os.availableParallelism())), options.progress ?? false);
  const tmp = `${markerFile}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(marker, null, 2)}\n`);
  renameSync(tmp, markerFile);
  return { data, marker, generated: true };
}

/** Parquet files and their bytes under a folder. */
export function parquetSize(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  if (!existsSync(dir)) return { files, bytes };
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.parquet')) continue;
    files++;
    bytes += statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

interface Job {
  kind: 'catalogue-store';
  spec: Required<CatalogueSpec>;
  data: string;
  /** The first poll's started_at (ms) and the poll count. */
  start: number;
  polls: number;
  from: number;
  to: number;
}

type FromWorker = { kind: 'progress'; polls: number } | { kind: 'done'; movieRows: number; rejectRows: number; priceSumCents: number } | { kind: 'error'; message: string };

/** Milliseconds a poll takes (its started_at → finished_at), growing with the catalogue. */
const pollDurationMs = (perProvider: number) => Math.round(600 + perProvider * 1.5);

async function generate(given: CatalogueSpec, data: string, end: Date, workers: number, progress: boolean): Promise<StoreMarker> {
  const spec: Required<CatalogueSpec> = { intervalMinutes: 15, seed: 1, moveShare: MOVE_SHARE, ...given };
  const started = performance.now();
  const cpu = process.cpuUsage();
  const step = spec.intervalMinutes * 60_000;
  const polls = Math.round((spec.days * 86_400_000) / step);
  const perProvider = Math.max(...MOCK_PROVIDERS.map((p) => catalogueOf(spec.films, spec.seed).filmsOf(p).length));
  // The last poll finishes at `end`.
  const start = end.getTime() - pollDurationMs(perProvider) - (polls - 1) * step;
  const count = Math.max(1, Math.min(workers, polls));
  const label = path.basename(cacheDir(spec));
  if (progress) process.stderr.write(`  generating ${label}: ${polls} polls (${count} worker threads) under ${data}\n`);
  let written = 0;
  let lastShown = 0;
  const results = await Promise.all(
    Array.from({ length: count }, (_, w) => {
      const from = Math.floor((polls * w) / count);
      const to = Math.floor((polls * (w + 1)) / count);
      const job: Job = { kind: 'catalogue-store', spec, data, start, polls, from, to };
      return new Promise<{ movieRows: number; rejectRows: number; priceSumCents: number }>((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: job, execArgv: [] });
        worker.on('message', (m: FromWorker) => {
          if (m.kind === 'progress') {
            written += m.polls;
            if (progress && (written - lastShown >= Math.max(16, polls / 10) || written === polls)) {
              lastShown = written;
              process.stderr.write(`  ${label}: ${written}/${polls} polls (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
            }
          } else if (m.kind === 'done') resolve(m);
          else reject(new Error(m.message));
        });
        worker.on('error', reject);
        worker.on('exit', (code) => code !== 0 && reject(new Error(`generator worker exited ${code}`)));
      });
    }),
  );
  const size = parquetSize(data);
  const used = process.cpuUsage(cpu);
  return {
    layout: spec.layout, films: spec.films, days: spec.days, intervalMinutes: spec.intervalMinutes, seed: spec.seed, moveShare: spec.moveShare,
    end: end.toISOString(), polls,
    movieRows: results.reduce((n, r) => n + r.movieRows, 0),
    rejectRows: results.reduce((n, r) => n + r.rejectRows, 0),
    priceSumCents: results.reduce((n, r) => n + r.priceSumCents, 0),
    files: size.files, bytes: size.bytes,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    workers: count,
    createdAt: new Date().toISOString(),
  };
}

/** A table's schema as 0.2.0 wrote it: the same columns without `run` (it lived in the path). */
function legacySchema(schema: ParquetSchema): ParquetSchema {
  const { run: _run, ...fields } = schema.schema;
  return new ParquetSchema(fields);
}

/**
 * Each provider's prices (cents) along the polls: a random walk from the catalogue's base prices,
 * where at each poll after the first about `share` of the films (MOVE_SHARE) move by 0.50 to 5.00.
 * Deterministic by seed: each (provider, poll) has its own generator.
 */
class PriceWalk {
  readonly prices: Int32Array;
  private poll = 0;

  constructor(
    private readonly seed: number,
    private readonly provider: MockProviderName,
    films: Film[],
    private readonly share: number,
  ) {
    this.prices = Int32Array.from(films, (f) => f.basePriceCents[provider] ?? MIN_CENTS);
  }

  /** Moves the prices on to poll `i` (never backwards). */
  advanceTo(i: number): void {
    for (; this.poll < i; ) {
      this.poll++;
      const rand = keyed(this.seed, 'catalogue-price', this.provider, this.poll);
      for (let f = 0; f < this.prices.length; f++) {
        if (rand() >= this.share) continue;
        const delta = (50 + Math.floor(rand() * 451)) * (rand() < 0.5 ? -1 : 1);
        const now = this.prices[f] ?? MIN_CENTS;
        const next = now + delta >= MIN_CENTS && now + delta <= MAX_CENTS ? now + delta : now - delta;
        this.prices[f] = Math.min(MAX_CENTS, Math.max(MIN_CENTS, next));
      }
    }
  }
}

/** A deterministic run id in this version's form (20261124T123523.018Z-a388f01c). */
function runIdOf(seed: number, i: number, startedAt: Date): string {
  const hex = Math.floor(keyed(seed, 'catalogue-run', i)() * 2 ** 32).toString(16).padStart(8, '0');
  return `${startedAt.toISOString().replace(/[-:]/g, '')}-${hex}`;
}

/** What happens to a provider in poll `i` besides answering every film. */
function eventOf(i: number, p: number): 'reject' | 'partial' | 'failed' | null {
  if (i % 331 === 100 + 7 * p) return 'failed';
  if (i % 211 === 29 + 3 * p) return 'partial';
  if (i % 97 === 11 + p) return 'reject';
  return null;
}

/** Writes polls [from, to) of a store (in a worker thread). */
async function writePolls(job: Job, onProgress: (polls: number) => void): Promise<{ movieRows: number; rejectRows: number; priceSumCents: number }> {
  const { spec, data } = job;
  const catalogue = catalogueOf(spec.films, spec.seed);
  const step = spec.intervalMinutes * 60_000;
  const legacy = spec.layout === 'legacy';
  const schemas = legacy
    ? { movies: legacySchema(MOVIES_SCHEMA), rejects: legacySchema(REJECTS_SCHEMA), runs: legacySchema(RUNS_SCHEMA) }
    : { movies: MOVIES_SCHEMA, rejects: REJECTS_SCHEMA, runs: RUNS_SCHEMA };
  const version = legacy ? '0.2.0' : '0.3.0';
  const providers = MOCK_PROVIDERS.map((provider) => {
    const films = catalogue.filmsOf(provider);
    // The detail body without its price (Price is its last key, as the simulator sends it).
    const templates = films.map((film) => {
      const { Price: _price, ...rest } = catalogue.detailBody(provider, film, 0);
      return rest;
    });
    const ids = films.map((film) => Catalogue.id(provider, film));
    return { provider, films, templates, ids, walk: new PriceWalk(spec.seed, provider, films, spec.moveShare), records: films.map(() => [] as Array<{ cents: number; movie: MovieRecord }>) };
  });
  type P = (typeof providers)[number];
  const duration = pollDurationMs(Math.max(...providers.map((p) => p.films.length)));
  let movieRows = 0;
  let rejectRows = 0;
  let priceSumCents = 0;

  /** A film's record at a price: normalized once per price it takes (the last few kept). */
  const recordOf = (p: P, f: number, cents: number, polledAt: Date): MovieRecord => {
    const kept = p.records[f] as Array<{ cents: number; movie: MovieRecord }>;
    const hit = kept.find((r) => r.cents === cents);
    if (hit) return hit.movie;
    const body = JSON.stringify({ ...p.templates[f], Price: String(cents / 100) });
    const n = normalizeDetail({ provider: p.provider, requestedId: p.ids[f] ?? '', body, httpStatus: 200, polledAt, fetchedAt: polledAt });
    if (!n.ok) throw new Error(`the generator's body was rejected: ${n.reject.reason}`);
    kept.unshift({ cents, movie: n.movie });
    if (kept.length > 3) kept.pop();
    return n.movie;
  };

  const writePoll = async (i: number, prices: Int32Array[]) => {
    const startedAt = new Date(job.start + i * step);
    const finishedAt = new Date(startedAt.getTime() + duration);
    const runId = runIdOf(spec.seed, i, startedAt);
    const dt = dtOf(startedAt);
    const runs: RunRecord[] = [];
    const writes: Array<Promise<number>> = [];
    const dir = (table: string, provider?: string) => {
      const d = legacy
        ? path.join(data, table, `dt=${dt}`, `run=${runId}`, provider ? `provider=${provider}` : '')
        : path.join(data, table, `dt=${dt}`, provider ? `provider=${provider}` : '');
      mkdirSync(d, { recursive: true });
      return d;
    };
    const file = (table: string, provider?: string) => path.join(dir(table, provider), legacy ? 'part-0.parquet' : `${runId}.parquet`);
    const constants = legacy ? undefined : { run: runId };
    for (const [index, p] of providers.entries()) {
      const event = eventOf(i, index);
      const price = prices[index] as Int32Array;
      const n = p.films.length;
      const listed = event === 'failed' ? 0 : n;
      const failedCount = event === 'partial' ? Math.max(1, Math.floor(n / 100)) : 0;
      // The films whose detail call failed (partial) or whose body was cut off (reject).
      const failedFrom = (i * 7919) % n;
      const isFailed = (f: number) => event === 'partial' && (f - failedFrom + n) % n < failedCount;
      const rejectAt = event === 'reject' ? (i * 31) % n : -1;
      const rejects: RejectRecord[] = [];
      if (rejectAt >= 0) {
        const body = JSON.stringify({ ...p.templates[rejectAt], Price: String((price[rejectAt] ?? 0) / 100) }).slice(0, 40);
        const r = normalizeDetail({ provider: p.provider, requestedId: p.ids[rejectAt] ?? '', body, httpStatus: 200, polledAt: startedAt, fetchedAt: startedAt });
        if (r.ok) throw new Error('a cut-off body was accepted');
        rejects.push(r.reject);
      }
      let rows = 0;
      let sum = 0;
      function* movies(): Generator<Record<string, unknown>> {
        if (event === 'failed') return;
        for (let f = 0; f < n; f++) {
          if (f === rejectAt || isFailed(f)) continue;
          const cents = price[f] ?? 0;
          const fetchedAt = new Date(startedAt.getTime() + Math.floor((f * duration) / n));
          rows++;
          sum += cents;
          // One copy of the film's record per row (movieRow's), with the run (current layout) and the poll's times.
          const row = movieRow(recordOf(p, f, cents, startedAt));
          if (!legacy) row.run = runId;
          row.polled_at = startedAt;
          row.fetched_at = fetchedAt;
          yield row;
        }
      }
      writes.push(writeParquetFile(file('movies', p.provider), schemas.movies, movies()).then((written) => {
        movieRows += rows;
        priceSumCents += sum;
        return written;
      }));
      writes.push(writeParquetFile(file('rejects', p.provider), schemas.rejects, rejects.map(rejectRow), constants));
      rejectRows += rejects.length;
      const fetched = listed - failedCount;
      runs.push({
        provider: p.provider,
        status: event === 'failed' ? 'failed' : event === null ? 'complete' : 'partial',
        started_at: startedAt, finished_at: finishedAt, duration_ms: BigInt(duration),
        listed, fetched, failed: failedCount, rejected: rejects.length, retries: failedCount * 5,
        responses: JSON.stringify(event === 'failed' ? { 503: 6 } : failedCount > 0 ? { 200: fetched + 1, 503: failedCount * 6 } : { 200: listed + 1 }),
        error: event === 'failed' ? `list call failed: HTTP 503 after 6 attempts (${p.provider}/movies)` : null,
        collector_version: version,
      });
    }
    writes.push(writeParquetFile(file('runs'), schemas.runs, runs.map(runRow), constants));
    await Promise.all(writes);
  };

  // Polls are written `batch` at a time; each provider's walk is replayed from poll 0 to `from`.
  const batch = 8;
  for (let i = job.from; i < job.to; i += batch) {
    const slice: Array<Promise<void>> = [];
    for (let k = i; k < Math.min(job.to, i + batch); k++) {
      const prices = providers.map((p) => {
        p.walk.advanceTo(k);
        return p.walk.prices.slice();
      });
      slice.push(writePoll(k, prices));
    }
    await Promise.all(slice);
    onProgress(slice.length);
  }
  return { movieRows, rejectRows, priceSumCents };
}

if (!isMainThread && (workerData as Job | undefined)?.kind === 'catalogue-store') {
  const port = parentPort;
  writePolls(workerData as Job, (polls) => port?.postMessage({ kind: 'progress', polls } satisfies FromWorker)).then(
    (done) => port?.postMessage({ kind: 'done', ...done } satisfies FromWorker),
    (err: unknown) => port?.postMessage({ kind: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FromWorker),
  );
}

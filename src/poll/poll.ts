// One poll: every provider in parallel (source) → typed records or rejects (transform) →
// staged Parquet, appended to as answers arrive, then committed (sink). Returns a summary;
// the caller decides the exit code.
import { setMaxListeners } from 'node:events';
import type { Settings } from '../config/settings.js';
import { EXIT, UserError, errorMessage } from '../runtime/errors.js';
import { knownSecrets, replaceSecrets, secretForms } from '../runtime/redact.js';
import type { Logger } from '../log/log.js';
import { createProviderClient } from '../providers/client.js';
import { harvestProvider, type Harvest, type HarvestCause } from '../providers/source.js';
import { normalizeDetail, type DetailInput } from '../records/normalize.js';
import type { RejectRecord, RunRecord, RunStatus, SchemaChangeRecord } from '../records/types.js';
import { StagedRun, runIdTaken, type CommitHooks } from '../store/committer.js';
import { dtOf, newRunId } from '../store/layout.js';
import { LockLostError } from '../store/lock.js';
import type { ParquetFileWriter } from '../store/parquet/index.js';
import { PRICE_CHANGES_SCHEMA, MOVIES_SCHEMA, REJECTS_SCHEMA, RUNS_SCHEMA, movieRow, rejectRow, runRow } from '../store/schema.js';
import { LatestPolls, changeRows, observe, type PollPrices } from '../store/price-changes.js';
import type { TableFile } from '../store/committer.js';
import { VERSION } from '../runtime/version.js';
import { writeProbe } from '../runtime/writable-dir.js';

export interface PollOptions {
  settings: Settings;
  logger: Logger;
  /** Aborts the poll without committing anything (shutdown). The deadline is separate: it commits what was got. */
  signal?: AbortSignal;
  hooks?: CommitHooks;
  onProgress?: (provider: string, done: number, total: number) => void;
  /** Each provider's latest poll, kept by the daemon between polls (the price_changes rows compare with it). */
  latestPolls?: LatestPolls;
}

export interface PollSummary {
  runId: string;
  dt: string;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date;
  runs: RunRecord[];
  /** Movie rows committed, in all and per provider. */
  movies: number;
  moviesByProvider: Record<string, number>;
  rejects: number;
  writeMs: number;
  /** Every failed provider failed because its token was rejected. */
  authRejected: boolean;
  /** Why each failed provider failed, by provider. */
  causes: Record<string, HarvestCause>;
  /** Shape changes this poll committed to schema_changes (baseline rows not included). */
  schemaChanges: SchemaChangeRecord[];
}

export class PollAbortedError extends UserError {
  constructor() {
    super('poll aborted before commit: nothing of it was written', EXIT.failed);
    this.name = 'PollAbortedError';
  }
}

export async function runPoll(options: PollOptions): Promise<PollSummary> {
  const { settings, logger } = options;
  const startedAt = new Date();
  const dt = dtOf(startedAt);
  let runId = newRunId(startedAt);
  while (runIdTaken(settings.store.dir, dt, runId)) runId = newRunId(startedAt);
  const deadline = AbortSignal.timeout(settings.poll.deadlineMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  setMaxListeners(0, signal); // every request in flight listens to it
  logger.debug('poll started', { run: runId, providers: settings.providers });

  // The staging folder and the movies/rejects files exist from the start: each answer is
  // normalized and appended as it arrives, so a large poll never holds all its records at once.
  let staged: StagedRun;
  const sinks = new Map<string, ProviderSink>();
  // Every registered secret (the token, alert destinations' URL parts and signing secrets, S3 keys):
  // provider text that holds one is stored redacted, as every output is.
  const secrets = secretForms([settings.api.token, ...knownSecrets()]);
  try {
    staged = await StagedRun.create(settings.store.dir, runId, dt, options.hooks);
  } catch (err) {
    throw storeError(settings.store.dir, err);
  }
  let harvests: Harvest[];
  try {
    // Every provider's files, even one that gets no rows: a reader's glob over any table then answers (0 rows) on any store with a poll.
    for (const provider of settings.providers) {
      sinks.set(provider, new ProviderSink(await staged.openFile('movies', provider, MOVIES_SCHEMA), await staged.openFile('rejects', provider, REJECTS_SCHEMA), secrets));
    }
  } catch (err) {
    await staged.discard();
    throw storeError(settings.store.dir, err);
  }
  try {
    harvests = await Promise.all(
      settings.providers.map(async (provider) => {
        const client = createProviderClient({ ...settings.http, baseUrl: settings.api.baseUrl, token: settings.api.token ?? '', tokenHeader: settings.api.tokenHeader });
        const sink = sinks.get(provider);
        try {
          return await harvestProvider({
            provider, client, polledAt: startedAt, signal, logger, onProgress: (done, total) => options.onProgress?.(provider, done, total), onDetail: (detail) => sink?.add(detail),
          });
        } finally {
          client.close();
        }
      }),
    );
  } catch (err) {
    await staged.discard();
    throw err;
  }
  if (options.signal?.aborted) {
    await staged.discard();
    throw new PollAbortedError();
  }
  if (deadline.aborted) logger.warn('poll deadline reached: committing what was collected', { run: runId, deadlineMs: settings.poll.deadlineMs });

  const runs: RunRecord[] = [];
  let movieCount = 0;
  let rejectCount = 0;
  const moviesByProvider: Record<string, number> = {};
  for (const harvest of harvests) {
    const sink = sinks.get(harvest.provider);
    if (!sink) throw new Error(`no staged files for provider ${harvest.provider}`);
    for (const reject of harvest.listRejects) sink.addReject(reject);
    moviesByProvider[harvest.provider] = sink.movieCount;
    movieCount += sink.movieCount;
    rejectCount += sink.rejectCount;
    runs.push({ ...runRecord(harvest, sink.rejectCount), error: harvest.error === null ? null : replaceSecrets(harvest.error, secrets) });
  }

  // Each provider's change points against its previous poll of the day, committed with the poll.
  const latestPolls = options.latestPolls ?? new LatestPolls();
  const changes: TableFile[] = [];
  try {
    for (const run of runs) {
      const previous = await latestPolls.get(settings.store.dir, dt, run.provider).catch((err: unknown) => {
        // A previous poll's file that cannot be read (a disk fault) must not cost this poll: its
        // rows are then those of the day's first poll (every film), which the report reads alike.
        logger.warn(`price_changes: cannot read ${run.provider}'s previous poll of the day (${errorMessage(err)}); this poll's change points list every film`, { run: runId });
        return null;
      });
      const rows = changeRows(runId, startedAt, run.started_at, sinks.get(run.provider)?.prices ?? new Map(), previous?.prices ?? null);
      changes.push({ table: 'price_changes', provider: run.provider, schema: PRICE_CHANGES_SCHEMA, rows });
    }
  } catch (err) {
    await staged.discard();
    throw storeError(settings.store.dir, err);
  }
  let writeMs: number;
  try {
    ({ writeMs } = await staged.commit([...changes, { table: 'runs', schema: RUNS_SCHEMA, rows: runs.map(runRow) }]));
  } catch (err) {
    throw storeError(settings.store.dir, err);
  }
  for (const run of runs) latestPolls.set(run.provider, { dt, run: runId, prices: sinks.get(run.provider)?.prices ?? new Map() });

  const status = overallStatus(runs.map((r) => r.status));
  const summary: PollSummary = {
    runId, dt, status, startedAt, finishedAt: new Date(), runs, movies: movieCount, moviesByProvider, rejects: rejectCount, writeMs,
    authRejected: harvests.every((h) => h.error === null || h.cause === 'auth') && harvests.some((h) => h.cause === 'auth'),
    causes: Object.fromEntries(harvests.flatMap((h) => (h.cause === null ? [] : [[h.provider, h.cause]]))),
    schemaChanges: [],
  };
  for (const run of runs) {
    const fields = { run: runId, provider: run.provider, status: run.status, listed: run.listed, fetched: run.fetched, failed: run.failed, rejected: run.rejected, retries: run.retries, error: run.error };
    if (run.status === 'complete') logger.debug('provider polled', fields);
    else logger.warn('provider poll incomplete', fields);
  }
  return summary;
}

/** The one info line a poll leaves in the log; `extra` adds e.g. the daemon's next run. */
export function logPollSummary(logger: Logger, summary: PollSummary, extra: Record<string, unknown> = {}): void {
  const providers = summary.runs.map((r) => `${r.provider} ${r.status} ${summary.moviesByProvider[r.provider] ?? 0}/${r.listed}`).join(', ');
  logger.info(`poll ${summary.status}: ${providers}`, {
    run: summary.runId, status: summary.status, movies: summary.movies, rejects: summary.rejects,
    durationMs: summary.finishedAt.getTime() - summary.startedAt.getTime(), ...extra,
  });
}

export function* lazyMap<T, U>(items: readonly T[], fn: (item: T) => U): Generator<U> {
  for (const item of items) yield fn(item);
}

/**
 * One provider's staged movies and rejects files: each detail is normalized and appended as it
 * arrives. The client redacted the body already; what normalization derives from it (film_key,
 * trimmed or folded text, warnings and reasons quoting values) is redacted again here, after the
 * derivation: folding or collapsing text can rebuild a token the body held only in pieces or forms.
 */
class ProviderSink {
  movieCount = 0;
  rejectCount = 0;
  /** The poll's price per film (its lowest), for the price_changes rows. */
  readonly prices: PollPrices = new Map();

  constructor(
    private readonly movies: ParquetFileWriter,
    private readonly rejects: ParquetFileWriter,
    private readonly secrets: readonly string[],
  ) {}

  add(detail: DetailInput): void {
    const result = normalizeDetail(detail);
    if (result.ok) {
      // raw is the client's redacted body, byte for byte: not scanned twice.
      const movie = { ...replaceSecrets({ ...result.movie, raw: '' }, this.secrets), raw: result.movie.raw };
      this.movies.append(movieRow(movie));
      observe(this.prices, movie.film_key, movie.price_cents, movie.title, movie.year);
      this.movieCount++;
    } else {
      this.addReject(result.reject);
    }
  }

  addReject(reject: RejectRecord): void {
    this.rejects.append(rejectRow(replaceSecrets(reject, this.secrets)));
    this.rejectCount++;
  }
}

/** `complete` means every listed film is in `movies`: a film that failed or was rejected makes the provider's poll `partial`. */
function runRecord(h: Harvest, rejected: number): RunRecord {
  const status: RunStatus = h.error !== null ? 'failed' : h.failed > 0 || rejected > 0 ? 'partial' : 'complete';
  return {
    provider: h.provider,
    status,
    started_at: h.startedAt,
    finished_at: h.finishedAt,
    duration_ms: BigInt(h.finishedAt.getTime() - h.startedAt.getTime()),
    listed: h.listed,
    fetched: h.fetched,
    failed: h.failed,
    rejected,
    retries: h.stats.retries,
    responses: JSON.stringify(h.stats.responses),
    error: h.error,
    collector_version: VERSION,
  };
}

export function overallStatus(statuses: RunStatus[]): RunStatus {
  if (statuses.every((s) => s === 'complete')) return 'complete';
  if (statuses.every((s) => s === 'failed')) return 'failed';
  return 'partial';
}

const STORE_HINTS: Record<string, string> = {
  ENOSPC: 'the disk is full: free space under DATA_DIR',
  EDQUOT: 'the disk quota is used up: free space under DATA_DIR',
  EACCES: 'permission denied: make DATA_DIR writable by this user',
  EPERM: 'permission denied: make DATA_DIR writable by this user',
  EROFS: 'the filesystem is read-only: mount DATA_DIR read-write',
};

function storeError(root: string, err: unknown): UserError {
  if (err instanceof LockLostError) return err; // not a write problem: the fence stopped the commit
  let code = (err as NodeJS.ErrnoException).code ?? '';
  // A recursive mkdir on a read-only or full filesystem can report ENOENT: a plain write names the real cause.
  if (!(code in STORE_HINTS)) code = writeProbe(root) ?? code;
  const hint = STORE_HINTS[code] ?? errorMessage(err);
  return new UserError(`poll failed: cannot write the store at ${root} (${code || 'error'}): ${hint}; this poll was not committed`, EXIT.failed);
}

// One poll: every provider in parallel (source) → typed records or rejects (transform) →
// staged Parquet, appended to as answers arrive, then committed (sink). Returns a summary;
// the caller decides the exit code.
import { setMaxListeners } from 'node:events';
import type { Settings } from '../config/settings.js';
import { EXIT, UserError, errorMessage } from '../runtime/errors.js';
import { knownSecrets, recordHoldsSecret, replaceSecrets, secretForms } from '../runtime/redact.js';
import type { Logger } from '../log/log.js';
import { createProviderClient } from '../providers/client.js';
import { harvestProvider, type Harvest, type HarvestCause } from '../providers/source.js';
import { jsonOrUndefined, normalizeDetail, type DetailInput } from '../records/normalize.js';
import type { RejectRecord, RunRecord, RunStatus, SchemaChangeRecord } from '../records/types.js';
import { StagedRun, runIdTaken, type CommitHooks } from '../store/committer.js';
import { dtOf, newRunId } from '../store/layout.js';
import { LockLostError } from '../store/lock.js';
import type { ParquetFileWriter } from '../store/parquet/index.js';
import { PRICE_CHANGES_SCHEMA, MOVIES_SCHEMA, REJECTS_SCHEMA, RUNS_SCHEMA, movieRow, rejectRow, runRow } from '../store/schema.js';
import { LatestPolls, changeRows, observe, type PollPrices } from '../store/price-changes.js';
import type { TableFile } from '../store/committer.js';
import { VERSION } from '../runtime/version.js';
import { SchemaCheck } from '../schema/check.js';
import { MAX_KNOWN_PATHS } from '../schema/drift.js';
import { loadShapes, type ShapeBook } from '../schema/state.js';
import { SCHEMA_CHANGES_SCHEMA, schemaChangeRow } from '../store/schema.js';
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
  /** The providers' established shapes, kept by the daemon between polls (loaded from the store when absent). */
  shapes?: { book?: ShapeBook };
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
  // The schema check: each provider's answers against the shape its committed polls established.
  const shapes = options.shapes ?? {};
  try {
    shapes.book ??= await loadShapes(settings.store.dir, settings.providers, logger);
  } catch (err) {
    logger.warn(`schema: cannot read the established shapes (${errorMessage(err)}); this poll checks no shape`, { run: runId });
  }
  const book = shapes.book;
  const checks = new Map<string, SchemaCheck>();
  const halts = new Map<string, AbortController>();
  for (const provider of settings.providers) {
    const halt = new AbortController();
    halts.set(provider, halt);
    if (book) checks.set(provider, new SchemaCheck(provider, book, settings.schema.policy, (text) => replaceSecrets(text, secrets), halt));
  }
  let harvests: Harvest[];
  try {
    // Every provider's files, even one that gets no rows: a reader's glob over any table then answers (0 rows) on any store with a poll.
    for (const provider of settings.providers) {
      sinks.set(provider, new ProviderSink(await staged.openFile('movies', provider, MOVIES_SCHEMA), await staged.openFile('rejects', provider, REJECTS_SCHEMA), secrets, checks.get(provider)));
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
        const check = checks.get(provider);
        const halt = halts.get(provider)?.signal;
        try {
          return await harvestProvider({
            provider, client, polledAt: startedAt, signal: halt ? AbortSignal.any([signal, halt]) : signal, halt, logger,
            onProgress: (done, total) => options.onProgress?.(provider, done, total), onDetail: (detail) => sink?.add(detail), inspectList: check?.inspectList,
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
    const failure = checks.get(harvest.provider)?.failure ?? null;
    if (failure !== null && harvest.error === null) {
      // fail-provider on a detail answer: what the provider's answers gave this poll is dropped.
      try {
        await sink.empty(staged);
      } catch (err) {
        await staged.discard();
        throw storeError(settings.store.dir, err);
      }
      harvest.error = failure;
      harvest.cause = 'schema';
    }
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
  const detectedAt = new Date();
  const schemaRows = book ? [...book.pending, ...[...checks.values()].flatMap((c) => c.rows(detectedAt))] : [];
  if (schemaRows.length > 0) changes.push({ table: 'schema_changes', schema: SCHEMA_CHANGES_SCHEMA, rows: schemaRows.map(schemaChangeRow) });
  let writeMs: number;
  try {
    ({ writeMs } = await staged.commit([...changes, { table: 'runs', schema: RUNS_SCHEMA, rows: runs.map(runRow) }]));
  } catch (err) {
    shapes.book = undefined; // whether the rows were committed is not known here: read the store again next time
    throw storeError(settings.store.dir, err);
  }
  if (book && schemaRows.length > 0) await recordShapes(book, schemaRows, runId, settings.store.dir, logger);
  for (const check of checks.values()) {
    if (check.untracked > 0) logger.warn(`schema: ${check.provider}'s answers hold more distinct fields than are tracked (${MAX_KNOWN_PATHS} per provider and source); the fields past that are not recorded`, { run: runId });
  }
  for (const run of runs) latestPolls.set(run.provider, { dt, run: runId, prices: sinks.get(run.provider)?.prices ?? new Map() });

  const status = overallStatus(runs.map((r) => r.status));
  const summary: PollSummary = {
    runId, dt, status, startedAt, finishedAt: new Date(), runs, movies: movieCount, moviesByProvider, rejects: rejectCount, writeMs,
    authRejected: harvests.every((h) => h.error === null || h.cause === 'auth') && harvests.some((h) => h.cause === 'auth'),
    causes: Object.fromEntries(harvests.flatMap((h) => (h.cause === null ? [] : [[h.provider, h.cause]]))),
    schemaChanges: schemaRows.filter((r) => r.kind !== 'baseline'),
  };
  for (const run of runs) {
    const fields = { run: runId, provider: run.provider, status: run.status, listed: run.listed, fetched: run.fetched, failed: run.failed, rejected: run.rejected, retries: run.retries, error: run.error };
    if (run.status === 'complete') logger.debug('provider polled', fields);
    else logger.warn('provider poll incomplete', fields);
  }
  return summary;
}

/** The committed rows join the shapes (then saved as the cache); one log line per change. */
async function recordShapes(book: ShapeBook, rows: SchemaChangeRecord[], runId: string, root: string, logger: Logger): Promise<void> {
  book.fold(rows, runId);
  book.pending = [];
  for (const r of rows) {
    if (r.kind === 'baseline') continue;
    const what = r.kind === 'new-field' ? `is new (${r.new_type})` : r.kind === 'missing-field' ? `is missing (was ${r.old_type ?? '?'})` : `changed type (${r.old_type ?? '?'} → ${r.new_type})`;
    logger.warn(`schema change: ${r.provider} ${r.source} field ${r.path} ${what} in ${Math.round(r.share * 100)}% of ${r.answers} answers${r.example === null ? '' : `, e.g. ${r.example}`}; policy ${r.action}`, {
      run: runId, provider: r.provider, source: r.source, path: r.path, kind: r.kind, old_type: r.old_type, new_type: r.new_type, share: r.share, action: r.action,
    });
  }
  const baselines = rows.filter((r) => r.kind === 'baseline');
  if (baselines.length > 0) logger.info(`schema: shape established for ${[...new Set(baselines.map((r) => `${r.provider} ${r.source}`))].join(', ')} (${baselines.length} fields)`, { run: runId });
  // The cache only saves reading the table: a failed write is made up for at the next load.
  await book.save(root).catch((err: unknown) => logger.warn(`schema: cannot save the shapes (${errorMessage(err)}); they are rebuilt from schema_changes next time`, { run: runId }));
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
    private movies: ParquetFileWriter,
    private rejects: ParquetFileWriter,
    private readonly secrets: readonly string[],
    private readonly check?: SchemaCheck,
  ) {}

  add(detail: DetailInput): void {
    if (this.check) {
      const json = detail.json ?? jsonOrUndefined(detail.body);
      const deviation = this.check.judgeDetail(json);
      if (deviation?.policy === 'fail-provider' || this.check.failure !== null) return;
      if (deviation?.policy === 'reject-record') {
        this.addReject({ provider_movie_id: detail.requestedId, reason: deviation.reason, http_status: detail.httpStatus, polled_at: detail.polledAt, fetched_at: detail.fetchedAt, raw: detail.body });
        return;
      }
      detail = { ...detail, json };
    }
    const result = normalizeDetail(detail);
    if (result.ok) {
      // raw is the client's redacted body, byte for byte: not scanned twice. The rest is searched in
      // one go, and copied with its secrets replaced only when that finds one (nearly never).
      const movie = recordHoldsSecret(result.movie, this.secrets, 'raw')
        ? { ...replaceSecrets({ ...result.movie, raw: '' }, this.secrets), raw: result.movie.raw }
        : result.movie;
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

  /** Drops every row appended so far (the provider's poll failed): its files are committed empty. */
  async empty(staged: StagedRun): Promise<void> {
    this.movies = await staged.reopenFile(this.movies);
    this.rejects = await staged.reopenFile(this.rejects);
    this.movieCount = 0;
    this.rejectCount = 0;
    this.prices.clear();
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

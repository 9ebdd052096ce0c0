// The provider source: one provider's list call, then one detail call per listed film, all
// through the provider's client (retries, timeout, HTTP attempts in flight). Each detail is handed
// on as it arrives (normalization happens downstream); the harvest keeps the counts.
import { errorMessage } from '../runtime/errors.js';
import type { Logger } from '../log/log.js';
import { jsonOrUndefined, parseList, type DetailInput } from '../records/normalize.js';
import type { RejectRecord } from '../records/types.js';
import type { ClientStats, FetchOutcome, ProviderClient } from './client.js';
import type { FailureCause } from './failure.js';

/** Why a provider's poll failed as a whole: its list call's failure, a list that is not a movie list, or a shape change under schema.policy fail-provider. */
export type HarvestCause = FailureCause | 'bad-list' | 'schema';

/** What the schema check says of the list's entries: the provider's poll fails, or some entries are rejected (by index, with the reason). */
export interface ListVerdict {
  fail: string | null;
  reject: Map<number, string>;
}

export interface Harvest {
  provider: string;
  startedAt: Date;
  finishedAt: Date;
  /** Unique, valid IDs the list gave. */
  listed: number;
  /** Successful detail answers (each handed to `onDetail`). */
  fetched: number;
  /** List entries without a usable ID. */
  listRejects: RejectRecord[];
  /** Detail calls that failed after retries (or were cut by the deadline). */
  failed: number;
  /** Why the provider's poll failed as a whole (list call failed), else null. */
  error: string | null;
  /** The kind of that failure (`auth`: the token was rejected), else null. */
  cause: HarvestCause | null;
  stats: ClientStats;
}

export interface HarvestOptions {
  provider: string;
  client: ProviderClient;
  polledAt: Date;
  signal: AbortSignal;
  logger: Logger;
  /** Called once the list is known, and after each detail call. */
  onProgress?: (done: number, total: number) => void;
  /** Each successful detail, as it arrives (the harvest keeps none). */
  onDetail: (detail: DetailInput) => void;
  /** The list's entries, before any detail call (the schema check). */
  inspectList?: (entries: readonly unknown[]) => ListVerdict;
  /** Aborted when the provider's poll was stopped on purpose (schema.policy fail-provider): its cut calls are not failures to log. */
  halt?: AbortSignal;
}

/**
 * Requests pending at once (in flight, queued for an HTTP slot or waiting out a retry backoff) per
 * HTTP slot: a request backing off holds no slot (client.ts), so a few per slot keep the slots busy;
 * few enough that memory and abort listeners stay bounded however long the list.
 */
export const PENDING_PER_SLOT = 4;

export async function harvestProvider(options: HarvestOptions): Promise<Harvest> {
  const { provider, client, polledAt, signal, logger } = options;
  const startedAt = new Date();
  const harvest: Harvest = {
    provider, startedAt, finishedAt: startedAt, listed: 0, fetched: 0, listRejects: [], failed: 0, error: null, cause: null, stats: client.stats,
  };
  const finish = (): Harvest => ({ ...harvest, finishedAt: new Date() });

  const ids = await listIds(options, harvest);
  if (ids === null) return finish();
  harvest.listed = ids.length;
  options.onProgress?.(0, ids.length);

  let done = 0;
  const failures: Array<{ id: string; reason: string }> = [];
  // The one bound on requests pending: a pool of workers takes the films in list order, each with
  // one request pending, not one promise per film (50,000 films would be 50,000 closures and promises).
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      // IDs are checked against MOVIE_ID already; encoding is the second line of defence for the path.
      const outcome: FetchOutcome = await client.get(`${provider}/movie/${encodeURIComponent(id)}`, signal);
      if (outcome.ok) {
        harvest.fetched++;
        options.onDetail({ provider, requestedId: id, body: outcome.body, json: outcome.json, httpStatus: outcome.status, polledAt, fetchedAt: new Date() });
      } else {
        harvest.failed++;
        failures.push({ id, reason: outcome.reason });
      }
      options.onProgress?.(++done, ids.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(client.concurrency * PENDING_PER_SLOT, ids.length) }, worker));
  if (options.halt?.aborted) return finish(); // the provider's failure line says why
  for (const f of failures.slice(0, 20)) logger.warn('detail call failed after retries', { provider, id: f.id, reason: f.reason });
  if (failures.length > 20) logger.warn('more detail calls failed', { provider, more: failures.length - 20 });
  return finish();
}

/**
 * The list call: the IDs to fetch, or null when the provider's poll failed (recorded in `harvest`).
 * A function of its own so that the list's body and parsed JSON (tens of MB for 100,000 films) are
 * garbage once the IDs are out, not held by the harvest's suspended frame for the whole poll.
 */
async function listIds(options: HarvestOptions, harvest: Harvest): Promise<string[] | null> {
  const { provider, client, polledAt, signal, logger } = options;
  const list = await client.get(`${provider}/movies`, signal, 'list');
  if (!list.ok) {
    harvest.error = `list call failed: ${list.reason}`;
    harvest.cause = list.cause;
    return null;
  }
  try {
    const json = list.json ?? (options.inspectList ? jsonOrUndefined(list.body) : undefined);
    const entries = (json as { Movies?: unknown } | null | undefined)?.Movies;
    const verdict = options.inspectList && Array.isArray(entries) ? options.inspectList(entries) : null;
    if (verdict?.fail) {
      harvest.error = verdict.fail;
      harvest.cause = 'schema';
      return null;
    }
    const parsed = parseList(list.body, polledAt, new Date(), list.status, json, verdict?.reject);
    harvest.listRejects = parsed.rejects;
    if (parsed.duplicates > 0) logger.warn('list has duplicate IDs; each film is fetched once', { provider, duplicates: parsed.duplicates });
    return parsed.ids;
  } catch (err) {
    harvest.error = errorMessage(err);
    harvest.cause = 'bad-list';
    return null;
  }
}

// The provider source: one provider's list call, then one detail call per listed film, all
// through the provider's client (retries, timeout, concurrency). Returns what was fetched and
// the counts; normalization happens downstream.
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { parseList, type DetailInput } from '../records/normalize.js';
import type { RejectRecord } from '../records/types.js';
import type { ClientStats, FailureCause, FetchOutcome, ProviderClient } from './client.js';

/** Why a provider's poll failed as a whole: its list call's failure, or a list that is not a movie list. */
export type HarvestCause = FailureCause | 'bad-list';

export interface Harvest {
  provider: string;
  startedAt: Date;
  finishedAt: Date;
  /** Unique, valid IDs the list gave. */
  listed: number;
  /** Successful detail answers, to normalize (none when `onDetail` took them). */
  details: DetailInput[];
  /** Successful detail answers, counted. */
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
  /** Hands each successful detail over as it arrives; it is then not kept in `details`. */
  onDetail?: (detail: DetailInput) => void;
}

export async function harvestProvider(options: HarvestOptions): Promise<Harvest> {
  const { provider, client, polledAt, signal, logger } = options;
  const startedAt = new Date();
  const harvest: Harvest = {
    provider, startedAt, finishedAt: startedAt, listed: 0, details: [], fetched: 0, listRejects: [], failed: 0, error: null, cause: null, stats: client.stats,
  };
  const finish = (): Harvest => ({ ...harvest, finishedAt: new Date() });

  const list = await client.get(`${provider}/movies`, signal, 'list');
  if (!list.ok) {
    harvest.error = `list call failed: ${list.reason}`;
    harvest.cause = list.cause;
    return finish();
  }
  let ids: string[];
  try {
    const parsed = parseList(list.body, polledAt, new Date(), list.status);
    ids = parsed.ids;
    harvest.listRejects = parsed.rejects;
    if (parsed.duplicates > 0) logger.warn('list has duplicate IDs; each film is fetched once', { provider, duplicates: parsed.duplicates });
  } catch (err) {
    harvest.error = errorMessage(err);
    harvest.cause = 'bad-list';
    return finish();
  }
  harvest.listed = ids.length;
  options.onProgress?.(0, ids.length);

  let done = 0;
  const failures: Array<{ id: string; reason: string }> = [];
  await Promise.all(
    ids.map(async (id) => {
      // IDs are checked against MOVIE_ID already; encoding is the second line of defence for the path.
      const outcome: FetchOutcome = await client.get(`${provider}/movie/${encodeURIComponent(id)}`, signal);
      if (outcome.ok) {
        const detail: DetailInput = { provider, requestedId: id, body: outcome.body, httpStatus: outcome.status, polledAt, fetchedAt: new Date() };
        harvest.fetched++;
        if (options.onDetail) options.onDetail(detail);
        else harvest.details.push(detail);
      } else {
        harvest.failed++;
        failures.push({ id, reason: outcome.reason });
      }
      options.onProgress?.(++done, ids.length);
    }),
  );
  for (const f of failures.slice(0, 20)) logger.warn('detail call failed after retries', { provider, id: f.id, reason: f.reason });
  if (failures.length > 20) logger.warn('more detail calls failed', { provider, more: failures.length - 20 });
  return finish();
}

// The price_changes table: each film's price history as its change points, so that an answer
// costs what changed, not how often we polled. For each provider, its committed polls of one UTC
// day in run order; a film gets a row in a poll when
//   - it is in this poll and was not in the provider's previous poll of the day (the day's first
//     poll gives every film a row: each day stands alone, so retention, compaction and the
//     upgrade handle whole days), or its price or title differs from that poll's; or
//   - it was in the previous poll of the day and is not in this one (price_cents NULL).
// A film's price in a poll is its lowest there (a poll can list a film twice), with that row's
// title. Between a film's rows, every poll of the provider that day observed it at the price of
// its latest row: the report rebuilds history, poll counts and charts from that.
// The same function makes a poll's rows (commit) and a day's (compaction, upgrade), so both agree.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { fileFolder, runIdOfFile } from './layout.js';

/** What one poll saw of one film: its lowest price, with that row's title and year. */
export interface Observation {
  price: bigint;
  title: string;
  year: number | null;
}

/** One poll of one provider: film_key → observation. */
export type PollPrices = Map<string, Observation>;

export interface PriceChangeRow extends Record<string, unknown> {
  run: string;
  film_key: string;
  title: string | null;
  year: number | null;
  price_cents: bigint | null;
  previous_cents: bigint | null;
  polled_at: Date;
}

/** Adds one movie row to a poll's observations: the lowest price wins (its title with it). */
export function observe(prices: PollPrices, filmKey: string, price: bigint, title: string, year: number | null): void {
  const seen = prices.get(filmKey);
  if (seen === undefined || price < seen.price) prices.set(filmKey, { price, title, year });
}

/**
 * The rows of one poll of one provider, by film_key. `previous`: the provider's previous poll of
 * the same day (null: this is its first that day). `polledAt`: the poll's time (the movies rows'
 * polled_at); `goneAt`: the time a row for a film no longer seen carries (the provider's
 * runs.started_at: such a film has no movies row to take it from).
 */
export function changeRows(run: string, polledAt: Date, goneAt: Date, current: PollPrices, previous: PollPrices | null): PriceChangeRow[] {
  const rows: PriceChangeRow[] = [];
  for (const [film_key, now] of current) {
    const before = previous?.get(film_key);
    if (before && before.price === now.price && before.title === now.title) continue;
    rows.push({ run, film_key, title: now.title, year: now.year, price_cents: now.price, previous_cents: before?.price ?? null, polled_at: polledAt });
  }
  for (const [film_key, before] of previous ?? []) {
    if (!current.has(film_key)) rows.push({ run, film_key, title: null, year: null, price_cents: null, previous_cents: before.price, polled_at: goneAt });
  }
  return rows.sort((a, b) => (a.film_key < b.film_key ? -1 : a.film_key > b.film_key ? 1 : 0));
}

/** A provider's latest committed poll of a day, as a later poll of that day compares with it. */
export interface LatestPoll {
  dt: string;
  run: string;
  prices: PollPrices;
}

/**
 * A provider's latest committed poll of day `dt` (found by latestRunOnDisk), read back with
 * hyparquet (a poll needs no DuckDB) from its own file, or from the compacted file that holds it.
 */
export async function readLatestPoll(dt: string, latest: { run: string; file: string }): Promise<LatestPoll> {
  const prices: PollPrices = new Map();
  const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(latest.file), columns: ['run', 'film_key', 'price_cents', 'title', 'year'] })) as Array<{
    run: string; film_key: string; price_cents: bigint; title: string; year: number | null;
  }>;
  for (const r of rows) if (r.run === latest.run) observe(prices, r.film_key, BigInt(r.price_cents), r.title, r.year ?? null);
  return { dt, run: latest.run, prices };
}

/**
 * The latest run id among a provider's movies files of a day, with its file (names only), or null
 * when it has none that day. Every poll writes a movies file per provider (zero rows when it got
 * nothing), so that run is the provider's latest committed poll of the day.
 */
export function latestRunOnDisk(root: string, dt: string, provider: string): { run: string; file: string } | null {
  const dir = path.join(root, fileFolder('movies', dt, provider));
  let best: { run: string; file: string } | null = null;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  for (const name of names) {
    const run = runIdOfFile(name);
    if (run !== null && (best === null || run > best.run)) best = { run, file: path.join(dir, name) };
  }
  return best;
}

/**
 * Each provider's latest poll, kept between the daemon's polls so that a poll does not read the
 * previous one back. A cached poll is used only while it is still the latest on disk (names only),
 * so a poll committed by recovery or another collector is read instead of trusted from memory.
 */
export class LatestPolls {
  private readonly byProvider = new Map<string, LatestPoll>();

  async get(root: string, dt: string, provider: string): Promise<LatestPoll | null> {
    const cached = this.byProvider.get(provider);
    const onDisk = latestRunOnDisk(root, dt, provider);
    if (onDisk === null) return null;
    if (cached && cached.dt === dt && cached.run === onDisk.run) return cached;
    const read = await readLatestPoll(dt, onDisk);
    this.byProvider.set(provider, read);
    return read;
  }

  /** After a commit: this poll is the provider's latest. */
  set(provider: string, poll: LatestPoll): void {
    this.byProvider.set(provider, poll);
  }
}

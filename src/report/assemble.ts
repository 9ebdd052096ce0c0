// One view of the report: its JSON shape, and the search, sort and page cut from the data the
// store answered for a window (ReportData). No DuckDB here: the daemon's routes use it on the data
// its report process sent, and the CLI on what it read itself.
import type { AlertRow } from '../alerts/report.js';
import type { CurrentPoll, FilmPrice, HealthReport, HistoryRow, PollRef } from './queries.js';
import type { SchemaChangeRow } from './schema-section.js';
import type { Section } from './sections.js';
import { filmMatcher, pageOf, sortByValue, sortOrder, type ReportView } from './view.js';

export interface Report {
  generated_at: string;
  store: string;
  filters: { since: string; provider: string | null; film: string | null };
  /** The view of best_prices and price_history: their order, the slice sent, and how many rows the search found. */
  page: { sort: string; offset: number; limit: number | null; best_prices_total: number; price_history_total: number };
  best_prices: Array<Omit<FilmPrice, 'prices' | 'saving' | 'as_of'> & {
    prices: Record<string, Money>; saving: Money | null; as_of: Record<string, PollJson>;
    /** The lowest current price minus the lowest first price in the window; null when the window did not see the film. */
    change: Money | null;
  }>;
  /** Each provider's latest answered poll, the basis of its current prices (null: it never had one). */
  prices_as_of: Record<string, { run: string; started_at: string; age_seconds: number } | null>;
  cheapest_provider: {
    /** Films every provider sells (in their latest answered polls): the only fair basis for totals. */
    films_compared: number;
    totals: Record<string, Money>;
    cheapest: string | null;
    /** How many films each provider is cheapest for (ties counted under "tie"). */
    cheapest_for: Record<string, number>;
  };
  cheapest_film: { film_key: string; title: string; provider: string; price: Money; as_of: PollJson } | null;
  price_history: Array<Omit<HistoryRow, 'first' | 'last' | 'min' | 'max'> & { first: Money; last: Money; min: Money; max: Money }>;
  health: Omit<HealthReport, 'last_complete_poll' | 'latest_polls'> & {
    last_complete_poll: string | null;
    latest_polls: Array<{ provider: string; run: string; started_at: string; status: string; error: string | null }>;
  };
  /** Changes in the shape of the providers' answers in the window, newest first (src/report/schema-section.ts); never baseline rows. */
  schema_changes: SchemaChangeRow[];
  /** The alerts table in the window, newest first, with delivery state (src/alerts/report.ts). */
  alerts: AlertRow[];
}

/** An exact amount in currency units: a decimal string with two decimals, "12.50" (JSON numbers lose cents above 2^53). */
export type Money = string;

interface PollJson {
  run: string;
  polled_at: string;
}

const pollJson = (p: PollRef): PollJson => ({ run: p.run, polled_at: p.polled_at.toISOString() });

/** 1250n → "12.50": exact, whatever the size. */
export function units(cents: bigint): Money {
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/**
 * What the store answers for one window (and provider), before any search, sort or page: the
 * report process computes it once per commit, and each request's view is cut from it in memory.
 */
export interface ReportData {
  generated_at: Date;
  store: string;
  since: Date;
  provider: string | null;
  /** Every film with a current price, by title. */
  films: FilmPrice[];
  /** Every film and provider seen in the window, by title. */
  history: HistoryRow[];
  currentPolls: CurrentPoll[];
  health: HealthReport;
  /** The window's newest shape changes (at most MAX_SCHEMA_ROWS); a film search does not apply to them. */
  schemaChanges: SchemaChangeRow[];
  /** The window's newest alerts (at most MAX_ALERT_ROWS), before the film search. */
  alerts: AlertRow[];
}

/** The film's lowest current price minus its lowest price at the window's start (each provider's first in the window). */
function changeOf(film: FilmPrice, firsts: Map<string, bigint>): bigint | null {
  const first = firsts.get(film.film_key);
  const now = Object.values(film.prices).reduce<bigint | null>((low, p) => (low === null || p < low ? p : low), null);
  return first === undefined || now === null ? null : now - first;
}

/** One view of the data: the film search, then the answers over the films found, then sort and page. */
export function assembleReport(data: ReportData, view: ReportView): Report {
  const match = filmMatcher(view.film);
  const films = match ? data.films.filter((f) => match(f.title, f.film_key)) : data.films;
  const history = match ? data.history.filter((h) => match(h.title, h.film_key)) : data.history;
  const providers = [...new Set(films.flatMap((f) => Object.keys(f.prices)))].sort();
  const everywhere = films.filter((f) => providers.length > 1 && providers.every((p) => f.prices[p] !== undefined));
  // Sums in bigint: a total of BIGINT prices may exceed BIGINT itself, and no cent is lost.
  const totals: Record<string, bigint> = {};
  const cheapestFor: Record<string, number> = {};
  for (const p of providers) {
    totals[p] = everywhere.reduce((sum, f) => sum + (f.prices[p] ?? 0n), 0n);
    cheapestFor[p] = 0;
  }
  for (const f of everywhere) {
    const low = Object.values(f.prices).reduce((a, b) => (b < a ? b : a));
    const winners = Object.keys(f.prices).filter((p) => f.prices[p] === low);
    const key = winners.length > 1 ? 'tie' : (winners[0] ?? 'tie');
    cheapestFor[key] = (cheapestFor[key] ?? 0) + 1;
  }
  const ranked = Object.entries(totals).sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const cheapestProvider = everywhere.length > 0 && ranked.length > 0 && ranked[0]?.[1] !== ranked[1]?.[1] ? (ranked[0]?.[0] ?? null) : null;

  let cheapestFilm: { film: FilmPrice; price: bigint; asOf: PollRef } | null = null;
  for (const f of films) {
    const price = f.prices[f.cheapest];
    const asOf = f.as_of[f.cheapest];
    if (price !== undefined && asOf && (cheapestFilm === null || price < cheapestFilm.price)) cheapestFilm = { film: f, price, asOf };
  }

  // Each film's lowest first price in the window (its best price when the window opened).
  const firsts = new Map<string, bigint>();
  for (const h of data.history) {
    const low = firsts.get(h.film_key);
    if (low === undefined || h.first < low) firsts.set(h.film_key, h.first);
  }
  const changes = new Map(films.map((f) => [f.film_key, changeOf(f, firsts)]));
  const savings = new Map(films.map((f) => [f.film_key, f.saving]));
  const { key, descending } = sortOrder(view.sort);
  const lowest = (f: FilmPrice) => f.prices[f.cheapest] ?? null;
  const sortedFilms = key === 'film'
    ? (descending ? [...films].reverse() : films)
    : sortByValue(films, key === 'price' ? lowest : key === 'saving' ? (f) => f.saving : (f) => changes.get(f.film_key) ?? null, descending);
  const sortedHistory = key === 'film'
    ? (descending ? [...history].reverse() : history)
    : sortByValue(history, key === 'price' ? (h) => h.last : key === 'saving' ? (h) => savings.get(h.film_key) ?? null : (h) => h.last - h.first, descending);

  const pricesAsOf: Report['prices_as_of'] = {};
  for (const c of data.currentPolls) {
    pricesAsOf[c.provider] = c.run && c.started_at
      ? { run: c.run, started_at: c.started_at.toISOString(), age_seconds: Math.max(0, Math.floor((data.generated_at.getTime() - c.started_at.getTime()) / 1000)) }
      : null;
  }
  const { health } = data;
  return {
    generated_at: data.generated_at.toISOString(),
    store: data.store,
    filters: { since: data.since.toISOString(), provider: data.provider, film: view.film ?? null },
    page: { sort: view.sort ?? 'film', offset: view.offset ?? 0, limit: view.limit ?? null, best_prices_total: films.length, price_history_total: history.length },
    best_prices: pageOf(sortedFilms, view).map((f) => ({
      ...f,
      prices: Object.fromEntries(Object.entries(f.prices).map(([p, c]) => [p, units(c)])),
      saving: f.saving === null ? null : units(f.saving),
      change: mapNull(changes.get(f.film_key) ?? null, units),
      as_of: Object.fromEntries(Object.entries(f.as_of).map(([p, ref]) => [p, pollJson(ref)])),
    })),
    prices_as_of: pricesAsOf,
    cheapest_provider: { films_compared: everywhere.length, totals: Object.fromEntries(Object.entries(totals).map(([p, c]) => [p, units(c)])), cheapest: cheapestProvider, cheapest_for: cheapestFor },
    cheapest_film: cheapestFilm && {
      film_key: cheapestFilm.film.film_key, title: cheapestFilm.film.title, provider: cheapestFilm.film.cheapest, price: units(cheapestFilm.price), as_of: pollJson(cheapestFilm.asOf),
    },
    price_history: pageOf(sortedHistory, view).map((h) => ({ ...h, first: units(h.first), last: units(h.last), min: units(h.min), max: units(h.max) })),
    health: {
      ...health,
      last_complete_poll: health.last_complete_poll?.toISOString() ?? null,
      latest_polls: health.latest_polls.map((l) => ({ ...l, started_at: l.started_at.toISOString() })),
    },
    schema_changes: data.schemaChanges, // about providers, not films: a film search leaves them whole

    alerts: match ? data.alerts.filter((a) => a.film_key !== null && match(a.title ?? '', a.film_key)) : data.alerts,
  };
}

const mapNull = <T, U>(value: T | null, fn: (v: T) => U): U | null => (value === null ? null : fn(value));

/** The JSON keys that make up each section. */
const SECTION_KEYS: Record<Section, Array<keyof Report>> = {
  'best-prices': ['best_prices', 'prices_as_of'],
  cheapest: ['cheapest_provider', 'cheapest_film', 'prices_as_of'],
  history: ['price_history'],
  health: ['health'],
  schema: ['schema_changes'],
  alerts: ['alerts'],
};

/** The report's header fields plus one section's keys. */
export function pickSection(report: Report, section: Section): Partial<Report> {
  const picked: Partial<Report> = { generated_at: report.generated_at, store: report.store, filters: report.filters, page: report.page };
  for (const key of SECTION_KEYS[section]) Object.assign(picked, { [key]: report[key] });
  return picked;
}

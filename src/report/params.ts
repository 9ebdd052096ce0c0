// The report's filters as the user gives them: `report`'s options and /api/report's query
// parameters share these checks, so both refuse the same values with the same words.
import { SECTIONS, type Section } from './sections.js';

/** --since / ?since=: "7d", "24h", or a date/time such as 2026-11-01 (UTC unless it names a zone). */
export function parseSince(raw: string, now = Date.now()): Date {
  const relative = /^(\d+)([dh])$/.exec(raw);
  // Only ISO forms: Date's own parser reads "2026-11-01 junk" as some other day, and a time
  // without a zone as local time.
  const iso = ISO_DATE.exec(raw);
  const date = relative
    ? new Date(now - Number(relative[1]) * (relative[2] === 'd' ? 86_400_000 : 3_600_000))
    : iso ? new Date(`${iso[1] ?? ''}${iso[2] ? `T${iso[2]}${iso[3] ?? 'Z'}` : ''}`) : new Date(NaN);
  // A day that does not exist (2026-02-31) is refused, not moved into the next month.
  const day = /^(\d{4})-(\d{2})-(\d{2})/.exec(raw);
  const realDay = day !== null && !Number.isNaN(date.getTime()) && new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]))).toISOString().startsWith(day[0]);
  if (Number.isNaN(date.getTime()) || (!relative && !realDay)) {
    throw new Error(SINCE_EXPECTED);
  }
  return date;
}

/** 2026-11-01, 2026-11-01T12:00[:00[.000]] or with a space for the T, then Z or ±hh:mm (none: UTC). */
const ISO_DATE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:\d{2})?)?$/i;

export const SINCE_EXPECTED = 'expected a duration like 7d or 24h, or a real date like 2026-11-01';
export const DEFAULT_SINCE = '7d';

/** Longest value a query parameter may have (a title fragment, a provider name, a date). */
export const MAX_PARAM_LENGTH = 200;

/** The filters of one request, as given: `since` stays raw so that "7d" is re-read at each computation. */
export interface ReportQuery {
  since: string;
  provider?: string;
  /** A search: title text (case- and accent-insensitive) or an exact film_key; applied to the computed answer. */
  film?: string;
  section?: Section;
  /** The order of best_prices and price_history: a key of SORT_KEYS, `-` first for descending. */
  sort?: string;
  /** Rows of best_prices and price_history from `offset`: at most `limit` (absent: all). */
  limit?: number;
  offset?: number;
}

/** What `sort` orders by (report/view.ts): title, lowest current price, saving, change in the window. */
export const SORT_KEYS = ['film', 'price', 'saving', 'change'] as const;
export const SORT_EXPECTED = `expected one of ${SORT_KEYS.join(', ')}, optionally with - first for descending (e.g. -change)`;
export const MAX_LIMIT = 1000;
export const MAX_OFFSET = 1_000_000;

/** The sort value, or null when it is not one. */
export function parseSort(raw: string): string | null {
  return (SORT_KEYS as readonly string[]).includes(raw.replace(/^-/, '')) ? raw : null;
}

/** A whole number from min to max written in plain digits ("1e3", "12abc", " 5" are not), or null. */
export function parseWhole(raw: string, min: number, max: number): number | null {
  if (!/^\d{1,7}$/.test(raw)) return null;
  const n = Number(raw);
  return n >= min && n <= max ? n : null;
}

export type ParamName = keyof ReportQuery;

/** A bad query parameter: the message names it and says what is expected. */
export class ParamError extends Error {}

/** Visible, bounded text of a parameter name the client sent (for the error line). */
const shown = (name: string) => JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);

/** Reads the query string of a report URL; only `allowed` parameters, each once, non-empty and bounded. */
export function parseReportQuery(params: URLSearchParams, allowed: readonly ParamName[]): ReportQuery {
  const query: ReportQuery = { since: DEFAULT_SINCE };
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (!(allowed as readonly string[]).includes(name)) {
      throw new ParamError(`unknown parameter ${shown(name)}: ${allowed.length > 0 ? `expected ${allowed.join(', ')}` : 'this path takes none'}`);
    }
    if (seen.has(name)) throw new ParamError(`parameter "${name}" given more than once`);
    seen.add(name);
    if (value === '') throw new ParamError(`parameter "${name}" is empty`);
    if (value.length > MAX_PARAM_LENGTH) throw new ParamError(`parameter "${name}" is too long (at most ${MAX_PARAM_LENGTH} characters)`);
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(value)) throw new ParamError(`parameter "${name}" contains a control character`);
    const key = name as ParamName;
    if (key === 'since') {
      try {
        parseSince(value);
      } catch {
        throw new ParamError(`parameter "since": ${SINCE_EXPECTED}`);
      }
      query.since = value;
    } else if (key === 'section') {
      if (!(SECTIONS as readonly string[]).includes(value)) throw new ParamError(`parameter "section": expected one of ${SECTIONS.join(', ')}`);
      query.section = value as Section;
    } else if (key === 'sort') {
      if (parseSort(value) === null) throw new ParamError(`parameter "sort": ${SORT_EXPECTED}`);
      query.sort = value;
    } else if (key === 'limit' || key === 'offset') {
      const n = key === 'limit' ? parseWhole(value, 1, MAX_LIMIT) : parseWhole(value, 0, MAX_OFFSET);
      if (n === null) throw new ParamError(`parameter "${key}": expected a whole number from ${key === 'limit' ? `1 to ${MAX_LIMIT}` : `0 to ${MAX_OFFSET}`}`);
      query[key] = n;
    } else if (key === 'provider' || key === 'film') {
      query[key] = value;
    }
  }
  return query;
}

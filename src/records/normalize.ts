// Raw provider bodies (every value a string) to typed records, as pure functions.
// A detail body becomes a MovieRecord, or a RejectRecord with the reason when it cannot be
// made valid (malformed JSON, no ID or title, unparseable price). Optional fields that are
// present but unparseable, empty or out of their column's range become null, with a warning
// on the record; `raw` keeps the whole body. Every value that leaves here fits its Parquet
// column (INT32, INT64, DATE, DOUBLE), so no answer can make a commit fail.
import { errorMessage } from '../runtime/errors.js';
import type { MovieRecord, Normalized, RejectRecord } from './types.js';

export interface DetailInput {
  provider: string;
  /** The ID the list gave and the detail was requested by. */
  requestedId: string;
  body: string;
  /** `JSON.parse(body)`, when the client parsed it already (saves a second parse of every answer). */
  json?: unknown;
  httpStatus: number | null;
  polledAt: Date;
  fetchedAt: Date;
}

/** IDs that are safe to put in a URL path segment; the list's IDs are checked against it. */
export const MOVIE_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** The largest INT64 (price_cents, votes). */
export const INT64_MAX = 2n ** 63n - 1n;
/** Years a film can have: Year and Released outside them are placeholders ("0000", "01 Jan 0001"), not dates. */
export const FILM_YEARS = { min: 1870, max: 2200 } as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

type Body = Record<string, unknown>;

export function normalizeDetail(input: DetailInput): Normalized {
  const reject = (reason: string): Normalized => ({
    ok: false,
    reject: {
      provider_movie_id: input.requestedId,
      reason,
      http_status: input.httpStatus,
      polled_at: input.polledAt,
      fetched_at: input.fetchedAt,
      raw: input.body,
    },
  });

  let parsed: unknown = input.json;
  if (parsed === undefined) {
    try {
      parsed = JSON.parse(input.body);
    } catch (err) {
      return reject(`malformed JSON: ${errorMessage(err)}`);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return reject('body is not a JSON object');
  const body = parsed as Body;

  if (typeof body.ID !== 'string') return reject(`ID: expected a string, got ${describe(body.ID)}`);
  if (body.ID !== input.requestedId) return reject(`ID: ${JSON.stringify(body.ID)} does not match the requested ${JSON.stringify(input.requestedId)}`);
  if (typeof body.Title !== 'string' || body.Title.trim() === '') return reject(`Title: expected a non-empty string, got ${describe(body.Title)}`);
  if (typeof body.Price !== 'string') return reject(`Price: expected a string, got ${describe(body.Price)}`);
  const priceCents = parsePriceCents(body.Price);
  if (priceCents === undefined) return reject(`Price: ${JSON.stringify(body.Price)} is not a decimal amount with at most 2 decimals`);
  if (priceCents > INT64_MAX) return reject(`Price: ${JSON.stringify(body.Price)} is out of range; expected at most ${formatCents(INT64_MAX)}`);

  const warnings: string[] = [];
  const field = new FieldReader(body, warnings);
  const title = wellFormed('Title', body.Title.trim(), warnings);
  const year = field.parsed('Year', parseYear, `a year from ${FILM_YEARS.min} to ${FILM_YEARS.max}`);
  const movie: MovieRecord = {
    film_key: filmKey(input.provider, body.ID),
    provider_movie_id: body.ID,
    title,
    year,
    rated: field.text('Rated'),
    released: field.parsed('Released', parseReleased, `a date like "25 May 1977" from ${FILM_YEARS.min} to ${FILM_YEARS.max}`),
    runtime_minutes: field.parsed('Runtime', parseRuntime, 'a runtime like "121 min"'),
    genres: field.list('Genre'),
    director: field.text('Director'),
    writers: field.list('Writer'),
    actors: field.list('Actors'),
    plot: field.text('Plot'),
    language: field.text('Language'),
    country: field.text('Country'),
    awards: field.text('Awards'),
    poster: field.text('Poster'),
    metascore: field.parsed('Metascore', parseMetascore, 'a score from 0 to 100'),
    rating: field.parsed('Rating', parseRating, 'a rating from 0 to 10 like "8.7"'),
    votes: field.parsed('Votes', parseVotes, `a count like "915,459" of at most ${INT64_MAX}`),
    type: field.text('Type'),
    price_cents: priceCents,
    warnings,
    polled_at: input.polledAt,
    fetched_at: input.fetchedAt,
    raw: input.body,
  };
  return { ok: true, movie };
}

/** Reads optional string fields; "N/A" means absent; an empty string or anything unparseable is a warning. */
class FieldReader {
  constructor(
    private readonly body: Body,
    private readonly warnings: string[],
  ) {}

  text(key: string): string | null {
    const value = this.body[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') {
      this.warnings.push(`${key}: expected a string, got ${describe(value)}`);
      return null;
    }
    const trimmed = wellFormed(key, value.trim(), this.warnings);
    if (trimmed === '') this.warnings.push(`${key}: empty string, stored as null`);
    return trimmed === '' || trimmed === 'N/A' ? null : trimmed;
  }

  parsed<T>(key: string, parse: (text: string) => T | undefined, expected: string): T | null {
    const text = this.text(key);
    if (text === null) return null;
    const value = parse(text);
    if (value === undefined) {
      this.warnings.push(`${key}: ${JSON.stringify(text)} is not ${expected}`);
      return null;
    }
    return value;
  }

  list(key: string): string[] | null {
    return this.parsed(key, (text) => text.split(',').map((s) => s.trim()).filter((s) => s !== ''), 'a comma-separated list');
  }
}

/** The body's JSON, or undefined when it is not JSON (normalizeDetail and parseList then say why). */
export function jsonOrUndefined(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** A lone UTF-16 surrogate (JSON allows "\ud800"): UTF-8 cannot hold it, so the stored text has U+FFFD there. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function wellFormed(key: string, text: string, warnings: string[]): string {
  const fixed = text.replace(LONE_SURROGATE, '\uFFFD');
  if (fixed !== text) warnings.push(`${key}: holds a lone UTF-16 surrogate (not text), stored as U+FFFD`);
  return fixed;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** "123.5" → 12350n, "1,234.99" → 123499n; exact (no floating point). */
export function parsePriceCents(text: string): bigint | undefined {
  const match = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const whole = BigInt((match[1] ?? '0').replaceAll(',', ''));
  return whole * 100n + BigInt((match[2] ?? '').padEnd(2, '0'));
}

const isFilmYear = (year: number) => year >= FILM_YEARS.min && year <= FILM_YEARS.max;

/** "1,234.5" for 123450n: a price in the reasons users read. */
function formatCents(cents: bigint): string {
  const whole = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${whole}.${(cents % 100n).toString().padStart(2, '0')}`;
}

export function parseYear(text: string): number | undefined {
  // "2005" and "2005–2008" (a series' span) both start with the year.
  const match = /^(\d{4})(?:\D.*)?$/.exec(text);
  const year = match ? Number(match[1]) : NaN;
  return isFilmYear(year) ? year : undefined;
}

/** "25 May 1977" → 1977-05-25 as a UTC midnight (parquetjs DATE truncates getTime()/day). */
export function parseReleased(text: string): Date | undefined {
  const match = /^(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})$/.exec(text);
  if (!match) return undefined;
  const [day, month, year] = [Number(match[1]), MONTHS.indexOf(match[2] ?? ''), Number(match[3])];
  if (month < 0 || !isFilmYear(year)) return undefined;
  const date = new Date(Date.UTC(year, month, day));
  return date.getUTCDate() === day ? date : undefined; // rejects "31 Feb 1977"
}

export function parseRuntime(text: string): number | undefined {
  const match = /^(\d{1,5}) ?min$/.exec(text);
  return match ? Number(match[1]) : undefined;
}

export function parseMetascore(text: string): number | undefined {
  const value = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  return value >= 0 && value <= 100 ? value : undefined;
}

export function parseRating(text: string): number | undefined {
  const value = /^\d{1,2}(?:\.\d{1,3})?$/.test(text) ? Number(text) : NaN;
  return value >= 0 && value <= 10 ? value : undefined;
}

export function parseVotes(text: string): bigint | undefined {
  if (!/^(\d{1,3}(?:,\d{3})+|\d+)$/.test(text)) return undefined;
  const votes = BigInt(text.replaceAll(',', ''));
  return votes <= INT64_MAX ? votes : undefined;
}

/** Each provider's ID prefix (webjet-api.md): its IDs are that prefix and the film's IMDb digits. */
const ID_PREFIX: Readonly<Record<string, string>> = { cinemaworld: 'cw', filmworld: 'fw' };

/**
 * The same film on both providers: cw0076759 on cinemaworld and fw0076759 on filmworld → tt0076759.
 * Only an ID of the provider's own prefix, in lower case, stands for the IMDb number: CW0076759 or
 * xx0076759 on cinemaworld are other films. Any other ID is keyed by provider and ID (id:<provider>:<ID>),
 * never by its title: distinct IDs of one provider never share a key, and no key is derived from text.
 */
export function filmKey(provider: string, id: string): string {
  const match = /^([a-z]{2})(\d{7,10})$/.exec(id);
  return match && match[1] === ID_PREFIX[provider] ? `tt${match[2] ?? ''}` : `id:${provider}:${id}`;
}

export interface ParsedList {
  /** Unique, path-safe IDs in list order. */
  ids: string[];
  /** Entries without a usable ID. */
  rejects: RejectRecord[];
  duplicates: number;
}

/**
 * The list body: {"Movies":[{"ID":"cw0076759",...}]} (json: the body already parsed, if it was).
 * Throws when the body itself is unusable. `rejected`: entries the schema check turned away, by index, with the reason.
 */
export function parseList(body: string, polledAt: Date, fetchedAt: Date, httpStatus: number | null, json?: unknown, rejected?: ReadonlyMap<number, string>): ParsedList {
  let parsed: unknown = json;
  if (parsed === undefined) {
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new Error(`malformed list JSON: ${errorMessage(err)}`);
    }
  }
  const movies = (parsed as { Movies?: unknown } | null)?.Movies;
  if (!Array.isArray(movies)) throw new Error('list body has no "Movies" array');

  const seen = new Set<string>();
  const result: ParsedList = { ids: [], rejects: [], duplicates: 0 };
  for (const [index, entry] of (movies as unknown[]).entries()) {
    const id = (entry as { ID?: unknown } | null)?.ID;
    const schemaReason = rejected?.get(index);
    if (schemaReason !== undefined || typeof id !== 'string' || !MOVIE_ID.test(id)) {
      result.rejects.push({
        provider_movie_id: typeof id === 'string' ? id : null,
        reason: schemaReason ?? `list entry ID: ${typeof id === 'string' ? `${JSON.stringify(id)} is not a safe ID (${MOVIE_ID.source})` : `expected a string, got ${describe(id)}`}`,
        http_status: httpStatus,
        polled_at: polledAt,
        fetched_at: fetchedAt,
        raw: JSON.stringify(entry) ?? 'undefined',
      });
    } else if (seen.has(id)) {
      result.duplicates++;
    } else {
      seen.add(id);
      result.ids.push(id);
    }
  }
  return result;
}

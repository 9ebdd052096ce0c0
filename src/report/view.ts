// A view of a computed answer: the film search, the order and the page of its film lists. The
// store is read once per window (and provider); every search, sort and page is this module's
// work on the rows in memory, so typing into the page's search field costs no DuckDB query.
import { SORT_KEYS } from './params.js';

export interface ReportView {
  /** Title text (case- and accent-insensitive substring) or an exact film_key. */
  film?: string;
  /** A key of SORT_KEYS, `-` first for descending; default `film`. */
  sort?: string;
  limit?: number;
  offset?: number;
}

export type SortKey = (typeof SORT_KEYS)[number];

/** Text as the search compares it: compatibility-decomposed, accents (combining marks) dropped, lower case. */
export function fold(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
}

/** The test `film` makes of a film's title and key; null (no search) accepts every film. */
export function filmMatcher(film: string | undefined): ((title: string, filmKey: string) => boolean) | null {
  if (film === undefined) return null;
  const needle = fold(film);
  return (title, filmKey) => filmKey === film || fold(title).includes(needle);
}

/** How a list is ordered: the key, and whether descending. */
export function sortOrder(sort: string | undefined): { key: SortKey; descending: boolean } {
  const raw = sort ?? 'film';
  const key = raw.replace(/^-/, '') as SortKey;
  return { key: SORT_KEYS.includes(key) ? key : 'film', descending: raw.startsWith('-') };
}

/**
 * Sorts rows by a numeric (bigint) value, missing values last whichever the direction; ties keep
 * the rows' given order (titles), so pages never shuffle between requests.
 */
export function sortByValue<T>(rows: readonly T[], value: (row: T) => bigint | null, descending: boolean): T[] {
  const ranked = rows.map((row, i) => ({ row, i, v: value(row) }));
  ranked.sort((a, b) => {
    if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
    if (a.v === b.v) return a.i - b.i;
    return (a.v < b.v ? -1 : 1) * (descending ? -1 : 1);
  });
  return ranked.map((r) => r.row);
}

/** `offset` and `limit` applied (no limit: every row from offset). */
export function pageOf<T>(rows: readonly T[], view: ReportView): T[] {
  const offset = view.offset ?? 0;
  return rows.slice(offset, view.limit === undefined ? undefined : offset + view.limit);
}

// The typed records a poll produces: one table each in the store. Field names are the
// Parquet column names. Partition columns (dt, run, and provider for movies/rejects) live in
// the store's paths, never in these records.

export interface MovieRecord {
  /** Cross-provider key: tt + the IMDb digits of a cw/fw ID, else id:<provider>:<ID> (see filmKey). */
  film_key: string;
  provider_movie_id: string;
  title: string;
  year: number | null;
  rated: string | null;
  released: Date | null;
  runtime_minutes: number | null;
  genres: string[] | null;
  director: string | null;
  writers: string[] | null;
  actors: string[] | null;
  plot: string | null;
  language: string | null;
  country: string | null;
  awards: string | null;
  poster: string | null;
  metascore: number | null;
  rating: number | null;
  votes: bigint | null;
  type: string | null;
  /** Exact price in cents (parquetjs DECIMAL corrupts values; see PITFALLS.md). */
  price_cents: bigint;
  /** Fields that were present but unparseable, and set to null ("Runtime: \"12x\" is not ..."). */
  warnings: string[];
  polled_at: Date;
  fetched_at: Date;
  /** The provider's payload, whole, as received. */
  raw: string;
}

export interface RejectRecord {
  provider_movie_id: string | null;
  reason: string;
  http_status: number | null;
  polled_at: Date;
  fetched_at: Date;
  /** The body as received (or the list entry, for a bad list entry). */
  raw: string;
}

export type RunStatus = 'complete' | 'partial' | 'failed';

export interface RunRecord {
  provider: string;
  status: RunStatus;
  started_at: Date;
  finished_at: Date;
  duration_ms: bigint;
  /** Unique valid IDs in the list; listed = fetched + failed. */
  listed: number;
  /** Detail calls answered 200 (valid or rejected). */
  fetched: number;
  failed: number;
  rejected: number;
  retries: number;
  /** HTTP responses (and transport errors) by status, as JSON: {"200":13,"503":4,"ETIMEDOUT":1}. */
  responses: string;
  error: string | null;
  collector_version: string;
}

export type Normalized = { ok: true; movie: MovieRecord } | { ok: false; reject: RejectRecord };

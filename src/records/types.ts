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

/** Where in a provider's answers a shape change was seen: the list call's body, or a film's detail answer. */
export type ShapeSource = 'list' | 'detail';
export type SchemaChangeKind = 'baseline' | 'new-field' | 'missing-field' | 'type-change';
/** required: what a record cannot be made without (ID, Title, Price); mapped: the other fields stored in columns; extra: anything else. */
export type FieldClass = 'required' | 'mapped' | 'extra';
export type SchemaPolicy = 'record' | 'reject-record' | 'fail-provider';

/** One row of the schema_changes table (src/store/schema.ts). */
export interface SchemaChangeRecord {
  provider: string;
  source: ShapeSource;
  /** Field path in the answer: `Price`, `Ratings[].Source`, `Movies[].ID` (see src/schema/shape.ts). */
  path: string;
  kind: SchemaChangeKind;
  field_class: FieldClass;
  /** Types established before, "|"-joined; null for a baseline or a new field. */
  old_type: string | null;
  /** Types seen for the first time, "|"-joined. */
  new_type: string;
  /** A redacted value showing the new type, at most 80 characters (null for a missing field). */
  example: string | null;
  /** Fraction of the poll's answers (of that source) that show it. */
  share: number;
  answers: number;
  action: SchemaPolicy;
  detected_at: Date;
}

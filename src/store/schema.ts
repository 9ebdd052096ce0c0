// Parquet schemas of the poll tables, and record → row conversion. Every leaf column is
// Snappy-compressed per field: @dsnp/parquetjs ignores a writer-level compression option.
// Prices are INT64 cents (its DECIMAL corrupts values); timestamps are UTC millis, annotated as
// instants (TIMESTAMP, isAdjustedToUTC) by parquet-footer.ts, which parquetjs alone never writes.
import { ParquetSchema, UTC_MILLIS } from './parquet/index.js';
import type { MovieRecord, RejectRecord, RunRecord, SchemaChangeRecord } from '../records/types.js';

type FieldDef = {
  type?: string; optional?: boolean; repeated?: boolean; compression?: string; statistics?: false;
  logicalType?: typeof UTC_MILLIS; fields?: Record<string, FieldDef>;
};

/**
 * Snappy on every leaf; no statistics on string leaves. parquetjs 1.8.8 orders string min/max by
 * JavaScript (UTF-16) comparison where the spec wants unsigned UTF-8 bytes: a column holding both
 * a character above U+FFFF (emoji) and one in U+E000–U+FFFF (fullwidth forms, U+FFFD) gets a
 * min/max that excludes real values, and DuckDB's and Polars' pushed-down filters skip those rows.
 * Without min/max a reader scans the column; at one file per poll and provider, string ranges
 * (titles, keys) span nearly everything anyway, so they pruned nothing.
 */
function withLeafOptions(fields: Record<string, FieldDef>): Record<string, FieldDef> {
  return Object.fromEntries(
    Object.entries(fields).map(([name, def]) => [
      name,
      def.fields
        ? { ...def, fields: withLeafOptions(def.fields) }
        : { ...def, compression: 'SNAPPY', ...(def.type === 'UTF8' ? { statistics: false as const } : {}) },
    ]),
  );
}

const text = { type: 'UTF8' };
const optText = { type: 'UTF8', optional: true };
const int32 = { type: 'INT32' };
const optInt32 = { type: 'INT32', optional: true };
const timestamp = { type: 'TIMESTAMP_MILLIS', logicalType: UTC_MILLIS };
/** A nullable list<string> that DuckDB reads as VARCHAR[] (NULL and [] kept apart). */
const stringList = { type: 'LIST', optional: true, fields: { list: { repeated: true, fields: { element: { type: 'UTF8' } } } } };

function schema(fields: Record<string, FieldDef>): ParquetSchema {
  // The field definitions match parquetjs's SchemaDefinition; its exported type is too strict for this builder.
  return new ParquetSchema(withLeafOptions(fields) as ConstructorParameters<typeof ParquetSchema>[0]);
}

// `run` (the poll's id) is the first column of every table: a compacted day holds many polls in one file.
export const MOVIES_SCHEMA = schema({
  run: text,
  film_key: text,
  provider_movie_id: text,
  title: text,
  year: optInt32,
  rated: optText,
  released: { type: 'DATE', optional: true },
  runtime_minutes: optInt32,
  genres: stringList,
  director: optText,
  writers: stringList,
  actors: stringList,
  plot: optText,
  language: optText,
  country: optText,
  awards: optText,
  poster: optText,
  metascore: optInt32,
  rating: { type: 'DOUBLE', optional: true },
  votes: { type: 'INT64', optional: true },
  type: optText,
  price_cents: { type: 'INT64' },
  warnings: stringList,
  polled_at: timestamp,
  fetched_at: timestamp,
  raw: text,
});

export const REJECTS_SCHEMA = schema({
  run: text,
  provider_movie_id: optText,
  reason: text,
  http_status: optInt32,
  polled_at: timestamp,
  fetched_at: timestamp,
  raw: text,
});

/**
 * One row per film and provider where the film's price or title differs from the provider's
 * previous poll of the same UTC day, or the film was not in that poll (its first poll of the day
 * included): price_changes.ts defines and computes it. `price_cents` NULL: the film was in the
 * previous poll of the day and is not in this one; `previous_cents`: its price in that poll.
 */
export const PRICE_CHANGES_SCHEMA = schema({
  run: text,
  film_key: text,
  title: optText,
  year: optInt32,
  price_cents: { type: 'INT64', optional: true },
  previous_cents: { type: 'INT64', optional: true },
  polled_at: timestamp,
});

export const RUNS_SCHEMA = schema({
  run: text,
  provider: text,
  status: text,
  started_at: timestamp,
  finished_at: timestamp,
  duration_ms: { type: 'INT64' },
  listed: int32,
  fetched: int32,
  failed: int32,
  rejected: int32,
  retries: int32,
  responses: text,
  error: optText,
  collector_version: text,
});

/**
 * Changes in the shape of a provider's answers (src/schema/drift.ts): one row per field path and
 * change, committed with the poll that first saw it. `baseline` rows are a provider's shape when it
 * was first seen (or rebuilt), so that the shape can always be folded back from this table alone.
 * `old_type`/`new_type` list JSON types joined by "|" (see src/schema/shape.ts); `share`: the
 * fraction of the poll's answers that show the new type (or lack the field); `action`: the policy
 * applied (record, reject-record, fail-provider). `example` is redacted and cut to 80 characters.
 */
export const SCHEMA_CHANGES_SCHEMA = schema({
  run: text,
  provider: text,
  source: text,
  path: text,
  kind: text,
  field_class: text,
  old_type: optText,
  new_type: text,
  example: optText,
  share: { type: 'DOUBLE' },
  answers: int32,
  action: text,
  detected_at: timestamp,
});

/**
 * The alerts table (src/alerts/table.ts writes it): one row per computed alert, `run` first like
 * the others, so that compaction rewrites its closed days like theirs.
 */
export const ALERTS_SCHEMA = schema({
  run: text,
  key: text,
  rule: text,
  kind: text,
  film_key: optText,
  title: optText,
  provider: optText,
  old_value: { type: 'INT64', optional: true },
  new_value: { type: 'INT64', optional: true },
  message: text,
  created_at: timestamp,
  destinations: stringList,
});

/** A row for ParquetFileWriter: its list columns (genres, writers, actors, warnings) stay plain arrays (see row-buffer.ts). */
export const movieRow = (m: MovieRecord): Record<string, unknown> => ({ ...m });

export const rejectRow = (r: RejectRecord): Record<string, unknown> => ({ ...r });
export const runRow = (r: RunRecord): Record<string, unknown> => ({ ...r });
export const schemaChangeRow = (r: SchemaChangeRecord): Record<string, unknown> => ({ ...r });

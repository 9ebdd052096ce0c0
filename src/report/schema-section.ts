// The report's `schema` section: the changes in the shape of the providers' answers that the
// window's committed polls recorded in `schema_changes` (issue 29), newest first. `baseline` rows
// (a provider's shape when first seen) are not changes and never shown. The rows are read by
// StoreReader (queries.ts) over the table's days, like every other section; this module holds
// their JSON shape, the SQL, and the table.

/** One change as the report's JSON holds it (`schema_changes`). */
export interface SchemaChangeRow {
  detected_at: string;
  run: string;
  provider: string;
  /** 'list' (the list call's `Movies` entries) or 'detail' (a film's answer). */
  source: string;
  /** `Price`, `Ratings[].Source`, `Movies[].ID`. */
  path: string;
  /** new-field, missing-field or type-change. */
  kind: string;
  field_class: string;
  /** JSON types "|"-joined; null for a new field. */
  old_type: string | null;
  new_type: string;
  /** Redacted, at most 80 characters; null for a missing field. */
  example: string | null;
  /** Fraction (0..1) of the poll's answers of that source that show it. */
  share: number;
  answers: number;
  /** What the policy did: record, reject-record, fail-provider. */
  action: string;
}

/** Most rows in the section: the newest changes of the window. */
export const MAX_SCHEMA_ROWS = 500;

/** schema_changes when the days read hold no file: the same columns, no row. */
export const EMPTY_SCHEMA_CHANGES = `SELECT NULL::VARCHAR AS run, NULL::VARCHAR AS provider, NULL::VARCHAR AS source, NULL::VARCHAR AS path, NULL::VARCHAR AS kind,
  NULL::VARCHAR AS field_class, NULL::VARCHAR AS old_type, NULL::VARCHAR AS new_type, NULL::VARCHAR AS example, NULL::DOUBLE AS share,
  NULL::INTEGER AS answers, NULL::VARCHAR AS action, NULL::TIMESTAMPTZ AS detected_at WHERE false`;

/** The window's changes of committed polls (a `runs` view in scope), newest first; `$since`, and `$provider` when `byProvider`. */
export function schemaChangesSql(byProvider: boolean): string {
  return `SELECT run, provider, source, path, kind, field_class, old_type, new_type, example, share, answers, action, detected_at
            FROM schema_changes c
           WHERE kind <> 'baseline' AND detected_at >= $since::TIMESTAMPTZ ${byProvider ? 'AND provider = $provider' : ''}
             AND run IN (SELECT run FROM runs)
           ORDER BY detected_at DESC, run DESC, provider, source, path, kind LIMIT ${MAX_SCHEMA_ROWS}`;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : String(v ?? ''));
const optText = (v: unknown): string | null => (v === null || v === undefined ? null : text(v));

/** A row as DuckDB returns it (getRowObjectsJS), in the section's JSON shape. */
export function schemaChangeRow(r: Record<string, unknown>): SchemaChangeRow {
  return {
    detected_at: r.detected_at instanceof Date ? r.detected_at.toISOString() : text(r.detected_at),
    run: text(r.run), provider: text(r.provider), source: text(r.source), path: text(r.path), kind: text(r.kind), field_class: text(r.field_class),
    old_type: optText(r.old_type), new_type: text(r.new_type), example: optText(r.example), share: Number(r.share), answers: Number(r.answers), action: text(r.action),
  };
}

/** A share as a percentage: 50%, 100%, and <1% rather than a 0% that hides a change. */
export function percent(share: number): string {
  const p = share * 100;
  return p > 0 && p < 1 ? '<1%' : `${Math.round(p)}%`;
}

/**
 * What changed, in one cell, the kind in its wording: `Price: string:numeric → string`,
 * `Genre: new string`, `Rated: missing (was string)`; then the example, quoted: `"$12.50"`.
 */
export function changeText(c: Pick<SchemaChangeRow, 'path' | 'kind' | 'old_type' | 'new_type' | 'example'>): string {
  const what = c.kind === 'new-field' ? `new ${c.new_type}`
    : c.kind === 'missing-field' ? `missing (was ${c.old_type ?? '?'})`
      : `${c.old_type ?? '?'} → ${c.new_type}`;
  return `${c.path}: ${what}${c.example === null ? '' : ` ${JSON.stringify(c.example)}`}`;
}

/**
 * The section as a table that fits 80 columns: when, provider, the change (path, kind, old → new
 * type, example, in changeText's words; shortened with … when long), share, action. CSV carries
 * every column apart too (source, path, kind, old_type, new_type, example, answers, ...).
 */
export function schemaTable(rows: SchemaChangeRow[]): {
  title: string; headers: string[]; rows: string[][]; numeric: boolean[]; shrink: number; csvExtra: { headers: string[]; rows: string[][] };
} {
  return {
    title: `Schema changes in the providers' answers (newest first, at most ${MAX_SCHEMA_ROWS})`,
    headers: ['when (UTC)', 'provider', 'change', 'share', 'action'],
    numeric: [false, false, false, true, false],
    shrink: 2,
    rows: rows.map((r) => [r.detected_at.slice(0, 16).replace('T', ' '), r.provider, changeText(r), percent(r.share), r.action]),
    csvExtra: {
      headers: ['source', 'path', 'kind', 'old_type', 'new_type', 'example', 'answers', 'field_class', 'run', 'detected_at'],
      rows: rows.map((r) => [r.source, r.path, r.kind, r.old_type ?? '', r.new_type, r.example ?? '', String(r.answers), r.field_class, r.run, r.detected_at]),
    },
  };
}

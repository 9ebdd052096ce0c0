// What price_changes must hold, computed by DuckDB from `movies` and `runs` alone with a window
// query (no code of the collector's): for each provider, day and film seen that day, every poll
// of the provider that day in run order, with the film present or not; a row wherever presence,
// price (the film's lowest in the poll) or title (that row's) differs from the poll before it
// that day, or the film is present in the day's first poll.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { query } from './duckdb.js';

const glob = (root: string, t: string) => `read_parquet('${root}/${t}/**/*.parquet', hive_partitioning = true, union_by_name = true)`;

/** The rows as sorted text lines: run, provider, film_key, title, price_cents, previous_cents. */
export async function expectedChanges(root: string): Promise<string[]> {
  if (!existsSync(path.join(root, 'runs'))) return [];
  const movies = existsSync(path.join(root, 'movies')) ? glob(root, 'movies') : `(SELECT NULL::VARCHAR AS run, NULL::VARCHAR AS provider, NULL::VARCHAR AS film_key, NULL::BIGINT AS price_cents, NULL::VARCHAR AS title WHERE false)`;
  const rows = await query(`
    WITH polls AS (SELECT DISTINCT provider, run, dt FROM ${glob(root, 'runs')}),
    obs AS (SELECT m.provider, m.run, m.film_key, min(m.price_cents) AS price, arg_min(m.title, m.price_cents) AS title
              FROM ${movies} m SEMI JOIN polls p ON p.provider = m.provider AND p.run = m.run GROUP BY ALL),
    films AS (SELECT DISTINCT o.provider, p.dt, o.film_key FROM obs o JOIN polls p USING (provider, run)),
    grid AS (SELECT p.provider, p.dt, p.run, f.film_key, o.price, o.title, o.film_key IS NOT NULL AS present
               FROM polls p JOIN films f USING (provider, dt) LEFT JOIN obs o ON o.provider = p.provider AND o.run = p.run AND o.film_key = f.film_key),
    seq AS (SELECT *, lag(present) OVER w AS was, lag(price) OVER w AS was_price, lag(title) OVER w AS was_title
              FROM grid WINDOW w AS (PARTITION BY provider, dt, film_key ORDER BY run))
    SELECT run, provider, film_key, CASE WHEN present THEN title END AS title, CASE WHEN present THEN price END AS price_cents,
           CASE WHEN coalesce(was, false) THEN was_price END AS previous_cents
      FROM seq
     WHERE (present AND (NOT coalesce(was, false) OR was_price <> price OR was_title IS DISTINCT FROM title)) OR (NOT present AND coalesce(was, false))`);
  return lines(rows);
}

/** price_changes of committed polls (those with runs rows), as a reader globs it from its root. */
export async function storedChanges(root: string): Promise<string[]> {
  if (!existsSync(path.join(root, 'price_changes')) || !existsSync(path.join(root, 'runs'))) return [];
  return lines(await query(`SELECT run, provider, film_key, title, price_cents, previous_cents FROM ${glob(root, 'price_changes')} c
                              SEMI JOIN ${glob(root, 'runs')} r USING (run, provider)`));
}

function lines(rows: Array<Record<string, unknown>>): string[] {
  return rows.map((r) => JSON.stringify([r.run, r.provider, r.film_key, r.title, r.price_cents, r.previous_cents], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort();
}

/** price_changes equals the window query's rows over movies and runs, and is not empty when movies is not. */
export async function assertChangesMatch(root: string, label = ''): Promise<void> {
  const [expected, stored] = [await expectedChanges(root), await storedChanges(root)];
  const [want, have] = [new Set(expected), new Set(stored)];
  const missing = expected.filter((l) => !have.has(l));
  const extra = stored.filter((l) => !want.has(l));
  assert.deepEqual(
    { missing: missing.slice(0, 5), extra: extra.slice(0, 5), counts: [missing.length, extra.length], rows: stored.length },
    { missing: [], extra: [], counts: [0, 0], rows: expected.length },
    `price_changes ${label}`,
  );
}

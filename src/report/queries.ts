// The report's questions, answered by DuckDB over the store's tables read from their roots.
// Only committed polls count (those with runs rows). Current prices are the films in each
// provider's latest answered poll: one whose list call worked and in which no detail call failed
// (`complete`, or `partial` only through rejected answers, which hold no price anyway). A film the
// provider stopped listing is no longer current, and a poll that may miss films (failed detail
// calls) never changes what is current; history and health count every committed poll.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import path from 'node:path';
import { STAGING_DIR, dtOf } from '../store/layout.js';
import { duckdbMemory, removeSpillFolder, spillFolderFor } from '../runtime/duckdb-memory.js';
import { StoreScope } from './scope.js';
import { daysMissingChanges } from '../store/day-files.js';
import { EMPTY_SCHEMA_CHANGES, schemaChangeRow, schemaChangesSql, type SchemaChangeRow } from './schema-section.js';

export interface ReportFilters {
  since: Date;
  provider?: string;
  /** Matches titles (case-insensitive substring) or an exact film_key. */
  film?: string;
}

export interface FilmPrice {
  film_key: string;
  title: string;
  year: number | null;
  /** Price in cents by provider, from each provider's latest answered poll (if it lists the film); exact (BIGINT). */
  prices: Record<string, bigint>;
  /** The poll each price comes from, by provider. */
  as_of: Record<string, PollRef>;
  cheapest: string;
  /** Cents saved against the next cheapest provider; null when only one provider sells it. */
  saving: bigint | null;
  only_on: string | null;
}

/** A committed poll: its run id and when it was taken (the poll's start, UTC). */
export interface PollRef {
  run: string;
  polled_at: Date;
}

/** A provider's latest answered poll (null: it never had one), the basis of its current prices. */
export interface CurrentPoll {
  provider: string;
  run: string | null;
  started_at: Date | null;
}

/** A provider's latest committed poll, whatever its status, with the error it ended on. */
export interface LatestPoll {
  provider: string;
  run: string;
  started_at: Date;
  status: string;
  error: string | null;
}

export interface HistoryRow {
  film_key: string;
  title: string;
  provider: string;
  /** Prices in cents, exact. */
  first: bigint;
  last: bigint;
  min: bigint;
  max: bigint;
  polls: number;
  changes: number;
}

export interface SeriesPoint {
  film_key: string;
  provider: string;
  polled_at: Date;
  price: number;
}

export interface HealthReport {
  polls_per_day: Array<{ dt: string; complete: number; partial: number; failed: number }>;
  completeness: Array<{ provider: string; polls: number; complete_polls: number; listed: number; fetched: number; failed: number; rejected: number; completeness: number }>;
  rejects_by_reason: Array<{ provider: string; reason: string; count: number }>;
  last_complete_poll: Date | null;
  latest_polls: LatestPoll[];
}

/**
 * Runs `read` again when a file it listed was gone when DuckDB opened it: a day compacted, or
 * removed by retention, between the listing and the read. The next listing sees the day's new
 * files; the answer is never made of a mix. Up to 10 tries, 0.1 s apart and growing (an upgrade or
 * `compact` of many days swaps a day every few tenths of a second).
 */
export async function retryingVanishedFiles<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= 10 || !/No such file or directory|No files found/.test(String((err as Error).message))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/** runs when the days read hold no file (dt folders left empty). */
const EMPTY_RUNS = `SELECT NULL::VARCHAR AS run, NULL::VARCHAR AS provider, NULL::VARCHAR AS status, NULL::TIMESTAMPTZ AS started_at, NULL::INTEGER AS listed,
  NULL::INTEGER AS fetched, NULL::INTEGER AS failed, NULL::INTEGER AS rejected, NULL::VARCHAR AS error, NULL::DATE AS dt WHERE false`;

/** What one read of the store covers: the window's days, widened for "latest" answers (see StoreScope). */
export class StoreReader {
  /** The window's first day: price_changes are read from it on (a film's rows never span two days). */
  private windowDay = '';

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly con: DuckDBConnection,
    private readonly spill: string,
  ) {}

  /**
   * Opens the store for answers since `since`; returns null when it holds no committed poll. Only
   * the days the answers need are read, chosen from folder names before any file is opened: the
   * window's days, and, for "latest" answers (each provider's latest answered poll, the last
   * complete poll), as many earlier days as it takes to find them (normally none). A table whose
   * days hold no file reads as an empty view of the same columns, its time column typed like
   * runs.started_at so both stay one type.
   */
  static async open(root: string, since: Date): Promise<StoreReader | null> {
    const scope = new StoreScope(root);
    if (scope.days('runs').length === 0) return null;
    // Bounded: a window too big for the bound spills into the store's _staging, or fails with
    // DuckDB's line, instead of the kernel killing the process (runtime/duckdb-memory.ts).
    const spill = spillFolderFor(path.join(root, STAGING_DIR));
    const instance = await DuckDBInstance.create(':memory:', { threads: '2', ...duckdbMemory(spill), preserve_insertion_order: 'false' });
    const con = await instance.connect();
    const reader = new StoreReader(instance, con, spill);
    try {
      // Time columns are instants (TIMESTAMPTZ); stores written before that hold naive TIMESTAMPs of
      // UTC values, which union_by_name casts to TIMESTAMPTZ in the session's zone: make it UTC, not
      // the process's TZ, so both read as the same instants.
      await con.run("SET TimeZone = 'UTC'");
      const windowStart = dtOf(since);
      let from = windowStart;
      for (;;) {
        await reader.createView('runs', scope.read('runs', from), 'SELECT * FROM %s', EMPTY_RUNS, { materialize: true });
        const providers = scope.providers();
        const [found] = await reader.rows<{ complete: boolean; providers: string[]; answered: string[] }>(
          `SELECT bool_or(status = 'complete') AS complete, list(DISTINCT provider) AS providers,
                  list(DISTINCT provider) FILTER (WHERE status = 'complete' OR (status = 'partial' AND failed = 0)) AS answered FROM runs`,
        );
        const seen = new Set(found?.providers ?? []);
        const answered = new Set(found?.answered ?? []);
        const satisfied = found?.complete === true && [...providers, ...seen].every((p) => seen.has(p) && answered.has(p));
        const earlier = scope.widen(from, windowStart);
        if (satisfied || earlier === null) break;
        from = earlier;
      }
      const [any] = await reader.rows<{ n: number }>('SELECT count(*)::INT AS n FROM runs');
      if (!any || any.n === 0) {
        reader.close();
        return null;
      }
      // Movies: only the days of each provider's latest answered poll (current prices); the
      // window's history comes from price_changes, which hold what changed, not every poll.
      reader.windowDay = windowStart;
      const latestDays = (await reader.rows<{ dt: Date | string }>(`SELECT DISTINCT dt FROM (${latestAnsweredSql('')})`)).map((r) => (r.dt instanceof Date ? dtOf(r.dt) : String(r.dt)));
      await reader.createView('movies', scope.readDays('movies', latestDays), 'SELECT film_key, title, year, provider, price_cents, polled_at, run FROM %s',
        'SELECT NULL::VARCHAR AS film_key, NULL::VARCHAR AS title, NULL::INTEGER AS year, provider, NULL::BIGINT AS price_cents, started_at AS polled_at, run FROM runs WHERE false');
      // Days whose polls lack price_changes (a store no writer of this version has upgraded yet, or
      // polls an older version added): their change points are computed from movies here, as the
      // upgrade would write them, so the report is the same before and after it (at the old cost).
      const missing = new Set(daysMissingChanges(root, windowStart));
      const stored = scope.readDays('price_changes', scope.days('price_changes').filter((d) => d >= windowStart && !missing.has(d)));
      const computed = missing.size > 0 ? scope.readDays('movies', [...missing]) : null;
      const parts = [
        ...(stored ? [`SELECT run, provider, film_key, title, price_cents FROM ${stored}`] : []),
        ...(computed ? [changesFromMoviesSql(computed, [...missing])] : []),
      ];
      await reader.createView('price_changes', parts.length > 0 ? parts.join(' UNION ALL BY NAME ') : null, '%s',
        'SELECT run, provider, NULL::VARCHAR AS film_key, NULL::VARCHAR AS title, NULL::BIGINT AS price_cents FROM runs WHERE false');
      await reader.createView('rejects', scope.read('rejects', windowStart), 'SELECT reason, provider, run, polled_at FROM %s',
        'SELECT NULL::VARCHAR AS reason, provider, run, started_at AS polled_at FROM runs WHERE false');
      // Shape changes (issue 29): absent in a store written before the table existed, or before any change.
      await reader.createView('schema_changes', scope.read('schema_changes', windowStart), 'SELECT * FROM %s', EMPTY_SCHEMA_CHANGES);
      return reader;
    } catch (err) {
      reader.close();
      throw err;
    }
  }

  /**
   * A view over `source` (a read_parquet call), or the `empty` select when it has no file.
   * `materialize`: a table read once instead, for `runs`: small (a row per poll and provider) and
   * read by nearly every query, each of which re-read its files (a 7-day report's queries took
   * about half as long). Every query of the report then sees the same polls, even if one commits meanwhile.
   */
  private async createView(name: string, source: string | null, select: string, empty: string, options: { materialize?: boolean } = {}): Promise<void> {
    const sql = source !== null ? select.replace('%s', () => source) : empty;
    await this.con.run(options.materialize ? `CREATE OR REPLACE TEMP TABLE ${name} AS ${sql}` : `CREATE OR REPLACE VIEW ${name} AS ${sql}`);
  }

  private async rows<T>(sql: string, params?: Record<string, string | number>): Promise<T[]> {
    const reader = await this.con.runAndReadAll(sql, params);
    return reader.getRowObjectsJS() as T[];
  }

  private latestCompleteSql(filters: Pick<ReportFilters, 'provider'>): string {
    return latestAnsweredSql(filters.provider ? 'AND provider = $provider' : '');
  }

  /** Every provider in the store (or the --provider one) with its latest answered poll, if any. */
  async currentPolls(filters: ReportFilters): Promise<CurrentPoll[]> {
    return this.rows<CurrentPoll>(
      `SELECT p.provider, l.run, l.started_at
         FROM (SELECT DISTINCT provider FROM runs ${filters.provider ? 'WHERE provider = $provider' : ''}) p
         LEFT JOIN (${this.latestCompleteSql(filters)}) l USING (provider)
        ORDER BY p.provider`,
      filters.provider ? { provider: filters.provider } : {},
    );
  }

  /**
   * Current prices: the films in each provider's latest answered poll (the lowest if a poll lists
   * one film twice). Only those polls' rows are read: the filter names each run and a span of
   * polled_at (which has statistics), so DuckDB skips the other row groups of a compacted day.
   */
  async bestPrices(filters: Pick<ReportFilters, 'provider'>): Promise<FilmPrice[]> {
    const latest = await this.rows<{ provider: string; run: string; started_at: Date }>(this.latestCompleteSql(filters), filters.provider ? { provider: filters.provider } : {});
    if (latest.length === 0) return [];
    const params: Record<string, string> = {};
    const polls = latest.map((l, i) => {
      Object.assign(params, { [`p${i}`]: l.provider, [`r${i}`]: l.run, [`t${i}`]: sqlTimestamp(l.started_at) });
      // polled_at is the poll's start, just before the provider's started_at.
      return `(provider = $p${i} AND run = $r${i} AND polled_at BETWEEN $t${i}::TIMESTAMPTZ - INTERVAL 1 HOUR AND $t${i}::TIMESTAMPTZ)`;
    });
    const rows = await this.rows<{ film_key: string; title: string; year: number | null; provider: string; price: bigint; run: string; polled_at: Date }>(
      `SELECT film_key, provider, arg_min(title, price_cents) AS title, arg_min(year, price_cents) AS year, min(price_cents) AS price,
              any_value(run) AS run, min(polled_at) AS polled_at
         FROM movies WHERE ${polls.join(' OR ')}
        GROUP BY film_key, provider ORDER BY film_key, provider`,
      params,
    );
    const films = new Map<string, FilmPrice>();
    for (const r of rows) {
      const film = films.get(r.film_key) ?? { film_key: r.film_key, title: r.title, year: r.year, prices: {}, as_of: {}, cheapest: '', saving: null, only_on: null };
      film.prices[r.provider] = BigInt(r.price);
      film.as_of[r.provider] = { run: r.run, polled_at: r.polled_at };
      films.set(r.film_key, film);
    }
    for (const film of films.values()) {
      const ranked = Object.entries(film.prices).sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0].localeCompare(b[0])));
      film.cheapest = ranked[0]?.[0] ?? '';
      film.saving = ranked.length > 1 ? (ranked[1]?.[1] ?? 0n) - (ranked[0]?.[1] ?? 0n) : null;
      film.only_on = ranked.length === 1 ? film.cheapest : null;
    }
    return [...films.values()].sort((a, b) => a.title.localeCompare(b.title) || a.film_key.localeCompare(b.film_key));
  }

  /**
   * The window's stretches of one price: each price_changes row starts one, which lasts until the
   * film's next row of that day or the provider's last poll of the day (rows never span days). Poll
   * numbers `n` count each provider's committed polls in run order; `s` is a stretch's first poll
   * in the window, `e` the poll after its last. Poll times are the run's (its providers' earliest
   * start), one x for every provider of a poll.
   */
  private stretchesSql(filters: Pick<ReportFilters, 'provider'>): string {
    const provider = filters.provider ? 'AND provider = $provider' : '';
    return `polls AS (
         SELECT provider, run, dt, t, row_number() OVER (PARTITION BY provider ORDER BY run) AS n
           FROM (SELECT provider, run, any_value(dt) AS dt, any_value(t) AS t
                   FROM (SELECT *, min(started_at) OVER (PARTITION BY run) AS t FROM runs WHERE dt >= $window_day::DATE)
                  WHERE true ${provider} GROUP BY provider, run)),
       bounds AS (SELECT provider, min(n) FILTER (WHERE t >= $since::TIMESTAMPTZ) AS first_n FROM polls GROUP BY provider),
       day_end AS (SELECT provider, dt, max(n) AS last_n FROM polls GROUP BY provider, dt),
       points AS (SELECT c.provider, c.film_key, c.title, c.price_cents AS price, p.n, p.dt
                    FROM price_changes c JOIN polls p ON p.provider = c.provider AND p.run = c.run),
       spans AS (SELECT points.*, coalesce(lead(n) OVER (PARTITION BY provider, film_key, dt ORDER BY n), d.last_n + 1) AS e
                   FROM points JOIN day_end d USING (provider, dt)),
       stretches AS (SELECT spans.*, greatest(n, b.first_n) AS s FROM spans JOIN bounds b USING (provider)
                      WHERE price IS NOT NULL AND b.first_n IS NOT NULL AND e > b.first_n)`;
  }

  private stretchParams(filters: Pick<ReportFilters, 'since' | 'provider'>): Record<string, string> {
    return { since: sqlTimestamp(filters.since), window_day: this.windowDay, ...(filters.provider ? { provider: filters.provider } : {}) };
  }

  /** Per film and provider in the window: first, last, lowest and highest price, the polls that saw it, and its changes. */
  async history(filters: Pick<ReportFilters, 'since' | 'provider'>): Promise<HistoryRow[]> {
    const rows = await this.rows<Record<string, bigint | string | number>>(
      `WITH ${this.stretchesSql(filters)},
       h AS (SELECT *, lag(price) OVER (PARTITION BY provider, film_key ORDER BY s) AS prev FROM stretches)
       SELECT film_key, provider, arg_max(title, s) AS title,
              arg_min(price, s) AS first, arg_max(price, s) AS last, min(price) AS min, max(price) AS max,
              sum(e - s)::INT AS polls, count(*) FILTER (WHERE prev IS NOT NULL AND prev <> price)::INT AS changes
         FROM h GROUP BY film_key, provider ORDER BY title, film_key, provider`,
      this.stretchParams(filters),
    );
    return rows.map((r) => ({
      film_key: String(r.film_key), title: String(r.title), provider: String(r.provider),
      first: BigInt(r.first ?? 0), last: BigInt(r.last ?? 0), min: BigInt(r.min ?? 0), max: BigInt(r.max ?? 0), polls: Number(r.polls), changes: Number(r.changes),
    }));
  }

  /**
   * The points a chart line needs: both ends of every stretch of one price (stretches of the same
   * price one after another are one), so the line drawn is the one every poll would draw; then at
   * most MAX_POINTS_PER_LINE per line.
   */
  async series(filters: Pick<ReportFilters, 'since' | 'provider'>): Promise<SeriesPoint[]> {
    const points: SeriesPoint[] = [];
    for await (const film of this.seriesByFilm(filters)) points.push(...film);
    return points;
  }

  /**
   * The same points, one film at a time (streamed from DuckDB in film order): a catalogue's charts
   * are made film by film without holding every point at once.
   */
  async *seriesByFilm(filters: Pick<ReportFilters, 'since' | 'provider'>): AsyncGenerator<SeriesPoint[]> {
    const params = this.stretchParams(filters);
    const result = await this.con.stream(
      `WITH ${this.stretchesSql(filters)}
       SELECT x.film_key, x.provider, x.price, a.t AS start, b.t AS "end"
         FROM stretches x JOIN polls a ON a.provider = x.provider AND a.n = x.s JOIN polls b ON b.provider = x.provider AND b.n = x.e - 1
        ORDER BY x.film_key, x.provider, x.s`,
      params,
    );
    let film: string | null = null;
    let lines = new Map<string, SeriesPoint[]>();
    const finish = () => [...lines.values()].flatMap((line) => downsample(line, MAX_POINTS_PER_LINE));
    for await (const chunk of result.yieldRowObjectJs()) {
      for (const row of chunk) {
        const r = row as { film_key: string; provider: string; price: bigint; start: Date; end: Date };
        if (r.film_key !== film) {
          if (film !== null) yield finish();
          film = r.film_key;
          lines = new Map();
        }
        const line = lines.get(r.provider) ?? [];
        const price = Number(r.price);
        const last = line.at(-1);
        if (last && last.price === price) {
          // The same price goes on: one stretch, whose end moves (or, from one point, gets one).
          if (line.at(-2)?.price === price) last.polled_at = r.end;
          else line.push({ film_key: r.film_key, provider: r.provider, polled_at: r.end, price });
        } else {
          line.push({ film_key: r.film_key, provider: r.provider, polled_at: r.start, price });
          // A one-poll stretch has both ends at one time: one point.
          if (r.end.getTime() !== r.start.getTime()) line.push({ film_key: r.film_key, provider: r.provider, polled_at: r.end, price });
        }
        lines.set(r.provider, line);
      }
    }
    if (film !== null) yield finish();
  }

  async health(filters: ReportFilters): Promise<HealthReport> {
    const providerWhere = filters.provider ? 'AND provider = $provider' : '';
    const params: Record<string, string> = { since: sqlTimestamp(filters.since), ...(filters.provider ? { provider: filters.provider } : {}) };
    const polls = await this.rows<{ dt: Date; complete: number; partial: number; failed: number }>(
      `WITH polls AS (
         SELECT run, any_value(dt) AS dt, min(started_at) AS started,
                CASE WHEN bool_and(status = 'complete') THEN 'complete' WHEN bool_and(status = 'failed') THEN 'failed' ELSE 'partial' END AS status
           FROM runs WHERE true ${providerWhere} GROUP BY run)
       SELECT dt, count(*) FILTER (WHERE status = 'complete')::INT AS complete, count(*) FILTER (WHERE status = 'partial')::INT AS partial,
              count(*) FILTER (WHERE status = 'failed')::INT AS failed
         FROM polls WHERE started >= $since::TIMESTAMPTZ GROUP BY dt ORDER BY dt`,
      params,
    );
    const completeness = await this.rows<HealthReport['completeness'][number]>(
      `SELECT provider, count(*)::INT AS polls, count(*) FILTER (WHERE status = 'complete')::INT AS complete_polls,
              sum(listed)::INT AS listed, sum(fetched)::INT AS fetched, sum(failed)::INT AS failed, sum(rejected)::INT AS rejected,
              round(CASE WHEN sum(listed) = 0 THEN 0 ELSE greatest(sum(fetched) - sum(rejected), 0)::DOUBLE / sum(listed) END, 4) AS completeness
         FROM runs WHERE started_at >= $since::TIMESTAMPTZ ${providerWhere} GROUP BY provider ORDER BY provider`,
      params,
    );
    const rejects = await this.rows<{ provider: string; reason: string; count: number }>(
      `SELECT j.provider, split_part(j.reason, ':', 1) AS reason, count(*)::INT AS count
         FROM rejects j SEMI JOIN runs r ON r.run = j.run
        WHERE j.polled_at >= $since::TIMESTAMPTZ ${providerWhere.replace('provider', 'j.provider')}
        GROUP BY 1, 2 ORDER BY count DESC, 1, 2`,
      params,
    );
    const [last] = await this.rows<{ at: Date | null }>(
      `SELECT max(started) AS at FROM (SELECT run, min(started_at) AS started FROM runs WHERE true ${providerWhere} GROUP BY run HAVING bool_and(status = 'complete'))`,
      filters.provider ? { provider: filters.provider } : {},
    );
    const latest = await this.rows<LatestPoll>(
      `SELECT provider, run, started_at, status, error FROM runs WHERE true ${providerWhere}
        QUALIFY row_number() OVER (PARTITION BY provider ORDER BY started_at DESC, run DESC) = 1 ORDER BY provider`,
      filters.provider ? { provider: filters.provider } : {},
    );
    return {
      polls_per_day: polls.map((p) => ({ ...p, dt: p.dt.toISOString().slice(0, 10) })),
      completeness,
      rejects_by_reason: rejects,
      last_complete_poll: last?.at ?? null,
      latest_polls: latest,
    };
  }

  /** The window's changes in the shape of the providers' answers (baseline rows excluded), newest first. */
  async schemaChanges(filters: Pick<ReportFilters, 'since' | 'provider'>): Promise<SchemaChangeRow[]> {
    const params: Record<string, string> = { since: sqlTimestamp(filters.since), ...(filters.provider ? { provider: filters.provider } : {}) };
    return (await this.rows<Record<string, unknown>>(schemaChangesSql(filters.provider !== undefined), params)).map(schemaChangeRow);
  }

  close(): void {
    this.con.closeSync();
    this.instance.closeSync();
    removeSpillFolder(this.spill);
  }
}

/**
 * Each provider's latest answered poll (see the top): `runs` rows only, so a --film filter never
 * changes it. Rejects do not disqualify a poll: one film the provider always gets wrong would
 * otherwise hide every price of that provider for as long as it lasts.
 */
function latestAnsweredSql(andWhere: string): string {
  return `SELECT provider, run, started_at, dt FROM runs WHERE (status = 'complete' OR (status = 'partial' AND failed = 0)) ${andWhere}
           QUALIFY row_number() OVER (PARTITION BY provider ORDER BY started_at DESC, run DESC) = 1`;
}

/**
 * price_changes rows of `days` computed from their movies (`movies`, a read_parquet call) and the
 * `runs` view, by the definition in store/price-changes.ts: each provider's polls of a day in run
 * order, a row where a film appears, disappears, or changes price or title.
 */
function changesFromMoviesSql(movies: string, days: string[]): string {
  return `(WITH polls AS (SELECT DISTINCT provider, run, dt FROM runs WHERE dt IN (${days.map((d) => `DATE '${d}'`).join(', ')})),
    obs AS (SELECT m.provider, m.run, m.film_key, min(m.price_cents) AS price, arg_min(m.title, m.price_cents) AS title
              FROM ${movies} m SEMI JOIN polls p ON p.provider = m.provider AND p.run = m.run GROUP BY ALL),
    films AS (SELECT DISTINCT o.provider, p.dt, o.film_key FROM obs o JOIN polls p USING (provider, run)),
    grid AS (SELECT p.provider, p.dt, p.run, f.film_key, o.price, o.title, o.film_key IS NOT NULL AS present
               FROM polls p JOIN films f USING (provider, dt) LEFT JOIN obs o ON o.provider = p.provider AND o.run = p.run AND o.film_key = f.film_key),
    seq AS (SELECT *, lag(present) OVER w AS was, lag(price) OVER w AS was_price, lag(title) OVER w AS was_title
              FROM grid WINDOW w AS (PARTITION BY provider, dt, film_key ORDER BY run))
    SELECT run, provider, film_key, CASE WHEN present THEN title END AS title, CASE WHEN present THEN price END AS price_cents FROM seq
     WHERE (present AND (NOT coalesce(was, false) OR was_price <> price OR was_title IS DISTINCT FROM title)) OR (NOT present AND coalesce(was, false)))`;
}

/** Most points one chart line is sent: more than a chart on a screen can show (a year of 15-minute polls is 35,040). */
export const MAX_POINTS_PER_LINE = 1000;

/**
 * A line's points cut to at most `max`: time is split into max/4 equal buckets and each keeps its
 * first, last, lowest and highest price, so every spike and every step stays visible (the M4
 * method of chart downsampling); the line's first and last points are always kept.
 */
export function downsample(line: SeriesPoint[], max: number): SeriesPoint[] {
  if (line.length <= max) return line;
  const first = line[0]?.polled_at.getTime() ?? 0;
  const span = (line.at(-1)?.polled_at.getTime() ?? first) - first || 1;
  const buckets = Math.max(1, Math.floor(max / 4));
  const keep = new Set<number>();
  let start = 0;
  while (start < line.length) {
    const bucket = Math.min(buckets - 1, Math.floor((((line[start]?.polled_at.getTime() ?? first) - first) / span) * buckets));
    let end = start;
    let lo = start;
    let hi = start;
    while (end + 1 < line.length && Math.min(buckets - 1, Math.floor((((line[end + 1]?.polled_at.getTime() ?? first) - first) / span) * buckets)) === bucket) {
      end++;
      if ((line[end]?.price ?? 0) < (line[lo]?.price ?? 0)) lo = end;
      if ((line[end]?.price ?? 0) > (line[hi]?.price ?? 0)) hi = end;
    }
    for (const i of [start, lo, hi, end]) keep.add(i);
    start = end + 1;
  }
  return [...keep].sort((a, b) => a - b).map((i) => line[i] as SeriesPoint);
}

/** DuckDB TIMESTAMPTZ literal of an instant (ISO 8601 with Z). */
function sqlTimestamp(date: Date): string {
  return date.toISOString();
}

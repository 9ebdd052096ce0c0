// The report's `alerts` section: the alerts table since the window's start (days chosen from
// folder names, as the other sections), newest first, with each alert's delivery state from the
// outbox (the table is append-only; delivery changes after the row is written).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { duckdbMemory } from '../runtime/duckdb-memory.js';
import { ALERTS_TABLE, dtFolders, dtOf } from '../store/layout.js';
import type { Outbox } from './outbox.js';
import type { Alert } from './rules.js';

/** An alert as the table holds it (its kind read back as text), with its delivery status by destination: sent, failed, pending; "unknown" once the outbox no longer holds it. */
export type AlertRow = Omit<Alert, 'kind' | 'destinations'> & { kind: string; delivery: Record<string, string> };

/** Most rows in the section: the newest alerts of the window. */
export const MAX_ALERT_ROWS = 500;

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

export async function alertsSection(root: string, filters: { since: Date; provider?: string; film?: string }, outbox: Pick<Outbox, 'entries'> | null): Promise<AlertRow[]> {
  const tableDir = path.join(root, ALERTS_TABLE);
  if (!existsSync(tableDir)) return [];
  const since = dtOf(filters.since);
  const days = dtFolders(readdirSync(tableDir)).filter((dt) => dt >= since);
  const files = days.flatMap((dt) => readdirSync(path.join(tableDir, `dt=${dt}`)).filter((n) => n.endsWith('.parquet')).map((n) => path.join(tableDir, `dt=${dt}`, n)));
  if (files.length === 0) return [];
  const instance = await DuckDBInstance.create(':memory:', { threads: '1', ...duckdbMemory(null) });
  const con = await instance.connect();
  try {
    await con.run("SET TimeZone = 'UTC'");
    const where = ['created_at >= $since'];
    const params: Record<string, string> = { since: filters.since.toISOString() };
    if (filters.provider !== undefined) {
      where.push('provider = $provider');
      params.provider = filters.provider;
    }
    if (filters.film !== undefined) {
      where.push('(film_key = $film OR contains(lower(title), lower($film)))');
      params.film = filters.film;
    }
    const rows = (await con.runAndReadAll(
      `SELECT created_at, rule, kind, film_key, title, provider, old_value, new_value, message, run, key
         FROM read_parquet([${files.map(quote).join(', ')}], hive_partitioning = true, union_by_name = true)
        WHERE ${where.join(' AND ')} ORDER BY created_at DESC, key LIMIT ${MAX_ALERT_ROWS}`, params,
    )).getRowObjectsJS();
    const byKey = new Map((outbox?.entries ?? []).map((e) => [e.alert.key, e]));
    return rows.map((r) => {
      const entry = byKey.get(String(r.key));
      return {
        created_at: (r.created_at as Date).toISOString(), rule: String(r.rule), kind: String(r.kind),
        film_key: r.film_key === null ? null : String(r.film_key), title: r.title === null ? null : String(r.title), provider: r.provider === null ? null : String(r.provider),
        old_value: r.old_value === null ? null : Number(r.old_value), new_value: r.new_value === null ? null : Number(r.new_value),
        message: String(r.message), run: String(r.run), key: String(r.key),
        delivery: entry ? Object.fromEntries(entry.deliveries.map((d) => [d.destination, d.status])) : {},
      };
    });
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

/** The section as a table: when, what, delivery. */
export function alertsTable(rows: AlertRow[]): { title: string; headers: string[]; rows: string[][]; numeric: boolean[]; shrink: number } {
  return {
    title: `Alerts (newest first, at most ${MAX_ALERT_ROWS})`,
    headers: ['created', 'rule', 'alert', 'delivery'],
    numeric: [false, false, false, false],
    shrink: 2,
    rows: rows.map((r) => [r.created_at.slice(0, 16).replace('T', ' '), r.rule, r.message, Object.entries(r.delivery).map(([d, s]) => `${d} ${s}`).join(', ') || 'unknown']),
  };
}

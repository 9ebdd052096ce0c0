// The `alerts` table of the store: one row per computed alert, written when the alert enters the
// outbox, as `alerts/dt=YYYY-MM-DD/<id>.parquet` (the poll's run id; a health alert without a
// committed poll gets an id of its own), `run` first, like `runs`. Files appear whole (temp in the
// same folder, fsync, rename): DuckDB reads the table from its root like the others. Only polls
// that made alerts write a file. Delivery state lives in the outbox (Parquet is append-only).
import { existsSync, mkdirSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { ALERTS_TABLE, dtOf } from '../store/layout.js';
import { fsync } from '../store/durable.js';
import { ParquetSchema, UTC_MILLIS, writeParquetFile } from '../store/parquet/index.js';
import type { Alert } from './rules.js';

export { ALERTS_TABLE };

const text = { type: 'UTF8', compression: 'SNAPPY', statistics: false };
const optText = { ...text, optional: true };
const optInt64 = { type: 'INT64', optional: true, compression: 'SNAPPY' };

export const ALERTS_SCHEMA = new ParquetSchema({
  run: text,
  key: text,
  rule: text,
  kind: text,
  film_key: optText,
  title: optText,
  provider: optText,
  old_value: optInt64,
  new_value: optInt64,
  message: text,
  created_at: { type: 'TIMESTAMP_MILLIS', compression: 'SNAPPY', logicalType: UTC_MILLIS },
  destinations: { type: 'LIST', optional: true, fields: { list: { repeated: true, fields: { element: { type: 'UTF8', compression: 'SNAPPY', statistics: false } } } } },
} as ConstructorParameters<typeof ParquetSchema>[0]);

const row = (a: Alert): Record<string, unknown> => ({
  run: a.run,
  key: a.key,
  rule: a.rule,
  kind: a.kind,
  film_key: a.film_key,
  title: a.title,
  provider: a.provider,
  old_value: a.old_value === null ? null : BigInt(a.old_value),
  new_value: a.new_value === null ? null : BigInt(a.new_value),
  message: a.message,
  created_at: new Date(a.created_at),
  destinations: a.destinations,
});

/**
 * Writes one batch of alerts (a file named `id`). A file already there is kept: it holds the same
 * alerts (re-evaluated after a crash, same keys). `beforeVisible`: the store lock's fence.
 */
export async function writeAlertsFile(root: string, id: string, alerts: Alert[], beforeVisible?: () => void): Promise<string | null> {
  if (alerts.length === 0) return null;
  const dt = dtOf(new Date(alerts[0]?.created_at ?? Date.now()));
  const folder = path.join(root, ALERTS_TABLE, `dt=${dt}`);
  const target = path.join(folder, `${id}.parquet`);
  if (existsSync(target)) return target;
  mkdirSync(folder, { recursive: true });
  const temp = `${target}.tmp`; // *.tmp: outside every reader's *.parquet glob
  await writeParquetFile(temp, ALERTS_SCHEMA, alerts.map(row));
  beforeVisible?.();
  await rename(temp, target);
  await fsync(folder);
  return target;
}


// The `alerts` table of the store: one row per computed alert, written when the alert enters the
// outbox, as `alerts/dt=YYYY-MM-DD/<id>.parquet` (the poll's run id; a health alert without a
// committed poll gets an id of its own), `run` first, like `runs`; closed days are compacted into
// `compacted-<last id>.parquet` like the poll tables. Files appear whole (temp in the
// same folder, fsync, rename): DuckDB reads the table from its root like the others. Only polls
// that made alerts write a file. Delivery state lives in the outbox (Parquet is append-only).
import { existsSync, mkdirSync } from 'node:fs';
import { readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { ALERTS_TABLE, COMPACTED_PREFIX, dtOf, runIdOfFile } from '../store/layout.js';
import { fsync } from '../store/durable.js';
import { writeParquetFile } from '../store/parquet/index.js';
import { ALERTS_SCHEMA } from '../store/schema.js';
import type { Alert } from './rules.js';

export { ALERTS_SCHEMA, ALERTS_TABLE };

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

/** The day's compacted file that holds batch `id` (its name carries its last id; its rows, the batch's alert keys), if any. */
async function compactedHolding(folder: string, id: string, keys: Set<string>): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return null;
  }
  for (const name of names) {
    const last = name.startsWith(COMPACTED_PREFIX) ? runIdOfFile(name) : null;
    if (last === null || last < id) continue;
    const file = path.join(folder, name);
    // By key, not by `run`: a health alert's batch has an id of its own and rows with run ''.
    const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(file), columns: ['key'] })) as Array<{ key: string }>;
    if (rows.some((r) => keys.has(r.key))) return file;
  }
  return null;
}

/**
 * Writes one batch of alerts (a file named `id`). A batch already there, as its own file or inside
 * the day's compacted file, is kept: it holds the same alerts (re-evaluated after a crash, same
 * keys). `beforeVisible`: the store lock's fence.
 */
export async function writeAlertsFile(root: string, id: string, alerts: Alert[], beforeVisible?: () => void): Promise<string | null> {
  if (alerts.length === 0) return null;
  const dt = dtOf(new Date(alerts[0]?.created_at ?? Date.now()));
  const folder = path.join(root, ALERTS_TABLE, `dt=${dt}`);
  const target = path.join(folder, `${id}.parquet`);
  if (existsSync(target)) return target;
  const compacted = await compactedHolding(folder, id, new Set(alerts.map((a) => a.key)));
  if (compacted !== null) return compacted;
  mkdirSync(folder, { recursive: true });
  const temp = `${target}.tmp`; // *.tmp: outside every reader's *.parquet glob
  await writeParquetFile(temp, ALERTS_SCHEMA, alerts.map(row));
  beforeVisible?.();
  await rename(temp, target);
  await fsync(folder);
  return target;
}


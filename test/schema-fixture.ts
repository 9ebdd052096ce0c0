// A store whose polls recorded shape changes (issue 29's schema_changes table), for the tests of
// where they are seen: polls written through the real commit protocol (store-fixture.ts), their
// schema_changes files with the project's Parquet writer, one closed day compacted for real.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import type { SchemaChangeRecord } from '../src/records/types.js';
import { compactClosedDays } from '../src/store/compaction.js';
import { dtOf, newRunId } from '../src/store/layout.js';
import { writeParquetFile } from '../src/store/parquet/index.js';
import { SCHEMA_CHANGES_SCHEMA, schemaChangeRow } from '../src/store/schema.js';
import { writePoll } from './store-fixture.js';

/** One row; `detected_at` defaults to the poll's start (its run id's time). */
export function change(fields: Partial<SchemaChangeRecord> & Pick<SchemaChangeRecord, 'provider' | 'path' | 'kind' | 'new_type'>): SchemaChangeRecord {
  return {
    source: 'detail', field_class: 'extra', old_type: null, example: null, share: 1, answers: 3, action: 'record', detected_at: new Date(0), ...fields,
  };
}

/** Writes `run`'s rows as the poll's own file (or `file`, e.g. a compacted name) in its day. */
export async function writeSchemaChanges(root: string, run: string, at: Date, rows: SchemaChangeRecord[], file = `${run}.parquet`): Promise<string> {
  const folder = path.join(root, 'schema_changes', `dt=${dtOf(at)}`);
  mkdirSync(folder, { recursive: true });
  const target = path.join(folder, file);
  await writeParquetFile(target, SCHEMA_CHANGES_SCHEMA, rows.map((r) => ({ run, ...schemaChangeRow({ ...r, detected_at: r.detected_at.getTime() === 0 ? at : r.detected_at }) })));
  return target;
}

/** What the drifting store holds, for the assertions. */
export interface DriftStore {
  /** A closed day's polls (compacted): baseline, then cinemaworld's Price turned to text. */
  baselineRun: string;
  priceRun: string;
  /** Today's poll: filmworld gained Genre and lost Rated, and its list entries gained Poster. */
  latestRun: string;
  /** A poll 20 days back: outside the default 7-day window. */
  oldRun: string;
}

const silent = winston.createLogger({ silent: true });
const dayStart = (daysBack: number, hour: number) => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - daysBack, hour, 15, 0, 123));
};

/**
 * Polls 20 and 3 days back (compacted: their days are closed) and one an hour ago, with changes;
 * plus a schema_changes file of a poll that never committed (no runs rows): never shown.
 */
export async function writeDriftStore(root: string, { compact = true } = {}): Promise<DriftStore> {
  const oldAt = dayStart(20, 9);
  const oldRun = await writePoll(root, oldAt, 'complete', 3);
  await writeSchemaChanges(root, oldRun, oldAt, [change({ provider: 'cinemaworld', path: 'Year', kind: 'type-change', field_class: 'mapped', old_type: 'string', new_type: 'number', example: '1977' })]);

  const baseAt = dayStart(3, 10);
  const baselineRun = await writePoll(root, baseAt, 'complete', 3);
  await writeSchemaChanges(root, baselineRun, baseAt, [
    change({ provider: 'cinemaworld', path: 'Price', kind: 'baseline', field_class: 'required', new_type: 'string:numeric', example: '12.5' }),
    change({ provider: 'filmworld', path: 'Rated', kind: 'baseline', field_class: 'mapped', new_type: 'string', example: 'PG' }),
    change({ provider: 'filmworld', source: 'list', path: 'Movies[].ID', kind: 'baseline', field_class: 'required', new_type: 'string', example: 'fw0076759' }),
  ]);
  const priceAt = dayStart(3, 11);
  const priceRun = await writePoll(root, priceAt, 'partial', 3);
  await writeSchemaChanges(root, priceRun, priceAt, [
    change({ provider: 'cinemaworld', path: 'Price', kind: 'type-change', field_class: 'required', old_type: 'string:numeric', new_type: 'string', example: '$12.50', share: 0.5, answers: 4, action: 'reject-record' }),
  ]);
  if (compact) await compactClosedDays({ root, now: new Date(), graceMs: 0, logger: silent });

  const latestAt = new Date(Date.now() - 3600_000);
  const latestRun = await writePoll(root, latestAt, 'complete', 3);
  await writeSchemaChanges(root, latestRun, latestAt, [
    change({ provider: 'filmworld', path: 'Genre', kind: 'new-field', new_type: 'string', example: 'Sci-Fi' }),
    change({ provider: 'filmworld', path: 'Rated', kind: 'missing-field', field_class: 'mapped', old_type: 'string', new_type: 'missing', share: 0.25 }),
    change({ provider: 'filmworld', source: 'list', path: 'Movies[].Poster', kind: 'new-field', new_type: 'string', example: 'https://img.example/p.jpg' }),
    change({ provider: 'newworld', path: 'Title', kind: 'baseline', field_class: 'required', new_type: 'string', example: 'Star Wars' }),
  ]);
  // A poll that wrote its schema_changes and died before its runs rows: not committed.
  const lost = newRunId(new Date(Date.now() - 1800_000));
  await writeSchemaChanges(root, lost, new Date(Date.now() - 1800_000), [change({ provider: 'cinemaworld', path: 'Ghost', kind: 'new-field', new_type: 'string' })]);
  return { baselineRun, priceRun, latestRun, oldRun };
}

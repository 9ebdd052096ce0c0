// Per-poll work that must not grow with the store's age: the folders listed after each poll by the
// compaction check (its settled days), the S3 sink's view of the local store (its index), and the
// report's provider list, counted on a store of 3 days and one of 40 (a counting readdir, synced
// into the ES module bindings). And the alerts table compacted with the closed days: one file per
// day, every row kept, a batch inside a compacted file never written twice.
import assert from 'node:assert/strict';
import fs, { readdirSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import winston from 'winston';
import { writeAlertsFile } from '../src/alerts/table.js';
import type { Alert } from '../src/alerts/rules.js';
import { StoreScope } from '../src/report/scope.js';
import { committedFiles } from '../src/s3/local-index.js';
import { ShipperState } from '../src/s3/shipper.js';
import { compactClosedDays, daysToCompact } from '../src/store/compaction.js';
import { newRunId } from '../src/store/layout.js';
import { query } from './duckdb.js';
import { tempDir } from './helpers.js';
import { writePoll } from './store-fixture.js';

const logger = winston.createLogger({ silent: true });
const NOW = new Date(Date.UTC(2026, 11, 4, 12));

/** A store with one poll on each of `days` days up to NOW's, compacted (closed days settle). */
async function store(t: { after(fn: () => void): void }, days: number): Promise<string> {
  const root = tempDir(t);
  for (let d = days - 1; d >= 0; d--) await writePoll(root, new Date(NOW.getTime() - d * 86_400_000 - 3_600_000), 'complete', 2);
  return root;
}

/** How many folders `run` lists (readdirSync, through the module bindings every src/ file imports). */
function listings(run: () => void): number {
  const original = fs.readdirSync;
  let calls = 0;
  fs.readdirSync = ((...args: Parameters<typeof readdirSync>) => {
    calls++;
    return original(...args);
  }) as typeof readdirSync;
  syncBuiltinESMExports();
  try {
    run();
  } finally {
    fs.readdirSync = original;
    syncBuiltinESMExports();
  }
  return calls;
}

test('after each poll, the compaction check, the S3 sink\'s index and the report\'s provider list list as many folders on a 40-day store as on a 3-day one', async (t) => {
  const [young, old] = [await store(t, 3), await store(t, 40)];
  const costs = (root: string) => {
    const settled = new Set<string>();
    daysToCompact(root, NOW, 0, settled); // the daemon's first check: lists everything once
    const sink = new ShipperState(root);
    sink.refresh();
    return {
      compactionCheck: listings(() => daysToCompact(root, NOW, 0, settled)),
      sinkIndex: listings(() => sink.refresh()),
      providers: listings(() => new StoreScope(root).providers()),
    };
  };
  const [a, b] = [costs(young), costs(old)];
  assert.deepEqual(b, a, `3 days: ${JSON.stringify(a)}; 40 days: ${JSON.stringify(b)}`);
  assert.ok(a.compactionCheck > 0 && a.sinkIndex > 0 && a.providers > 0, 'each lists something (the counter works)');
  // The settled days: the closed ones, but the two newest.
  const settled = new Set<string>();
  daysToCompact(old, NOW, 0, settled);
  assert.equal(settled.size, 37, 'the closed days but the two newest (still written into by a poll across midnight or a retried alert batch)');
});

test('the alerts table is compacted with the closed days: one file per day, every row kept; a batch already in the compacted file is not written again', async (t) => {
  const root = tempDir(t);
  const day = Date.UTC(2026, 10, 20, 8);
  const alert = (run: string, i: number): Alert => ({
    key: `${run}-${i}`, rule: 'drops', kind: 'price-drop', film_key: `f${i}`, title: `Film ${i} ☃`, provider: 'cinemaworld', old_value: 1200 + i, new_value: 990,
    message: `Film ${i} dropped`, run, created_at: new Date(day + i * 60_000).toISOString(), destinations: i % 2 === 0 ? ['hook'] : [],
  });
  const runs = [0, 1, 2].map((i) => newRunId(new Date(day + i * 900_000)));
  for (const [i, run] of runs.entries()) {
    await writePoll(root, new Date(day + i * 900_000), 'complete', 2);
    await writeAlertsFile(root, run, [alert(run, i), alert(run, i + 10)]);
  }
  const folder = path.join(root, 'alerts', 'dt=2026-11-20');
  const read = () => query(`SELECT * FROM read_parquet('${folder}/*.parquet') ORDER BY key`);
  const before = await read();
  assert.equal(readdirSync(folder).length, 3);
  const result = await compactClosedDays({ root, now: NOW, graceMs: 0, logger });
  assert.deepEqual(result.days, ['2026-11-20']);
  assert.deepEqual(readdirSync(folder), [`compacted-${runs[2] ?? ''}.parquet`]);
  assert.deepEqual(await read(), before, 'every alert row, value and type kept');
  // Re-evaluated after a crash, the first poll's batch is found inside the compacted file.
  const again = await writeAlertsFile(root, runs[0] ?? '', [alert(runs[0] ?? '', 0)]);
  assert.equal(again, path.join(folder, `compacted-${runs[2] ?? ''}.parquet`));
  assert.equal(readdirSync(folder).length, 1);
});

test('after compaction, a folder\'s only file keeps its poll name and is still a committed file to ship', async (t) => {
  const root = tempDir(t);
  const [first, second] = [await writePoll(root, new Date(Date.UTC(2026, 10, 20, 8)), 'partial', 2), await writePoll(root, new Date(Date.UTC(2026, 10, 20, 9)), 'partial', 2)];
  const lone = `rejects/dt=2026-11-20/provider=cinemaworld/${second}.parquet`;
  rmSync(path.join(root, `rejects/dt=2026-11-20/provider=cinemaworld/${first}.parquet`)); // a provider with one file that day
  await compactClosedDays({ root, now: NOW, graceMs: 0, logger });
  assert.deepEqual(readdirSync(path.join(root, 'runs/dt=2026-11-20')), [`compacted-${second}.parquet`], 'runs joined the compacted file');
  assert.ok(committedFiles(root).some((f) => f.rel === lone), `${lone} is shipped`);
});

// The alerts table cannot be written (`<store>/alerts` is a file, ENOTDIR): the outbox and the
// rule state still advance together, so a condition is delivered once under one id, not again
// under a new id every poll; once the table can be written, the alert is recorded there.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { startReceiver } from './alerts-receiver.js';
import { query } from './duckdb.js';
import { tempDir } from './helpers.js';

test('a failing alerts-table write neither re-fires the condition nor loses the row: delivered once, recorded later', async (t) => {
  const mock = await startMockProvider({ priceDrift: 0 });
  t.after(() => mock.close());
  const receiver = await startReceiver(t);
  const cwd = tempDir(t);
  const data = path.join(cwd, 'data');
  mkdirSync(data, { recursive: true });
  writeFileSync(path.join(data, 'alerts'), 'not a folder');
  const d = await startDaemon(t, mock, cwd, {
    SCHEDULE_CRON: '*/2 * * * * *', RUN_ON_START: 'always',
    ALERT_RULES: JSON.stringify([{ name: 'hope', type: 'target-price', film: 'A New Hope', price: 29.5 }]),
    ALERT_DESTINATIONS: JSON.stringify([{ name: 'hook', type: 'webhook', url: `${receiver.url}/h` }]),
  });
  await d.waitFor(isMessage(/^alerts could not be computed or recorded/), 30_000);
  await d.waitForCount(pollDone, 4, 30_000);
  await new Promise((r) => setTimeout(r, 1000)); // the last poll's evaluation and delivery
  const keys = receiver.received.map((r) => r.headers['idempotency-key']);
  assert.equal(keys.length, 1, `one condition, one request: ${keys.join(', ')}`);
  rmSync(path.join(data, 'alerts'));
  await d.waitFor(isMessage(/^alerts: computing and recording alerts works again/), 30_000);
  assert.equal(await d.stop(), 0);
  const rows = await query(`SELECT key, kind FROM read_parquet('${data}/alerts/**/*.parquet', hive_partitioning = true)`);
  assert.deepEqual(rows.map((r) => `${String(r.kind)}:${String(r.key)}`), [`target-price:${String(keys[0])}`]);
  assert.equal(receiver.received.length, 1);
});

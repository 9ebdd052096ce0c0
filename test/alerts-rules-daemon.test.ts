// The rules in the real daemon against the simulator: over several polls each rule fires exactly
// once for its condition; polls made partial by a film whose detail call always fails produce no
// price alert from its missing price (no false "cheapest changed", no false drop when it is back).
// Then the rules are edited live: an invalid edit is rejected and logged, the old rules kept.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { startReceiver } from './alerts-receiver.js';
import { query } from './duckdb.js';
import { tempDir } from './helpers.js';

interface Status { alerts: { rules: Array<{ name: string }>; latest: Array<{ rule: string; kind: string; provider: string | null }> } }

test('each rule fires once over several polls; partial polls make no price alert; rules reload live, an invalid edit keeps the old ones', async (t) => {
  const mock = await startMockProvider({ priceDrift: 0 }); // stable prices: every price alert below would be a false one
  t.after(() => mock.close());
  const receiver = await startReceiver(t);
  const cwd = tempDir(t);
  const configFile = path.join(cwd, 'config.json');
  const rules = [
    { name: 'drop', type: 'price-drop', percent: 1 },
    { name: 'cheapest', type: 'cheapest-change' },
    { name: 'lists', type: 'listing' },
    { name: 'part', type: 'partial', polls: 2 },
    { name: 'hope', type: 'target-price', film: 'A New Hope', price: 29.5 },
  ];
  const write = (r: unknown) => writeFileSync(configFile, JSON.stringify({ alerts: { rules: r, destinations: [{ name: 'hook', type: 'webhook', url: `${receiver.url}/h` }] } }));
  write(rules);
  const d = await startDaemon(t, mock, cwd, { CONFIG_FILE: configFile, SCHEDULE_CRON: '*/2 * * * * *', RUN_ON_START: 'always', HTTP_RETRIES: '0' });
  await d.waitForCount(pollDone, 2, 30_000);
  // Episode IV is cheapest at filmworld (29.50 against 123.50): its filmworld detail now fails.
  mock.configure({ failIds: ['fw0076759'] });
  const before = d.count(pollDone);
  await d.waitForCount(pollDone, before + 3, 30_000);
  mock.configure({ failIds: [] });
  const partials = d.lines.filter(pollDone).map((l) => String(l.status));
  assert.ok(partials.filter((s) => s === 'partial').length >= 2, partials.join(', '));
  await d.waitForCount(pollDone, d.count(pollDone) + 2, 30_000);

  // The live edits: invalid first (kept the old rules), then a valid one.
  write([{ name: 'drop', type: 'price-drop' }]);
  await d.waitFor(isMessage(/^config reload rejected/), 10_000);
  const status = async () => (await (await fetch(`http://127.0.0.1:${d.healthPort}/api/status`)).json()) as Status;
  assert.deepEqual((await status()).alerts.rules.map((r) => r.name), rules.map((r) => r.name));
  write([{ name: 'only', type: 'failing' }]);
  await d.waitFor(isMessage(/^config reloaded/), 10_000);
  assert.deepEqual((await status()).alerts.rules.map((r) => r.name), ['only']);
  assert.equal(await d.stop(), 0);

  const rows = await query(`SELECT rule, kind, film_key, provider FROM read_parquet('${d.data}/alerts/**/*.parquet', hive_partitioning = true) ORDER BY created_at`);
  assert.deepEqual(rows.map((r) => `${String(r.rule)}:${String(r.kind)}:${String(r.film_key ?? r.provider)}`), ['hope:target-price:tt0076759', 'part:partial:filmworld'],
    'the target once, the partial provider once; nothing from the missing price');
  assert.equal(receiver.received.length, 2);
});

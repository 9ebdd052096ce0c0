// Schema drift in the real daemon, end to end: the simulator changes shape between two polls; the
// change is detected by the poll, counted in /metrics, listed by /api/report?section=schema,
// alerted once through the outbox (Idempotency-Key, signature), and never again at the next polls.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { pollDone, startDaemon } from './daemon-helpers.js';
import { startReceiver, verifySignature } from './alerts-receiver.js';
import { tempDir } from './helpers.js';
import { SIGNATURE_HEADER } from '../src/alerts/destinations.js';

test('the daemon sees a provider change shape: /metrics counts it, the report lists it, one alert per change, nothing twice', async (t) => {
  const mock = await startMockProvider();
  t.after(() => mock.close());
  const receiver = await startReceiver(t);
  const cwd = tempDir(t);
  const configFile = path.join(cwd, 'config.json');
  const secret = 'sig-Yk2p9Lq7Zx4Wv8Rt';
  writeFileSync(configFile, JSON.stringify({ alerts: {
    rules: [{ name: 'shape', type: 'schema-change', providers: ['cinemaworld'] }],
    destinations: [{ name: 'hook', type: 'webhook', url: `${receiver.url}/h`, secret }],
  } }));
  const d = await startDaemon(t, mock, cwd, { CONFIG_FILE: configFile, SCHEDULE_CRON: '*/2 * * * * *', RUN_ON_START: 'always' });
  await d.waitForCount(pollDone, 2, 30_000);
  mock.configure({ drift: ['new-field', 'null-half'] });
  await d.waitForCount(pollDone, d.count(pollDone) + 3, 30_000);

  const metrics = await (await fetch(`http://127.0.0.1:${d.healthPort}/metrics`)).text();
  for (const provider of ['cinemaworld', 'filmworld']) {
    assert.match(metrics, new RegExp(`collector_schema_changes_total\\{provider="${provider}",kind="new-field"\\} 1\\n`));
    assert.match(metrics, new RegExp(`collector_schema_changes_total\\{provider="${provider}",kind="type-change"\\} 1\\n`));
  }
  const report = (await (await fetch(`http://127.0.0.1:${d.healthPort}/api/report?section=schema`)).json()) as { schema_changes: Array<{ provider: string; path: string; kind: string }> };
  assert.deepEqual(report.schema_changes.map((c) => `${c.provider} ${c.path} ${c.kind}`).sort(), [
    'cinemaworld Currency new-field', 'cinemaworld Rated type-change', 'filmworld Currency new-field', 'filmworld Rated type-change',
  ]);
  // The rule names cinemaworld only: its two changes, once each, signed, with their keys.
  const deadline = Date.now() + 20_000;
  while (receiver.received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await d.stop(), 0);
  const alerts = receiver.received.map((r) => JSON.parse(r.body) as { kind: string; provider: string; title: string });
  assert.deepEqual(alerts.map((a) => `${a.kind} ${a.provider} ${a.title}`).sort(), ['schema-change cinemaworld Currency', 'schema-change cinemaworld Rated']);
  for (const r of receiver.received) {
    assert.ok(verifySignature(secret, r.body, r.headers[SIGNATURE_HEADER] as string | undefined), 'signed with the destination\'s secret');
    assert.ok(r.headers['idempotency-key']);
  }
  assert.equal(new Set(receiver.received.map((r) => r.headers['idempotency-key'])).size, 2);
  const warned = d.lines.filter((l) => l.message.startsWith('schema change: '));
  assert.equal(warned.length, 4, 'one log line per change');
});

// The `schema-change` alert rule (issue 29): one alert per change of the committed poll, drawn
// from its schema_changes file in the store (own file or a compacted day), never from a baseline
// row; the same key when the poll is evaluated again (a restart after a crash between the commit
// and the alerts); delivered like every alert (outbox, Idempotency-Key, signature), recorded in
// the alerts table.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import winston from 'winston';
import type { AlertRule } from '../src/alerts/config.js';
import { readCommittedPoll } from '../src/alerts/read.js';
import { alertsSection } from '../src/alerts/report.js';
import { alertKey, emptyState, evaluate, type Alert, type ObservedSchemaChange, type Observation } from '../src/alerts/rules.js';
import { AlertService } from '../src/alerts/service.js';
import type { Settings } from '../src/config/settings.js';
import { runIdStart } from '../src/store/layout.js';
import { startReceiver, verifySignature } from './alerts-receiver.js';
import { writeDriftStore } from './schema-fixture.js';
import { runCli, tempDir } from './helpers.js';

const RUN = '20261202T101500.000Z-0000abcd';
const observed = (fields: Partial<ObservedSchemaChange> & Pick<ObservedSchemaChange, 'provider' | 'path' | 'kind' | 'new_type'>): ObservedSchemaChange => ({
  source: 'detail', old_type: null, example: null, share: 1, answers: 4, action: 'record', ...fields,
});
const CHANGES = [
  observed({ provider: 'cinemaworld', path: 'Price', kind: 'type-change', old_type: 'string:numeric', new_type: 'string', example: '$12.50', share: 0.5 }),
  observed({ provider: 'filmworld', path: 'Genre', kind: 'new-field', new_type: 'string', example: 'Sci-Fi' }),
  observed({ provider: 'filmworld', source: 'list', path: 'Movies[].ID', kind: 'missing-field', old_type: 'string', new_type: 'missing', share: 0.25, action: 'fail-provider' }),
  observed({ provider: 'filmworld', path: 'Title', kind: 'baseline', new_type: 'string' }),
];
const poll = (schemaChanges: ObservedSchemaChange[], run = RUN): Observation => ({
  run, at: new Date('2026-12-02T10:15:00Z'), polled: true, consecutiveFailures: 0, staleAfterMs: null, prices: [], schemaChanges,
  providers: [{ provider: 'cinemaworld', status: 'complete' }, { provider: 'filmworld', status: 'failed' }],
});
const evaluated = (rules: AlertRule[], obs: Observation) => evaluate(emptyState(), obs, { rules, destinations: ['hook'], defaultFailingPolls: 3 }).alerts;
const subjects = (alerts: Alert[]) => alerts.map((a) => `${a.rule} ${a.provider ?? ''} ${a.title ?? ''}`);

test('schema-change fires once per change (never for a baseline row), keyed by run, provider, source, path, kind and new type; providers and kinds filter', () => {
  const rules: AlertRule[] = [{ name: 'shape', type: 'schema-change' }];
  const alerts = evaluated(rules, poll(CHANGES));
  assert.deepEqual(subjects(alerts), ['shape cinemaworld Price', 'shape filmworld Genre', 'shape filmworld Movies[].ID']);
  const [price] = alerts;
  assert.deepEqual({ ...price, created_at: undefined }, {
    key: alertKey([RUN, 'shape', 'schema-change', null, 'cinemaworld', 'detail', 'Price', 'type-change', 'string']),
    rule: 'shape', kind: 'schema-change', film_key: null, title: 'Price', provider: 'cinemaworld', old_value: null, new_value: null,
    message: 'cinemaworld: type-change at Price (detail answers): string:numeric → string in 50% of 4 answers, e.g. "$12.50"; action record',
    run: RUN, created_at: undefined, destinations: ['hook'],
  });
  assert.equal(alerts[2]?.message, 'filmworld: missing-field at Movies[].ID (list answers): string → missing in 25% of 4 answers; action fail-provider');
  assert.equal(new Set(alerts.map((a) => a.key)).size, 3);

  // Evaluated again from the same state (a restart before the state was saved): the same keys.
  assert.deepEqual(evaluated(rules, poll(CHANGES)).map((a) => a.key), alerts.map((a) => a.key));
  // The same path with another new type, or in another poll, is another alert.
  const retyped = evaluated(rules, poll([{ ...CHANGES[0] as ObservedSchemaChange, new_type: 'number' }]))[0]?.key;
  const later = evaluated(rules, poll([CHANGES[0] as ObservedSchemaChange], '20261202T103000.000Z-0000abcd'))[0]?.key;
  assert.ok(retyped !== undefined && later !== undefined && retyped !== price?.key && later !== price?.key);

  // Filters: providers (a list), provider (one), kinds; no change, no alert; other rule types ignore the changes.
  assert.deepEqual(subjects(evaluated([{ name: 'fw', type: 'schema-change', providers: ['filmworld'] }], poll(CHANGES))), ['fw filmworld Genre', 'fw filmworld Movies[].ID']);
  assert.deepEqual(subjects(evaluated([{ name: 'cw', type: 'schema-change', provider: 'cinemaworld' }], poll(CHANGES))), ['cw cinemaworld Price']);
  assert.deepEqual(subjects(evaluated([{ name: 'k', type: 'schema-change', kinds: ['new-field', 'missing-field'] }], poll(CHANGES))), ['k filmworld Genre', 'k filmworld Movies[].ID']);
  assert.deepEqual(evaluated(rules, poll([CHANGES[3] as ObservedSchemaChange])), []);
  assert.deepEqual(evaluated([{ name: 'lists', type: 'listing' }, { name: 'p', type: 'partial', polls: 1 }], poll(CHANGES)), []);
});

test('a committed poll\'s changes are read from the store: its own file, or its compacted day; baseline rows and other polls\' rows left out', async (t) => {
  const root = tempDir(t);
  const store = await writeDriftStore(root);
  const read = async (run: string) => (await readCommittedPoll(root, run))?.schemaChanges.map((c) => `${c.provider} ${c.source} ${c.path} ${c.kind} ${c.old_type ?? '-'}→${c.new_type}`);
  assert.deepEqual(await read(store.latestRun), [
    'filmworld detail Genre new-field -→string', 'filmworld detail Rated missing-field string→missing', 'filmworld list Movies[].Poster new-field -→string',
  ]);
  assert.deepEqual(await read(store.priceRun), ['cinemaworld detail Price type-change string:numeric→string'], 'from the compacted day');
  assert.deepEqual(await read(store.baselineRun), [], 'baseline rows only: no change');
  const price = (await readCommittedPoll(root, store.priceRun))?.schemaChanges[0];
  assert.deepEqual(price, observed({ provider: 'cinemaworld', path: 'Price', kind: 'type-change', old_type: 'string:numeric', new_type: 'string', example: '$12.50', share: 0.5, action: 'reject-record' }));
});

const SECRET = '9f2c6a0e4b8d1f3a7c5e9b2d4f6a8c0e';

function settingsFor(url: string): Settings {
  return {
    alerts: {
      rules: [{ name: 'shape', type: 'schema-change' }], destinations: [{ name: 'hook', type: 'webhook', url, secret: SECRET }],
      timeoutMs: 5000, maxRetryDelayMs: 1000, outboxDays: 7, maxResponseBytes: 1024,
    },
    health: { maxConsecutiveFailures: 3 },
    store: { retentionDays: 0 },
  } as unknown as Settings;
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a daemon restarted between a commit and its alerts alerts each change of that poll from the store: delivered signed with its Idempotency-Key, recorded; a second restart sends nothing again', async (t) => {
  const root = tempDir(t);
  const store = await writeDriftStore(root);
  const receiver = await startReceiver(t);
  const settings = settingsFor(receiver.url);
  // The rules saw the poll before the latest; the latest was committed, then the process died.
  const stateFile = path.join(root, '_alerts', 'state.json');
  mkdirSync(path.dirname(stateFile), { recursive: true });
  const before = JSON.stringify({ ...emptyState(), lastRun: store.priceRun });
  writeFileSync(stateFile, before);
  const open = async () => {
    const s = await AlertService.open({ root, logger: winston.createLogger({ silent: true }), settings: () => settings, staleAfterMs: () => null });
    t.after(() => s.stop());
    return s;
  };

  const first = await open();
  await first.start(0);
  await until('three deliveries', () => receiver.received.length >= 3);
  const bodies = receiver.received.map((r) => JSON.parse(r.body) as { id: string; kind: string; provider: string; title: string; run: string; message: string; film_key: string | null });
  assert.deepEqual(bodies.map((b) => `${b.kind} ${b.provider} ${b.title} ${b.run}`).sort(), [
    `schema-change filmworld Genre ${store.latestRun}`, `schema-change filmworld Movies[].Poster ${store.latestRun}`, `schema-change filmworld Rated ${store.latestRun}`,
  ]);
  for (const r of receiver.received) {
    assert.equal(r.headers['idempotency-key'], (JSON.parse(r.body) as { id: string }).id);
    assert.ok(verifySignature(SECRET, r.body, r.headers['x-collector-signature'] as string | undefined), 'signed');
  }
  assert.ok(bodies.some((b) => b.message === 'filmworld: missing-field at Rated (detail answers): string → missing in 25% of 3 answers; action record'), bodies.map((b) => b.message).join('\n'));
  // Recorded in the alerts table: provider set, film_key and values null, title the path.
  const since = new Date((runIdStart(store.latestRun) ?? new Date()).getTime() - 60_000);
  const rows = await alertsSection(root, { since }, first.outbox);
  assert.deepEqual(rows.map((r) => `${r.kind} ${r.provider ?? ''} ${r.title ?? ''} ${String(r.film_key)} ${String(r.old_value)} ${r.delivery.hook ?? ''}`).sort(), [
    'schema-change filmworld Genre null null sent', 'schema-change filmworld Movies[].Poster null null sent', 'schema-change filmworld Rated null null sent',
  ]);
  const keys = first.outbox.entries.map((e) => e.alert.key).sort();
  await first.stop();

  // Killed again before the rule state was saved: the same poll is evaluated again from the same state.
  writeFileSync(stateFile, before);
  const second = await open();
  await second.start(0);
  await second.stop();
  assert.deepEqual(second.outbox.entries.map((e) => e.alert.key).sort(), keys, 'the same keys: one outbox entry each');
  assert.equal(receiver.received.length, 3, 'nothing sent twice');
  assert.equal((JSON.parse(readFileSync(stateFile, 'utf8')) as { lastRun: string }).lastRun, store.latestRun);
});

test('check-config takes a schema-change rule with providers and kinds, and `alerts` lists it', async (t) => {
  const cwd = tempDir(t);
  const env = {
    API_TOKEN: 'tok-123456', DATA_DIR: path.join(cwd, 'data'), LOG_DIR: path.join(cwd, 'logs'), ALERT_DESTINATIONS: '[]',
    ALERT_RULES: JSON.stringify([{ name: 'shape', type: 'schema-change', providers: ['cinemaworld', 'filmworld'], kinds: ['type-change', 'missing-field'] }]),
  };
  const checked = await runCli(['check-config'], { cwd, env });
  assert.equal(checked.code, 0, checked.stderr);
  const listed = await runCli(['alerts'], { cwd, env });
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /shape: schema-change providers=\["cinemaworld","filmworld"\] kinds=\["type-change","missing-field"\]/);
});

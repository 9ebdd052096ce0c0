// Delivery against real receivers on 127.0.0.1: 500, 429 with Retry-After, a hang, a reset, a
// redirect, a 10 MB answer and a 404, each delivered later or given up as docs/alerts.md says;
// every attempt of one alert carries the same Idempotency-Key and a signature the receiver checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import winston from 'winston';
import type { AlertDestination, AlertSettings } from '../src/alerts/config.js';
import { Deliverer, backoffMs } from '../src/alerts/delivery.js';
import { SIGNATURE_HEADER } from '../src/alerts/destinations.js';
import { retryAfterMs } from '../src/alerts/send.js';
import { loadConfig } from '../src/config/settings.js';
import { ConfigError } from '../src/runtime/errors.js';
import { Outbox } from '../src/alerts/outbox.js';
import type { Alert } from '../src/alerts/rules.js';
import { startReceiver, verifySignature, type Behaviour } from './alerts-receiver.js';
import { tempDir } from './helpers.js';

const logger = winston.createLogger({ silent: true });
const SECRET = 'whsec-0123456789abcdef';

function alert(key: string): Alert {
  return {
    key, rule: 'drop', kind: 'price-drop', film_key: 'tt0076759', title: 'Star Wars', provider: 'filmworld', old_value: 2999, new_value: 1999,
    message: 'Star Wars: best price 29.99 → 19.99', run: '20261202T100000.000Z-00000001', created_at: new Date().toISOString(), destinations: ['hook'],
  };
}

async function deliverUntilDone(outbox: Outbox, deliverer: Deliverer, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (outbox.pending().length > 0 && Date.now() < deadline) {
    deliverer.kick();
    await deliverer.idle();
    await new Promise((r) => setTimeout(r, 50));
  }
  await deliverer.idle(); // a timer's attempt may still be saving its outcome
}

async function scenario(t: test.TestContext, script: Behaviour[], overrides: Partial<AlertSettings> = {}) {
  const root = tempDir(t);
  const receiver = await startReceiver(t, [...script]);
  const destination: AlertDestination = { name: 'hook', type: 'webhook', url: `${receiver.url}/hook/abc`, secret: SECRET };
  const settings: AlertSettings = { rules: [], destinations: [destination], timeoutMs: 500, maxRetryDelayMs: 100, outboxDays: 7, maxResponseBytes: 65536, ...overrides };
  const outbox = await Outbox.open(root, { logger });
  const deliverer = new Deliverer(outbox, () => settings, logger, null);
  t.after(() => deliverer.stop());
  await outbox.add([alert('k1')], new Date(), 'b');
  await deliverUntilDone(outbox, deliverer);
  const reopened = await Outbox.read(root); // what the file says, as a restart would see it
  return { receiver, delivery: reopened.entries[0]?.deliveries[0], deliverer };
}

for (const [name, script, attempts] of [
  ['a 500 answer', ['error500', 'error500'], 3],
  ['a hung request (per-attempt timeout)', ['hang'], 2],
  ['a reset connection', ['reset'], 2],
  ['a 10 MB answer (read up to the cap)', ['huge'], 1],
] as Array<[string, Behaviour[], number]>) {
  test(`${name}: delivered, every attempt with the same Idempotency-Key and a valid signature`, async (t) => {
    const { receiver, delivery } = await scenario(t, script);
    assert.equal(delivery?.status, 'sent');
    assert.equal(delivery?.attempts, attempts);
    assert.equal(receiver.received.length, attempts);
    const keys = new Set(receiver.received.map((r) => r.headers['idempotency-key']));
    assert.deepEqual([...keys], ['k1']);
    for (const r of receiver.received) {
      assert.ok(verifySignature(SECRET, r.body, r.headers[SIGNATURE_HEADER] as string | undefined), 'signature verifies');
      assert.equal(verifySignature('other-secret', r.body, r.headers[SIGNATURE_HEADER] as string | undefined), false);
      const body = JSON.parse(r.body) as Record<string, unknown>;
      assert.equal(body.schema_version, 1);
      assert.equal(body.id, 'k1');
      assert.equal(body.new_value, 1999);
    }
  });
}

test('429 with Retry-After: the next attempt waits at least that long (capped by alerts.maxRetryDelayMs), then delivers', async (t) => {
  const root = tempDir(t);
  const receiver = await startReceiver(t, ['retry-after']);
  const settings: AlertSettings = { rules: [], destinations: [{ name: 'hook', type: 'webhook', url: `${receiver.url}/h` }], timeoutMs: 2000, maxRetryDelayMs: 5000, outboxDays: 7, maxResponseBytes: 1024 };
  const outbox = await Outbox.open(root, { logger });
  const deliverer = new Deliverer(outbox, () => settings, logger, null);
  t.after(() => deliverer.stop());
  await outbox.add([alert('k2')], new Date(), 'b');
  const before = Date.now();
  deliverer.kick();
  await deliverer.idle();
  const d = outbox.entries[0]?.deliveries[0];
  assert.equal(d?.status, 'pending');
  assert.match(d?.last_error ?? '', /HTTP 429/);
  assert.ok(Date.parse(d?.next_at ?? '') - before >= 1000, 'next attempt scheduled after Retry-After');
  assert.equal(backoffMs(1, 5000, 3_600_000), 5000, 'a long Retry-After is capped');
  await deliverUntilDone(outbox, deliverer);
  assert.equal(d?.status, 'sent');
  assert.equal(receiver.received.length, 2);
});

for (const [name, behaviour, why] of [
  ['a redirect (not followed)', 'redirect', /redirects are not followed/],
  ['a 404', 'not-found', /HTTP 404/],
] as Array<[string, Behaviour, RegExp]>) {
  test(`${name}: given up at once, recorded as failed with the reason`, async (t) => {
    const { receiver, delivery, deliverer } = await scenario(t, [behaviour]);
    assert.equal(delivery?.status, 'failed');
    assert.match(delivery?.last_error ?? '', why);
    assert.deepEqual(receiver.received.map((r) => r.path), ['/hook/abc'], 'one request, the redirect target never asked');
    assert.ok(deliverer.failing.has('hook'), 'the destination shows as failing (degraded)');
  });
}

test('an alert older than alerts.outboxDays is dropped from the outbox, marked failed', async (t) => {
  const root = tempDir(t);
  const outbox = await Outbox.open(root, { logger });
  const old = { ...alert('k3'), created_at: new Date(Date.now() - 3 * 86_400_000).toISOString() };
  await outbox.add([old, alert('k4')], new Date(), 'b');
  assert.equal(outbox.expire(new Date(), 2), 1);
  assert.deepEqual(outbox.entries.map((e) => e.deliveries[0]?.status), ['failed', 'pending']);
  assert.equal((await outbox.add([old], new Date(), 'b')).length, 0, 'a key the outbox holds is not added twice');
  await outbox.idle(); // expire writes in the background: let it finish before the folder is removed
  const reread = await Outbox.read(root);
  assert.deepEqual(reread.entries.map((e) => e.deliveries[0]?.status), ['failed', 'pending'], 'the expiry is on disk');
});

/** A deliverer over `n` alerts (k0 oldest) to one receiver playing `script`; counts outbox writes. */
async function queued(t: test.TestContext, script: Behaviour[], n: number, overrides: Partial<AlertSettings> = {}) {
  const root = tempDir(t);
  const receiver = await startReceiver(t, script);
  const settings: AlertSettings = { rules: [], destinations: [{ name: 'hook', type: 'webhook', url: `${receiver.url}/h` }], timeoutMs: 500, maxRetryDelayMs: 300, outboxDays: 7, maxResponseBytes: 1024, ...overrides };
  const outbox = await Outbox.open(root, { logger });
  await outbox.add(Array.from({ length: n }, (_, i) => alert(`k${i}`)), new Date(), 'b');
  const writes = { count: () => outbox.stats.appends + outbox.stats.rewrites - 1 }; // the add's
  const deliverer = new Deliverer(outbox, () => settings, logger, null);
  t.after(() => deliverer.stop());
  const keys = () => receiver.received.map((r) => r.headers['idempotency-key']);
  return { receiver, outbox, deliverer, writes, keys };
}

test('a destination answering 500 forever: only its oldest alert is tried, at the backoff pace, without rewriting the outbox', async (t) => {
  const { outbox, deliverer, writes, keys } = await queued(t, Array<Behaviour>(1000).fill('error500'), 20);
  const end = Date.now() + 2000;
  while (Date.now() < end) {
    deliverer.kick(); // as every poll's new alerts do
    await deliverer.idle();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(keys().length >= 2 && keys().length <= 9, `${keys().length} attempts in 2 s with retries 300 ms apart`);
  assert.deepEqual(new Set(keys()), new Set(['k0']), 'the newer alerts wait behind the oldest');
  assert.equal(writes.count(), 0, 'failed attempts do not write the outbox');
  assert.equal(outbox.pending().length, 20);
});

test('after a transient failure the alerts still arrive oldest first, one at a time', async (t) => {
  const { outbox, deliverer, keys } = await queued(t, ['error500'], 5);
  await deliverUntilDone(outbox, deliverer);
  assert.deepEqual(keys(), ['k0', 'k0', 'k1', 'k2', 'k3', 'k4']);
});

test('429 with Retry-After pauses the whole destination, not only the alert that got it', async (t) => {
  const { receiver, outbox, deliverer, keys } = await queued(t, ['retry-after'], 3, { maxRetryDelayMs: 5000 });
  deliverer.kick();
  await deliverer.idle();
  deliverer.kick();
  await deliverer.idle();
  assert.deepEqual(keys(), ['k0'], 'no other alert is sent during the pause');
  await deliverUntilDone(outbox, deliverer);
  assert.deepEqual(keys(), ['k0', 'k0', 'k1', 'k2']);
  assert.equal(receiver.received.length, 4);
});

test('Retry-After: whole seconds or an HTTP date; "12.5", "-5" and other numbers are absent, not a date in 2001', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');
  assert.equal(retryAfterMs('120', now), 120_000);
  assert.equal(retryAfterMs('Wed, 02 Dec 2026 10:00:30 GMT', now), 30_000);
  for (const odd of ['12.5', '-5', '1e3', '', 'soon']) assert.equal(retryAfterMs(odd, now), null, odd);
});

test('alerts.timeoutMs and alerts.maxRetryDelayMs beyond what a timer can wait are config errors', (t) => {
  const cwd = tempDir(t);
  const load = (env: Record<string, string>) => () => loadConfig({ env, cwd });
  assert.throws(load({ ALERT_TIMEOUT_MS: String(2 ** 31) }), (err: Error) => err instanceof ConfigError && /alerts\.timeoutMs/.test(err.message) && /600000/.test(err.message));
  assert.throws(load({ ALERT_MAX_RETRY_DELAY_MS: '86400001' }), (err: Error) => err instanceof ConfigError && /alerts\.maxRetryDelayMs/.test(err.message) && /24 hours/.test(err.message));
  const ok = loadConfig({ env: { ALERT_TIMEOUT_MS: '600000', ALERT_MAX_RETRY_DELAY_MS: '86400000' }, cwd }).settings.alerts;
  assert.deepEqual([ok.timeoutMs, ok.maxRetryDelayMs], [600_000, 86_400_000]);
});

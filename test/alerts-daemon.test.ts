// Alerts in the real daemon (`movies-collector start`) against the simulator with drifting prices
// and real receivers on 127.0.0.1: alerts are computed from committed polls, recorded in the
// store's alerts table, delivered with a signature; the destination URL's secret never shows in
// logs, check-config, /api/*, /healthz, /metrics, the page or the store. Then the daemon is
// SIGKILLed at random moments: every computed alert still reaches the receiver, under one key.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { SIGNATURE_HEADER } from '../src/alerts/destinations.js';
import { Outbox } from '../src/alerts/outbox.js';
import { isMessage, pollDone, startDaemon, type DaemonProcess } from './daemon-helpers.js';
import { startReceiver, verifySignature, type Receiver } from './alerts-receiver.js';
import { query } from './duckdb.js';
import { runCli, tempDir } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HOOK_SECRET_PATH = 'hooks/T0SECRET9/B0SECRET7/xoxSecretPathPart42';
const NTFY_TOPIC = 'topic-hush-ab12cd34ef';
const SIGNING = 'signing-key-5f1e9a7c3b';

function alertEnv(receiver: Receiver): Record<string, string> {
  return {
    ALERT_RULES: JSON.stringify([
      { name: 'drop', type: 'price-drop', percent: 1 },
      { name: 'cheapest', type: 'cheapest-change', destinations: ['hook'] },
    ]),
    ALERT_DESTINATIONS: JSON.stringify([
      { name: 'hook', type: 'webhook', url: `${receiver.url}/${HOOK_SECRET_PATH}`, secret: SIGNING },
      { name: 'phone', type: 'ntfy', url: `${receiver.url}/${NTFY_TOPIC}`, tags: ['tv'] },
    ]),
    ALERT_TIMEOUT_MS: '2000',
    ALERT_MAX_RETRY_DELAY_MS: '500',
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

async function get(port: number, p: string): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}${p}`)).text();
}

test('the daemon computes alerts from committed polls, stores them, delivers them signed; the URL secret shows nowhere', async (t) => {
  const mock = await startMockProvider({ priceDrift: 0.3, seed: 7 });
  t.after(() => mock.close());
  const receiver = await startReceiver(t);
  const cwd = tempDir(t);
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: '*/2 * * * * *', RUN_ON_START: 'always', ...alertEnv(receiver) });
  await d.waitFor(isMessage(/^alert delivered to hook/), 30_000);
  await d.waitFor(isMessage(/^alert delivered to phone/), 30_000);

  const hooks = receiver.received.filter((r) => r.path === `/${HOOK_SECRET_PATH}`);
  const ntfy = receiver.received.filter((r) => r.path === `/${NTFY_TOPIC}`);
  assert.ok(hooks.length > 0 && ntfy.length > 0);
  for (const r of hooks) {
    assert.ok(verifySignature(SIGNING, r.body, r.headers[SIGNATURE_HEADER] as string | undefined), 'the receiver verifies the signature');
    const body = JSON.parse(r.body) as { schema_version: number; id: string; kind: string; run: string };
    assert.equal(body.schema_version, 1);
    assert.equal(r.headers['idempotency-key'], body.id);
    assert.ok(['price-drop', 'cheapest-change'].includes(body.kind));
  }
  assert.equal(ntfy[0]?.headers.tags, 'tv');
  assert.match(ntfy[0]?.body ?? '', /best price/);

  // The page's data, the API, health and metrics.
  const status = JSON.parse(await get(d.healthPort, '/api/status')) as { alerts: { latest: Array<{ kind: string; deliveries: Array<{ status: string }> }>; rules: unknown[] } };
  assert.ok(status.alerts.latest.length > 0);
  assert.equal(status.alerts.rules.length, 2);
  const metrics = await get(d.healthPort, '/metrics');
  assert.match(metrics, /^collector_alerts_sent_total\{destination="hook"\} [1-9]/m);
  const apiAlerts = await get(d.healthPort, '/api/report?section=alerts');
  const section = JSON.parse(apiAlerts) as { alerts: Array<{ kind: string; delivery: Record<string, string> }>; best_prices?: unknown };
  assert.ok(section.alerts.length > 0 && section.best_prices === undefined, 'the alerts section alone');
  const outputs = [JSON.stringify(status), metrics, apiAlerts, await get(d.healthPort, '/healthz'), await get(d.healthPort, '/'), await get(d.healthPort, '/api/report')];
  assert.equal(await d.stop(), 0);
  const reported = await runCli(['report', '--section', 'alerts', '--format', 'json'], { cwd, env: { DATA_DIR: d.data } });
  assert.equal(reported.code, 0, reported.stderr);
  const fromCli = JSON.parse(reported.stdout) as { alerts: Array<{ key: string; delivery: Record<string, string> }> };
  assert.ok(fromCli.alerts.some((a) => a.delivery.hook === 'sent'), 'delivery state from the outbox');
  const table = await runCli(['report', '--section', 'alerts'], { cwd, env: { DATA_DIR: d.data } });
  assert.match(table.stdout, /^Alerts \(newest first/m);
  assert.match(table.stdout, /hook sent/);
  outputs.push(reported.stdout, table.stdout);

  // The alerts table, read as users read the store.
  const rows = await query(`SELECT run, key, rule, kind, old_value, new_value FROM read_parquet('${d.data}/alerts/**/*.parquet', hive_partitioning = true)`);
  assert.ok(rows.length > 0);
  const committed = new Set((await query(`SELECT DISTINCT run FROM read_parquet('${d.data}/runs/**/*.parquet', hive_partitioning = true)`)).map((r) => r.run));
  for (const row of rows) assert.ok(committed.has(row.run), `alert of run ${String(row.run)} comes from a committed poll`);
  const received = new Set(hooks.map((r) => (JSON.parse(r.body) as { id: string }).id));
  assert.ok(rows.filter((r) => received.has(String(r.key))).length > 0, 'received alerts are in the table');

  const check = await runCli(['check-config'], { cwd, env: { API_TOKEN: mock.token, DATA_DIR: d.data, LOG_DIR: path.join(cwd, 'logs'), HEALTH_PORT: '0', ...alertEnv(receiver) } });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /"type": "webhook"/);
  assert.match(check.stdout, /"secret": "\[redacted\]"/);
  outputs.push(check.stdout, check.stderr, d.lines.map((l) => JSON.stringify(l)).join('\n'));
  for (const file of [...filesUnder(d.data), ...filesUnder(path.join(cwd, 'logs'))]) outputs.push(readFileSync(file, 'latin1'));
  for (const secret of ['T0SECRET9', 'xoxSecretPathPart42', NTFY_TOPIC, SIGNING]) {
    assert.ok(!outputs.some((o) => o.includes(secret)), `${secret} appears in no output`);
  }
});

/** Runs the daemon until `ms` passed, then SIGKILLs it. */
async function runThenKill(t: test.TestContext, mock: { url: string; token: string }, cwd: string, receiver: Receiver, ms: number): Promise<DaemonProcess> {
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: '* * * * * *', RUN_ON_START: 'always', ...alertEnv(receiver) });
  await d.waitFor(isMessage(/^daemon started/), 30_000);
  await sleep(ms);
  d.child.kill('SIGKILL');
  await new Promise((r) => d.child.once('exit', r));
  return d;
}

const ROUNDS = Number(process.env.ALERTS_KILL_ROUNDS ?? 20);

test(`SIGKILL at random moments between commit and delivery (${ROUNDS} times): every computed alert is delivered, under one key`, async (t) => {
  const mock = await startMockProvider({ priceDrift: 0.3, seed: 11 });
  t.after(() => mock.close());
  // Some answers slow, so that kills land inside deliveries too.
  const receiver = await startReceiver(t);
  const cwd = tempDir(t);
  for (let i = 0; i < ROUNDS; i++) await runThenKill(t, mock, cwd, receiver, 300 + Math.floor(Math.random() * 2500));
  // A last run that is stopped cleanly once the outbox is empty.
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'never', ...alertEnv(receiver) });
  await d.waitFor(isMessage(/^daemon started/), 30_000);
  for (let i = 0; i < 100; i++) {
    if ((await Outbox.read(d.data)).pending().length === 0) break;
    await sleep(200);
  }
  assert.equal(await d.stop(), 0);
  assert.ok(statSync(path.join(d.data, '_alerts', 'outbox.jsonl')).size > 0);

  const rows = await query(`SELECT run, key, rule, kind, film_key, provider FROM read_parquet('${d.data}/alerts/**/*.parquet', hive_partitioning = true)`);
  assert.ok(rows.length > 0, 'alerts were computed');
  const hookKeys = new Set<string>();
  const keysBySubject = new Map<string, Set<string>>();
  for (const r of receiver.received.filter((x) => x.path === `/${HOOK_SECRET_PATH}`)) {
    const body = JSON.parse(r.body) as { id: string; run: string; rule: string; kind: string; film_key: string | null; provider: string | null };
    hookKeys.add(body.id);
    const subject = `${body.run}|${body.rule}|${body.kind}|${body.film_key ?? ''}|${body.provider ?? ''}`;
    keysBySubject.set(subject, (keysBySubject.get(subject) ?? new Set()).add(body.id));
  }
  const undelivered = rows.filter((r) => !hookKeys.has(String(r.key)));
  assert.deepEqual(undelivered, [], 'every alert in the table reached the webhook');
  for (const [subject, keys] of keysBySubject) assert.equal(keys.size, 1, `${subject} was sent under ${keys.size} keys`);
  t.diagnostic(`${ROUNDS} kills, ${rows.length} alerts computed, ${receiver.received.length} requests received`);
  void pollDone;
});

// The outbox log under SIGKILL: a real daemon is killed at random moments (ALERTS_OUTBOX_KILL_ROUNDS,
// default 24) while alerts are computed and delivered to a receiver that is up, answers 500, or
// resets connections, changing at each round. After each kill the rule state and the outbox are
// readable (a line cut by the kill excepted); at the end every alert of the alerts table reached
// both destinations, none was sent under two keys, no alert delivered is missing from the table,
// and nothing is pending.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { parseLog } from '../src/alerts/outbox-log.js';
import { Outbox } from '../src/alerts/outbox.js';
import { isMessage, pollDone, startDaemon, type DaemonProcess } from './daemon-helpers.js';
import { startReceiver, type Behaviour, type Receiver } from './alerts-receiver.js';
import { query } from './duckdb.js';
import { tempDir } from './helpers.js';

const ROUNDS = Number(process.env.ALERTS_OUTBOX_KILL_ROUNDS ?? 24);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function env(receiver: Receiver, cron: string, runOnStart: string): Record<string, string> {
  return {
    SCHEDULE_CRON: cron, RUN_ON_START: runOnStart, ALERT_TIMEOUT_MS: '1000', ALERT_MAX_RETRY_DELAY_MS: '300',
    ALERT_RULES: JSON.stringify([{ name: 'drop', type: 'price-drop', percent: 1 }, { name: 'cheapest', type: 'cheapest-change' }]),
    ALERT_DESTINATIONS: JSON.stringify([{ name: 'hook', type: 'webhook', url: `${receiver.url}/hook` }, { name: 'phone', type: 'ntfy', url: `${receiver.url}/phone` }]),
  };
}

/** The rule state parses, and the outbox is a log of this format whose every line reads (the last one may be cut). */
function assertReadable(data: string, round: number): void {
  const dir = path.join(data, '_alerts');
  if (!existsSync(dir)) return; // killed before the first alert
  const names = readdirSync(dir);
  assert.deepEqual(names.filter((n) => n.includes('.corrupt-')), [], `round ${round}: nothing set aside`);
  if (names.includes('state.json')) assert.equal((JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as { version: number }).version, 1, `round ${round}: state.json`);
  if (names.includes('outbox.jsonl')) {
    const log = parseLog(readFileSync(path.join(dir, 'outbox.jsonl'), 'utf8'));
    assert.ok(log !== null, `round ${round}: outbox.jsonl has its header`);
    assert.equal(log.badLines, 0, `round ${round}: every whole line of outbox.jsonl reads`);
  }
}

test(`SIGKILL at random moments (${ROUNDS} times) with a receiver sometimes down: the files stay readable, every alert arrives, under one key`, async (t) => {
  const mock = await startMockProvider({ priceDrift: 0.3, seed: 23, movies: 40 });
  t.after(() => mock.close());
  const receiver = await startReceiver(t);
  const cwd = tempDir(t);
  const daemons: DaemonProcess[] = [];
  const modes: Behaviour[] = ['ok', 'error500', 'reset'];
  for (let round = 1; round <= ROUNDS; round++) {
    const mode = modes[Math.floor(Math.random() * modes.length)] ?? 'ok';
    receiver.script.length = 0;
    if (mode !== 'ok') receiver.script.push(...Array<Behaviour>(100_000).fill(mode));
    const d = await startDaemon(t, mock, cwd, env(receiver, '* * * * * *', 'always'));
    daemons.push(d);
    await d.waitFor(isMessage(/^daemon started/), 30_000);
    await sleep(200 + Math.floor(Math.random() * 2800));
    d.child.kill('SIGKILL');
    await new Promise((r) => d.child.once('exit', r));
    assertReadable(d.data, round);
  }

  // The receiver up again, one last poll (it records what a kill left out of the alerts table), then a clean stop once all is delivered.
  receiver.script.length = 0;
  const last = await startDaemon(t, mock, cwd, env(receiver, '0 0 1 1 *', 'always'));
  daemons.push(last);
  const { run } = await last.waitFor(pollDone, 30_000);
  // The poll's line comes before its alerts are evaluated (beside the next poll): wait until the
  // rule state has seen that poll (its alerts are in the outbox by then), then until all are out.
  const evaluated = () => {
    try {
      return (JSON.parse(readFileSync(path.join(last.data, '_alerts', 'state.json'), 'utf8')) as { lastRun?: string }).lastRun === run;
    } catch {
      return false; // not written yet
    }
  };
  for (let i = 0; i < 300; i++) {
    const outbox = await Outbox.read(last.data);
    if (evaluated() && outbox.pending().length === 0 && outbox.unrecorded().size === 0) break;
    await sleep(200);
  }
  assert.ok(evaluated(), `the rules evaluated the last poll (${String(run)})`);
  assert.equal(await last.stop(), 0);
  assertReadable(last.data, ROUNDS + 1);
  const outbox = await Outbox.read(last.data);
  // What to look at when something is left pending: the deliveries, and the last daemon's alert lines.
  const stuck = () => JSON.stringify({
    pending: outbox.pending().slice(0, 5).map(({ entry, delivery }) => ({ key: entry.alert.key, created: entry.alert.created_at, ...delivery })),
    alertLines: last.lines.filter((l) => /alert/.test(l.message)).slice(-12).map((l) => `${String(l.timestamp)} ${l.level} ${l.message}`),
    lastLines: last.lines.slice(-15).map((l) => `${String(l.timestamp)} ${l.level} ${l.message}`),
  }, null, 1);
  assert.equal(outbox.pending().length, 0, `nothing pending: ${stuck()}`);
  assert.equal(outbox.unrecorded().size, 0, 'everything in the alerts table');

  const rows = await query(`SELECT key FROM read_parquet('${last.data}/alerts/**/*.parquet', hive_partitioning = true)`);
  const table = new Set(rows.map((r) => String(r.key)));
  assert.ok(table.size > 0, 'alerts were computed');
  const keysAt = (p: string) => new Set(receiver.received.filter((r) => r.path === p).map((r) => String(r.headers['idempotency-key'])));
  for (const destination of ['/hook', '/phone']) {
    const keys = keysAt(destination);
    assert.deepEqual([...table].filter((k) => !keys.has(k)), [], `every alert of the table reached ${destination}`);
    assert.deepEqual([...keys].filter((k) => !table.has(k)), [], `every alert ${destination} got is in the table`);
  }
  const keysBySubject = new Map<string, Set<string>>();
  for (const r of receiver.received.filter((x) => x.path === '/hook')) {
    const body = JSON.parse(r.body) as { id: string; run: string; rule: string; kind: string; film_key: string | null; provider: string | null };
    assert.equal(r.headers['idempotency-key'], body.id);
    const subject = `${body.run}|${body.rule}|${body.kind}|${body.film_key ?? ''}|${body.provider ?? ''}`;
    keysBySubject.set(subject, (keysBySubject.get(subject) ?? new Set()).add(body.id));
  }
  for (const [subject, keys] of keysBySubject) assert.equal(keys.size, 1, `${subject} was sent under ${keys.size} keys`);
  const warnings = daemons.flatMap((d) => d.lines).filter((l) => /unreadable|outbox is full/.test(l.message));
  assert.deepEqual(warnings, [], 'no file was found unreadable, nothing dropped');
  const sent = receiver.received.length;
  t.diagnostic(`${ROUNDS} kills, ${table.size} alerts computed, ${sent} requests received (${sent - 2 * table.size} repeats or failed answers)`);
});

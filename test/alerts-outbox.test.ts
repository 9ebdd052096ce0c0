// The outbox's file (format 2, `_alerts/outbox.jsonl`): a 0.3 `outbox.json` and `state.json`
// (test/fixtures/alerts-0.3, written by the 0.3 daemon: a webhook `hook` that took every alert, a
// webhook `down` that answered 500) are read and upgraded; a line cut by a crash or an unreadable
// line costs that line only; the bound drops the oldest alerts, finished ones first, logged and
// counted; a delivery writes one line, whatever the backlog.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import winston from 'winston';
import Transport from 'winston-transport';
import type { AlertSettings } from '../src/alerts/config.js';
import { Deliverer } from '../src/alerts/delivery.js';
import { MAX_OUTBOX_BYTES, MAX_OUTBOX_ENTRIES, Outbox, type DropReason } from '../src/alerts/outbox.js';
import { evaluate, type Alert } from '../src/alerts/rules.js';
import { loadState } from '../src/alerts/state.js';
import { startReceiver } from './alerts-receiver.js';
import { tempDir } from './helpers.js';

const FIXTURE = new URL('../../test/fixtures/alerts-0.3', import.meta.url);

function recorder() {
  const lines: Array<{ level: string; message: string }> = [];
  const logger = winston.createLogger({
    transports: [new (class extends Transport {
      override log(info: { level: string; message: string }, next: () => void) {
        lines.push({ level: info.level, message: info.message });
        next();
      }
    })()],
  });
  const drops: Array<[string, DropReason, number]> = [];
  return { lines, logger, owner: { logger, dropped: (d: string, r: DropReason, n: number) => void drops.push([d, r, n]) }, drops };
}

function alert(key: string, destinations: string[], title = 'Star Wars'): Alert {
  return {
    key, rule: 'drop', kind: 'price-drop', film_key: 'tt0076759', title, provider: 'filmworld', old_value: 2999, new_value: 1999,
    message: `${title}: best price 29.99 → 19.99`, run: '20261202T100000.000Z-00000001', created_at: new Date().toISOString(), destinations,
  };
}

const statuses = (o: Pick<Outbox, 'entries'>) => o.entries.map((e) => `${e.alert.key.slice(0, 6)}:${e.deliveries.map((d) => `${d.destination}=${d.status}`).join(',')}${e.unrecorded ? ':unrecorded' : ''}`);

test('a 0.3 outbox.json and state.json: read as they are, the outbox upgraded to outbox.jsonl, its pending alerts delivered under their keys', async (t) => {
  const root = tempDir(t);
  cpSync(FIXTURE, root, { recursive: true });
  const legacy = JSON.parse(readFileSync(path.join(root, '_alerts', 'outbox.json'), 'utf8')) as { entries: Array<{ alert: { key: string }; deliveries: Array<{ destination: string; status: string }> }> };
  const pendingKeys = legacy.entries.filter((e) => e.deliveries.some((d) => d.destination === 'down' && d.status === 'pending')).map((e) => e.alert.key);
  assert.equal(pendingKeys.length, 10);

  const read = await Outbox.read(root); // the report: reads, writes nothing
  assert.equal(read.entries.length, 11);
  assert.ok(existsSync(path.join(root, '_alerts', 'outbox.json')) && !existsSync(path.join(root, '_alerts', 'outbox.jsonl')));

  const { logger, owner, lines } = recorder();
  const outbox = await Outbox.open(root, owner);
  assert.deepEqual(statuses(outbox), statuses(read));
  assert.equal(outbox.unrecorded().size, 1, 'the alert 0.3 had not marked as in the table yet');
  assert.deepEqual(readdirSync(path.join(root, '_alerts')).sort(), ['outbox.jsonl', 'state.json']);
  assert.equal(readFileSync(path.join(root, '_alerts', 'outbox.jsonl'), 'utf8').split('\n')[0], '{"outbox":2}');
  assert.ok(lines.some((l) => /outbox\.json \(format 1\) upgraded/.test(l.message)), JSON.stringify(lines));
  assert.deepEqual(statuses(await Outbox.read(root)), statuses(read), 'the log says what the old file said');

  const receiver = await startReceiver(t);
  const settings: AlertSettings = {
    rules: [], timeoutMs: 2000, maxRetryDelayMs: 100, outboxDays: 3650, maxResponseBytes: 1024,
    destinations: [{ name: 'hook', type: 'webhook', url: `${receiver.url}/hook` }, { name: 'down', type: 'webhook', url: `${receiver.url}/down` }],
  };
  const deliverer = new Deliverer(outbox, () => settings, logger, null);
  t.after(() => deliverer.stop());
  for (let i = 0; i < 100 && outbox.pending().length > 0; i++) {
    deliverer.kick();
    await deliverer.idle();
  }
  assert.deepEqual(receiver.received.map((r) => `${r.path} ${String(r.headers['idempotency-key'])}`), pendingKeys.map((k) => `/down ${k}`), 'the pending ones, oldest first, under their 0.3 keys; nothing sent twice');
  assert.equal((await Outbox.read(root)).pending().length, 0);

  // The rule state as 0.3 wrote it: the next poll compares with its best prices (no new baseline).
  const state = await loadState(root);
  const obs = {
    run: '20261204T160000.000Z-0000abcd', at: new Date('2026-12-04T16:00:00Z'), polled: true, consecutiveFailures: 0, staleAfterMs: null,
    providers: [{ provider: 'cinemaworld', status: 'complete' as const }, { provider: 'filmworld', status: 'complete' as const }],
    prices: [{ film_key: 'tt1000000', title: 'Last Mirror 0', provider: 'filmworld', price_cents: 500 }, { film_key: 'tt1000000', title: 'Last Mirror 0', provider: 'cinemaworld', price_cents: 900 }],
  };
  const { alerts } = evaluate(state, obs, { rules: [{ name: 'drop', type: 'price-drop', percent: 1 }], destinations: ['hook'], defaultFailingPolls: 3 });
  assert.deepEqual(alerts.map((a) => [a.kind, a.old_value, a.new_value]), [['price-drop', state.best.tt1000000, 500]]);
  assert.equal(state.best.tt1000000, 1013);
});

test('a line cut by a crash is skipped without a word; an unreadable line is skipped with a warning and a copy; a file of another format is set aside', async (t) => {
  const root = tempDir(t);
  const file = path.join(root, '_alerts', 'outbox.jsonl');
  const first = recorder();
  const outbox = await Outbox.open(root, first.owner);
  await outbox.add([alert('k1', ['d']), alert('k2', ['d']), alert('k3', ['d'])], new Date(), 'b');
  const head = outbox.oldestPending('d');
  assert.ok(head);
  head.delivery.status = 'sent';
  await outbox.finish(head.entry, head.delivery);
  appendFileSync(file, '{"delivery":{"key":"k2","destination":"d","status":"se'); // SIGKILL inside a write

  const second = recorder();
  const reopened = await Outbox.open(root, second.owner);
  assert.deepEqual(statuses(reopened), ['k1:d=sent:unrecorded', 'k2:d=pending:unrecorded', 'k3:d=pending:unrecorded']);
  assert.deepEqual(second.lines.filter((l) => l.level === 'warn'), []);
  await reopened.recorded([...reopened.entries]);
  await reopened.idle();
  assert.ok(readFileSync(file, 'utf8').endsWith('\n'), 'the next write replaced the cut line');

  const lines = readFileSync(file, 'utf8').split('\n');
  lines.splice(2, 0, '{"add":{"alert":7}}', 'not json');
  writeFileSync(file, lines.join('\n'));
  const third = recorder();
  const again = await Outbox.open(root, third.owner);
  assert.deepEqual(statuses(again), ['k1:d=sent', 'k2:d=pending', 'k3:d=pending']);
  assert.match(third.lines.find((l) => l.level === 'warn')?.message ?? '', /2 unreadable line\(s\) skipped.*a copy of the file is kept as .*outbox\.jsonl\.corrupt-/);
  assert.equal(readdirSync(path.join(root, '_alerts')).filter((n) => n.startsWith('outbox.jsonl.corrupt-')).length, 1);

  writeFileSync(file, '{"outbox":3}\n{"add":{}}\n'); // not this format (a newer one, another file)
  const fourth = recorder();
  const empty = await Outbox.open(root, fourth.owner);
  assert.equal(empty.entries.length, 0);
  assert.match(fourth.lines.find((l) => l.level === 'warn')?.message ?? '', /outbox\.jsonl is unreadable \(not an outbox of format 2\); moved to .*outbox\.jsonl\.corrupt-.*will not be delivered/);
  assert.ok(!existsSync(file), 'moved aside, not overwritten');
});

test(`the bound: past ${MAX_OUTBOX_ENTRIES} alerts the oldest go, finished ones first; those dropped undelivered are logged and counted`, async (t) => {
  const root = tempDir(t);
  const { owner, lines, drops } = recorder();
  const outbox = await Outbox.open(root, owner);
  await outbox.add(Array.from({ length: 100 }, (_, i) => alert(`live${i}`, ['live'])), new Date(), 'b0');
  await outbox.recorded([...outbox.entries]);
  for (let i = 0; i < 50; i++) {
    const head = outbox.oldestPending('live');
    assert.ok(head);
    head.delivery.status = 'sent';
    await outbox.finish(head.entry, head.delivery);
  }
  await outbox.add(Array.from({ length: MAX_OUTBOX_ENTRIES }, (_, i) => alert(`dead${i}`, ['dead'])), new Date(), 'b1');
  assert.equal(outbox.entries.length, MAX_OUTBOX_ENTRIES);
  assert.deepEqual(outbox.entries.slice(0, 2).map((e) => e.alert.key), ['dead0', 'dead1'], 'the 50 delivered, then the 50 oldest undelivered, went');
  assert.deepEqual(drops, [['live', 'outbox_full', 50]]);
  assert.match(lines.find((l) => l.level === 'warn')?.message ?? '', /the outbox is full \(at most 10000 alerts and 16 MiB\): its 50 oldest unfinished alert\(s\) dropped/);
  assert.equal((await Outbox.read(root)).entries.length, MAX_OUTBOX_ENTRIES, 'the file says the same');

  // Bytes: 2,000 alerts of 10 KB each hold 20 MB.
  const big = tempDir(t);
  const second = recorder();
  const heavy = await Outbox.open(big, second.owner);
  await heavy.add(Array.from({ length: 2000 }, (_, i) => alert(`big${i}`, ['dead'], 'x'.repeat(5000))), new Date(), 'b');
  assert.ok(heavy.size().bytes <= MAX_OUTBOX_BYTES && heavy.size().bytes > MAX_OUTBOX_BYTES - 20_000, String(heavy.size().bytes));
  assert.equal(heavy.entries.at(-1)?.alert.key, 'big1999');
  assert.deepEqual(second.drops, [['dead', 'outbox_full', 2000 - heavy.entries.length]]);
});

test('one destination dead: a delivery to the other writes about one line, whatever the backlog (<= 16 KB per delivered alert, flat)', async (t) => {
  const root = tempDir(t);
  const { owner } = recorder();
  const outbox = await Outbox.open(root, owner);
  const perAlert: number[] = [];
  let before = 0;
  for (let i = 1; i <= 1000; i++) {
    await outbox.add([alert(`k${i}`, ['live', 'dead'])], new Date(), `b${i}`);
    await outbox.recorded([...outbox.unrecorded().values()].flat());
    const head = outbox.oldestPending('live');
    assert.ok(head);
    head.delivery.status = 'sent';
    head.delivery.attempts = 1;
    await outbox.finish(head.entry, head.delivery);
    if (i % 500 === 0) {
      perAlert.push((outbox.stats.bytesWritten - before) / 500);
      before = outbox.stats.bytesWritten;
    }
  }
  t.diagnostic(`bytes written per delivered alert, alerts 1-500 and 501-1000 of backlog: ${perAlert.map((b) => Math.round(b)).join(', ')}; file ${readFileSync(path.join(root, '_alerts', 'outbox.jsonl')).length} bytes for ${outbox.entries.length} alerts`);
  assert.equal(outbox.pending().length, 1000);
  for (const b of perAlert) assert.ok(b <= 16 * 1024, `${b} bytes per delivered alert`);
  assert.ok((perAlert[1] ?? 0) < 2 * (perAlert[0] ?? 0), `flat: ${perAlert.join(', ')}`);
});

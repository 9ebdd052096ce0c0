// A destination that never answers (every request hangs) or answers 503: polls go on committing
// on schedule, none is skipped; /healthz says `degraded` (200, not failing) naming the destination;
// /metrics counts failed attempts and pending alerts; the alerts wait in the outbox.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { startReceiver, type Behaviour } from './alerts-receiver.js';
import { tempDir } from './helpers.js';

for (const behaviour of ['hang', 'error500'] as Behaviour[]) {
  test(`a destination that ${behaviour === 'hang' ? 'hangs' : 'answers 500'} on every request: polls unaffected, /healthz degraded, metrics count it`, async (t) => {
    const mock = await startMockProvider({ priceDrift: 0.3, seed: 3 });
    t.after(() => mock.close());
    const receiver = await startReceiver(t, Array<Behaviour>(1000).fill(behaviour));
    const cwd = tempDir(t);
    const d = await startDaemon(t, mock, cwd, {
      SCHEDULE_CRON: '*/2 * * * * *', RUN_ON_START: 'never', ALERT_TIMEOUT_MS: '1500', ALERT_MAX_RETRY_DELAY_MS: '1000',
      ALERT_RULES: JSON.stringify([{ name: 'drop', type: 'price-drop', percent: 1 }]),
      ALERT_DESTINATIONS: JSON.stringify([{ name: 'hook', type: 'webhook', url: `${receiver.url}/dead` }]),
    });
    await d.waitFor(isMessage(/^alert delivery to hook .* failed/), 40_000);
    const polls = d.count(pollDone);
    await d.waitForCount(pollDone, polls + 3, 40_000);
    const statuses = d.lines.filter(pollDone).map((l) => String(l.status));
    assert.ok(statuses.every((s) => s === 'complete'), statuses.join(', '));
    const durations = d.lines.filter(pollDone).map((l) => Number(l.durationMs));
    t.diagnostic(`poll durations with a ${behaviour} destination (ms): ${durations.join(', ')}`);

    const health = await fetch(`http://127.0.0.1:${d.healthPort}/healthz`);
    assert.equal(health.status, 200);
    const h = (await health.json()) as { status: string; degraded: Record<string, string> };
    assert.equal(h.status, 'degraded');
    assert.match(h.degraded.alerts ?? '', /destination hook failing/);
    const metrics = await (await fetch(`http://127.0.0.1:${d.healthPort}/metrics`)).text();
    assert.match(metrics, /^collector_alerts_failed_total\{destination="hook"\} [1-9]/m);
    assert.match(metrics, /^collector_alerts_pending\{destination="hook"\} [1-9]/m);
    assert.match(metrics, /^collector_ticks_skipped_total 0$/m);
    assert.equal(await d.stop(), 0, 'a clean stop even with an attempt in flight');
  });
}

// The alert service between the daemon and the rules: a poll whose run id sorts before the last
// one evaluated (the clock was set back) is evaluated, with a warning, not silently dropped.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import winston from 'winston';
import Transport from 'winston-transport';
import type { Settings } from '../src/config/settings.js';
import { AlertService } from '../src/alerts/service.js';
import { emptyState } from '../src/alerts/rules.js';
import { tempDir } from './helpers.js';

function service(t: test.TestContext, root: string, warnings: string[]) {
  const logger = winston.createLogger({
    transports: [new (class extends Transport {
      override log(info: { level: string; message: string }, next: () => void) {
        if (info.level === 'warn') warnings.push(info.message);
        next();
      }
    })()],
  });
  const settings = {
    alerts: { rules: [{ name: 'fail', type: 'failing', polls: 1 }], destinations: [], timeoutMs: 1000, maxRetryDelayMs: 1000, outboxDays: 7, maxResponseBytes: 1024 },
    health: { maxConsecutiveFailures: 1 },
    store: { retentionDays: 0 },
  } as unknown as Settings;
  return AlertService.open({ root, logger, settings: () => settings, staleAfterMs: () => null }).then((s) => {
    t.after(() => s.stop());
    return s;
  });
}

test('a poll whose run id sorts before the last one evaluated (clock set back) is evaluated, with a warning', async (t) => {
  const root = tempDir(t);
  mkdirSync(path.join(root, '_alerts'), { recursive: true });
  writeFileSync(path.join(root, '_alerts', 'state.json'), JSON.stringify({ ...emptyState(), lastRun: '20261202T120000.000Z-00000001' }));
  const warnings: string[] = [];
  const alerts = await service(t, root, warnings);
  await alerts.afterPoll('20261202T110000.000Z-00000001', 1); // an hour earlier by its id; not in the store (failed)
  assert.deepEqual(alerts.outbox.entries.map((e) => e.alert.kind), ['failing']);
  assert.ok(warnings.some((w) => /clock went back/.test(w)), warnings.join('\n'));
  await alerts.afterPoll('20261202T110000.000Z-00000001', 2); // the same run again: evaluated already
  assert.equal(alerts.outbox.entries.length, 1);
});

test('a corrupt outbox.json or state.json is set aside with a warning naming it, and the service starts empty', async (t) => {
  const root = tempDir(t);
  const dir = path.join(root, '_alerts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'outbox.json'), '{"version":1,"entries":[{"alert"');
  writeFileSync(path.join(dir, 'state.json'), '{"version":7}');
  const warnings: string[] = [];
  const alerts = await service(t, root, warnings);
  assert.equal(alerts.outbox.entries.length, 0);
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings.find((w) => w.includes('outbox.json')) ?? '', /unreadable .*moved to .*outbox\.json\.corrupt-.*will not be delivered/);
  assert.match(warnings.find((w) => w.includes('state.json')) ?? '', /unreadable .*moved to .*state\.json\.corrupt-.*start afresh/);
  const names = readdirSync(dir).sort();
  assert.ok(names.some((n) => n.startsWith('outbox.json.corrupt-')) && names.some((n) => n.startsWith('state.json.corrupt-')), names.join(', '));
  assert.ok(!names.includes('outbox.json') && !names.includes('state.json'));
});

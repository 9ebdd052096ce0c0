// A failed poll committed while the rules did not see it (here: no rules configured for it, as
// after a crash between its commit and its alerts) is evaluated at the next start as what it was,
// a failed poll: the failing condition goes on, no false "recovered".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

test('a missed failed poll evaluated at start continues the failure count: no false "recovered"', async (t) => {
  const dead = { url: 'http://127.0.0.1:9', token: 'token-0123456789abcdef' }; // every provider fails
  const cwd = tempDir(t);
  const env = { SCHEDULE_CRON: '0 0 1 1 *', HTTP_RETRIES: '0' };
  const rules = JSON.stringify([{ name: 'fail', type: 'failing', polls: 1 }]);
  const first = await startDaemon(t, dead, cwd, { ...env, RUN_ON_START: 'always', ALERT_RULES: rules });
  await first.waitFor(isMessage(/^alert: polling is failing/), 30_000);
  assert.equal(await first.stop(), 0);
  const unseen = await startDaemon(t, dead, cwd, { ...env, RUN_ON_START: 'always', ALERT_RULES: '[]' });
  await unseen.waitFor(pollDone, 30_000);
  assert.equal(await unseen.stop(), 0);
  const restart = await startDaemon(t, dead, cwd, { ...env, RUN_ON_START: 'never', ALERT_RULES: rules });
  await restart.waitFor(isMessage(/^alerts: evaluating a committed poll the rules have not seen/), 30_000);
  await restart.waitFor(isMessage(/^daemon started/), 30_000);
  assert.equal(await restart.stop(), 0);
  assert.deepEqual(restart.lines.filter(isMessage(/^alert: /)).map((l) => l.message), []);
});

// The count of failed polls in a row goes on across restarts (SIGKILL): the `failing` rule fires
// at the Nth failed poll in a row wherever the restarts fall, and /api/status and /healthz count
// on from the polls the store holds. It used to start again at 0 with each process, so a daemon
// restarting more often than every `polls` polls never raised `failing` while a provider was down.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

const dead = { url: 'http://127.0.0.1:9', token: 'token-0123456789abcdef' }; // every provider fails
const YEARLY = '0 0 1 1 *';

test('2 failed polls, a SIGKILL, then 1 more: /api/status says 2 at the restart, and "failing" (polls: 3) fires at the 3rd', async (t) => {
  const cwd = tempDir(t);
  const env = { HTTP_RETRIES: '0', ALERT_RULES: JSON.stringify([{ name: 'fail', type: 'failing', polls: 3 }]) };
  const first = await startDaemon(t, dead, cwd, { ...env, SCHEDULE_CRON: '*/2 * * * * *', RUN_ON_START: 'always' });
  await first.waitForCount(pollDone, 2, 30_000);
  await first.stop('SIGKILL');

  const idle = await startDaemon(t, dead, cwd, { ...env, SCHEDULE_CRON: YEARLY, RUN_ON_START: 'never' });
  await idle.waitFor(isMessage(/^daemon started/), 30_000);
  const status = (await (await fetch(`http://127.0.0.1:${idle.healthPort}/api/status`)).json()) as { consecutive_failures: number };
  const health = (await (await fetch(`http://127.0.0.1:${idle.healthPort}/healthz`)).json()) as { consecutiveFailures: number };
  assert.equal(status.consecutive_failures, 2, '/api/status');
  assert.equal(health.consecutiveFailures, 2, '/healthz');
  await idle.stop('SIGKILL');

  const third = await startDaemon(t, dead, cwd, { ...env, SCHEDULE_CRON: YEARLY, RUN_ON_START: 'always' });
  const done = await third.waitFor(pollDone, 30_000);
  const alert = await third.waitFor(isMessage(/^alert: polling is failing/), 30_000);
  assert.match(alert.message, /: 3 failed polls in a row$/);
  assert.equal(alert.run, done.run, 'fired by the first poll after the restart');
  assert.equal(await third.stop(), 0);
});

test('with polls: 2, one failed poll per daemon, each SIGKILLed right after its poll: "failing" fires at the 2nd', async (t) => {
  const cwd = tempDir(t);
  const env = { HTTP_RETRIES: '0', SCHEDULE_CRON: YEARLY, RUN_ON_START: 'always', ALERT_RULES: JSON.stringify([{ name: 'fail', type: 'failing', polls: 2 }]) };
  const first = await startDaemon(t, dead, cwd, env);
  await first.waitFor(pollDone, 30_000);
  await first.stop('SIGKILL'); // maybe before the rules saw the poll: the store still holds it
  const second = await startDaemon(t, dead, cwd, env);
  const done = await second.waitFor(pollDone, 30_000);
  const alert = await second.waitFor(isMessage(/^alert: polling is failing/), 30_000);
  assert.match(alert.message, /: 2 failed polls in a row$/);
  assert.equal(alert.run, done.run);
  assert.equal(await second.stop(), 0);
});

// Schedules and clocks: the real daemon run through both daylight-saving changes of 2026 in
// London under libfaketime (fake wall clock and timers, 600x), and node-cron's per-instant
// matching checked on the real library, so an upgrade that changes either fails here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTask } from 'node-cron';
import { startMockProvider } from '../src/mock/server.js';
import { pollDone, startDaemon, type DaemonProcess } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

/** Debian's libfaketime (package faketime; .ci/run installs it). */
const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
const at = (iso: string) => new Date(iso);

test('node-cron matches both instants of a repeated local time and neither of a skipped one', (t) => {
  const daily = createTask('30 1 * * *', () => undefined, { timezone: 'Europe/London' });
  t.after(() => void daily.destroy());
  // 2026-10-25: 01:30 BST (00:30Z) and 01:30 GMT (01:30Z) are both "01:30" in London.
  assert.equal(daily.match(at('2026-10-25T00:30:00Z')), true);
  assert.equal(daily.match(at('2026-10-25T01:30:00Z')), true);
  // 2026-03-29: clocks go from 01:00 GMT to 02:00 BST; 01:30 does not exist that day.
  assert.equal(daily.match(at('2026-03-29T00:30:00Z')), false);
  assert.equal(daily.match(at('2026-03-29T01:30:00Z')), false);
});

/** The daemon on fake time from `start` (UTC) running `speed` times fast, daily at 01:30 London; returns it once `realMs` have passed. */
async function throughTheNight(t: Parameters<typeof tempDir>[0] & { after(fn: () => unknown): void }, start: string, realMs: number, speed = 600): Promise<DaemonProcess> {
  const mock = await startMockProvider();
  t.after(() => mock.close());
  // Fake time for the daemon only (the simulator answers on real time). Timeouts are fake too:
  // 600x makes 10 s a 17 ms, so they are set long.
  const d = await startDaemon(t, mock, tempDir(t), {
    SCHEDULE_CRON: '30 1 * * *', SCHEDULE_TIMEZONE: 'Europe/London', RUN_ON_START: 'never',
    HTTP_TIMEOUT_MS: '3600000', POLL_DEADLINE_MS: '36000000', SHUTDOWN_GRACE_MS: '3600000', TZ: 'UTC',
    HEALTH_HEADERS_TIMEOUT_MS: '3600000', HEALTH_IDLE_TIMEOUT_MS: '3600000', // the port's own timeouts, 10 s and 5 s, would be 17 and 8 ms
    LD_PRELOAD: FAKETIME_LIB, FAKETIME: `@${start} x${speed}`,
  });
  await new Promise((resolve) => setTimeout(resolve, realMs));
  return d;
}

test('end of DST (2026-10-25, 01:00-02:00 London happens twice): the daily 01:30 job runs once, the daemon goes on', async (t) => {
  // 120x, not 600x: a tick more than 30 s (fake) late is dropped as missed, and on a loaded machine
  // timers fire 50-100 ms (real) late, which 600x turned into a dropped 01:30 (no poll at all).
  const d = await throughTheNight(t, '2026-10-25 00:12:00', 42_000, 120); // fake 00:12Z → about 01:36Z
  const polls = d.lines.filter(pollDone);
  assert.equal(polls.length, 1, JSON.stringify(polls));
  assert.match(String(polls[0]?.run), /^20261025T0(0|1)30/, 'at one of the two 01:30s');
  assert.equal(polls[0]?.nextRun, '2026-10-26T01:30:00.000Z', 'and next at 01:30 the day after');
  assert.equal(await d.stop(), 0);
});

test('start of DST (2026-03-29, 01:30 London does not exist): no double run, the next day is scheduled', async (t) => {
  const d = await throughTheNight(t, '2026-03-29 00:10:00', 15_000);
  assert.ok(d.lines.filter(pollDone).length <= 1);
  const health = await (await fetch(`http://127.0.0.1:${d.healthPort}/healthz`)).json() as { nextRun: string };
  assert.match(health.nextRun, /^2026-03-30T00:30:00/, 'next: 01:30 BST on the 30th');
  assert.equal(await d.stop(), 0);
});

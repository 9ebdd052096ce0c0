// Hostile requests to the daemon's HTTP port (found by an outside tester): request targets that
// are not plain paths, `since` values that Date's parser bends into another day, and
// If-Modified-Since values that are not HTTP-dates or lie in the future.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { parseSince } from '../src/report/params.js';
import { pollDone, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

/** One request with the target exactly as given (fetch would normalise it; node:http sends it as is). */
async function raw(port: number, target: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const req = http.get({ host: '127.0.0.1', port, path: target, headers });
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  let body = '';
  for await (const chunk of res) body += (chunk as Buffer).toString();
  return { status: res.statusCode ?? 0, body };
}

test('since: only durations and ISO dates; "2026-11-01 junk" is refused, a time without a zone is UTC', () => {
  for (const bad of ['2026-11-01 junk', '2026-11-01garbage', '2026-11-01T10', '2026-11-01 10:00 PM', '2026-11-01T10:00+2']) {
    assert.throws(() => parseSince(bad), /expected a duration/, bad);
  }
  assert.equal(parseSince('2026-11-01').toISOString(), '2026-11-01T00:00:00.000Z');
  assert.equal(parseSince('2026-11-01 12:30').toISOString(), '2026-11-01T12:30:00.000Z');
  assert.equal(parseSince('2026-11-01T12:30:15.5+02:00').toISOString(), '2026-11-01T10:30:15.500Z');
});

test('hostile request targets and If-Modified-Since on the live routes: 400/404 with one line, never 500; no 304 for garbage or future dates', async (t) => {
  const mock = await startMockProvider();
  t.after(() => mock.close());
  const d = await startDaemon(t, mock, tempDir(t), { SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'always' });
  await d.waitFor(pollDone);
  const targets: Array<[string, number]> = [['//', 404], ['//api/report', 404], ['///', 404], ['/api/report/', 404], ['//healthz', 404]];
  for (const [target, status] of targets) {
    const r = await raw(d.healthPort, target);
    assert.equal(r.status, status, target);
    assert.equal(r.body.trim().split('\n').length, 1, `${target}: one line`);
  }
  const since = await raw(d.healthPort, '/api/report?since=2026-11-01%20junk');
  assert.equal(since.status, 400);
  assert.match(since.body, /^bad request: parameter "since": expected a duration/);

  const first = await fetch(`http://127.0.0.1:${d.healthPort}/api/report`);
  assert.equal(first.status, 200);
  await first.text();
  const lastModified = first.headers.get('last-modified') ?? '';
  const future = new Date(Date.now() + 365 * 86_400_000).toUTCString();
  for (const [ims, status] of [[lastModified, 304], ['99999', 200], ['garbage', 200], [future, 200]] as const) {
    const r = await raw(d.healthPort, '/api/report', { 'if-modified-since': ims });
    assert.equal(r.status, status, `If-Modified-Since: ${ims}`);
  }
  assert.equal(await d.stop(), 0);
});

test('a burst of distinct windows: at most 4 computations wait behind the running one, the rest get 503 busy with Retry-After; searches compute nothing', async (t) => {
  const mock = await startMockProvider();
  t.after(() => mock.close());
  const d = await startDaemon(t, mock, tempDir(t), { SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'always' });
  await d.waitFor(pollDone);
  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => raw(d.healthPort, `/api/report?since=${i + 1}h`)),
  );
  const statuses = answers.map((a) => a.status);
  assert.equal(statuses.filter((s) => s === 200).length, 5, `one running + 4 waiting are answered: ${statuses.join(',')}`);
  for (const a of answers.filter((x) => x.status !== 200)) {
    assert.equal(a.status, 503);
    assert.match(a.body, /^busy: other reports are being computed/);
  }
  // A search, sort or page is cut from the window's answer: a burst of them is never busy.
  const searches = await Promise.all(Array.from({ length: 12 }, (_, i) => raw(d.healthPort, `/api/report?film=no-such-film-${i}&sort=-price&limit=5`)));
  assert.deepEqual(searches.map((a) => a.status), Array.from({ length: 12 }, () => 200));
  assert.equal((JSON.parse(searches[0]?.body ?? '{}') as { best_prices: unknown[] }).best_prices.length, 0);
  const busy = http.get({ host: '127.0.0.1', port: d.healthPort, path: '/api/report?since=100h' });
  const [res] = (await once(busy, 'response')) as [http.IncomingMessage];
  res.resume();
  assert.equal(res.statusCode, 200, 'once the queue drained, a new filter is computed again');
  assert.equal(await d.stop(), 0);
});

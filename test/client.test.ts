// The provider client's retries over real HTTP against a scripted server: each attempt at a path
// gets the next behaviour in its script, so retry sequences can be pinned exactly.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createProviderClient } from '../src/providers/client.js';
import { startUpstream } from './scripted-upstream.js';

type Step = 'fail' | 'hang' | 'ok';

async function scripted(t: { after(fn: () => unknown): void }, script: Step[]): Promise<{ url: string; attempts: () => number }> {
  let attempts = 0;
  const server = http.createServer((_req, res) => {
    const step = script[Math.min(attempts++, script.length - 1)];
    if (step === 'fail') res.writeHead(500).end('{}');
    else if (step === 'ok') res.writeHead(200, { 'content-type': 'application/json' }).end('{"ID":"x"}');
    // 'hang': never answer
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, attempts: () => attempts };
}

const options = (baseUrl: string) => ({
  baseUrl, token: 'client-test-token', tokenHeader: 'x-access-token', timeoutMs: 400, retries: 2, maxRetryDelayMs: 30_000, maxBodyBytes: 1 << 20, maxListBodyBytes: 1 << 20, concurrency: 2,
});

test('a retry that hangs times out on its own timer and is retried (an earlier attempt\'s timer must not cancel it)', async (t) => {
  const server = await scripted(t, ['fail', 'hang', 'ok']);
  const client = createProviderClient(options(server.url));
  t.after(() => client.close());
  const outcome = await client.get('movie/x', new AbortController().signal);
  assert.deepEqual(outcome, { ok: true, status: 200, body: '{"ID":"x"}', json: { ID: 'x' } });
  assert.equal(server.attempts(), 3);
  assert.equal(client.stats.retries, 2);
  assert.deepEqual(client.stats.responses, { 200: 1, 500: 1, ECONNABORTED: 1 });
});

test('a request that keeps hanging fails as a timeout after every retry, not as "aborted"', async (t) => {
  const server = await scripted(t, ['hang']);
  const client = createProviderClient(options(server.url));
  t.after(() => client.close());
  const outcome = await client.get('movie/x', new AbortController().signal);
  assert.equal(outcome.ok, false);
  assert.ok(!outcome.ok && outcome.cause !== 'aborted' && outcome.reason === 'timed out (http.timeoutMs)', JSON.stringify(outcome));
  assert.equal(server.attempts(), 3);
});

test('the caller\'s abort stops a request and is reported as aborted, without retries', async (t) => {
  const server = await scripted(t, ['hang']);
  const client = createProviderClient({ ...options(server.url), timeoutMs: 10_000 });
  t.after(() => client.close());
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 200);
  const outcome = await client.get('movie/x', stop.signal);
  assert.ok(!outcome.ok && outcome.cause === 'aborted', JSON.stringify(outcome));
  assert.equal(server.attempts(), 1);
});

test('a token that stood where "[redacted]" breaks the JSON: the redacted body comes back as an answer (rejected downstream), not as a failed call', async (t) => {
  const upstream = await startUpstream(() => ({ body: '{"n":234,"s":"\\n"}' })); // the (short) token standing alone: a short secret is never cut out of a longer number
  t.after(() => upstream.close());
  const client = createProviderClient({ ...options(upstream.url), token: '234' });
  t.after(() => client.close());
  const outcome = await client.get('movie/x', new AbortController().signal);
  assert.deepEqual(outcome, { ok: true, status: 200, body: '{"n":[redacted],"s":"\\n"}' });
});

test('Retry-After on a 503 is honoured (the next attempt waits at least that long) and capped by maxRetryDelayMs', { timeout: 120_000 }, async (t) => {
  const times: number[] = [];
  const upstream = await startUpstream(({ path, attempt }) => {
    times.push(performance.now());
    return attempt === 1 ? { status: 503, headers: { 'retry-after': path.endsWith('/long') ? '3600' : '1' }, body: '{}' } : { body: '{"ID":"x"}' };
  });
  t.after(() => upstream.close());
  const client = createProviderClient(options(upstream.url));
  t.after(() => client.close());
  const outcome = await client.get('movie/x', new AbortController().signal);
  assert.deepEqual(outcome, { ok: true, status: 200, body: '{"ID":"x"}', json: { ID: 'x' } });
  // A lower bound only (a loaded machine makes it later, never sooner): the backoff alone would be ~0.2 s.
  assert.ok((times[1] ?? 0) - (times[0] ?? 0) >= 950, `the retry came ${((times[1] ?? 0) - (times[0] ?? 0)).toFixed(0)} ms after the 503`);

  // Retry-After: 3600 would stall the poll for an hour (the test's timeout fails it first) without the cap.
  const capped = createProviderClient({ ...options(upstream.url), maxRetryDelayMs: 50 });
  t.after(() => capped.close());
  assert.equal((await capped.get('movie/long', new AbortController().signal)).ok, true);
});

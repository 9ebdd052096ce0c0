// The failure vocabulary as a table: each way an attempt can end badly, the cause and reason the
// user reads, the key it is counted under (stored in runs), and whether axios-retry tries again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InternalAxiosRequestConfig } from 'axios';
import { ABORTED, answerFailure, AttemptError, BodyTooLarge, failureOf, isTransient, notJson, transportFailure, type AttemptFailure } from '../src/providers/failure.js';

const config = {} as InternalAxiosRequestConfig;
const retried = (failure: AttemptFailure) => isTransient(new AttemptError(failure, config));
const errno = (code: string, message = code) => Object.assign(new Error(message), { code });
const none = { timedOut: false, aborted: false, head: null };

test('answers: 401/403 auth, 3xx redirect (Location named), 429 and 5xx retried, other statuses not', () => {
  const cases: Array<[number, string, boolean]> = [[401, 'auth', false], [403, 'auth', false], [302, 'redirect', false], [404, 'http', false], [429, 'http', true], [500, 'http', true], [503, 'http', true]];
  for (const [status, cause, retry] of cases) {
    const f = answerFailure(status, 'https://elsewhere.example/');
    assert.deepEqual([f.cause, f.key, f.status, retried(f)], [cause, String(status), status, retry], String(status));
  }
  assert.match(answerFailure(301, 'https://elsewhere.example/x').reason, /^HTTP 301: redirect to https:\/\/elsewhere\.example\/x refused/);
  assert.equal(answerFailure(500, undefined).reason, 'HTTP 500');
});

test('undici errors: named as node:http named them, counted under that code, retried unless a certificate', () => {
  const cases: Array<[Error, string, string, boolean]> = [
    [errno('UND_ERR_SOCKET', 'other side closed'), 'network', 'ECONNRESET', true],
    [errno('UND_ERR_CONNECT_TIMEOUT'), 'timeout', 'ETIMEDOUT', true],
    [errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'), 'network', 'ECONNREFUSED', true],
    [errno('ENOTFOUND'), 'network', 'ENOTFOUND', true],
    [errno('DEPTH_ZERO_SELF_SIGNED_CERT'), 'certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT', false],
    [errno('CERT_HAS_EXPIRED'), 'certificate', 'CERT_HAS_EXPIRED', false],
  ];
  for (const [err, cause, key, retry] of cases) {
    const f = transportFailure(err, none);
    assert.deepEqual([f.cause, f.key, f.status, retried(f)], [cause, key, null, retry], key);
  }
  assert.equal(transportFailure(errno('UND_ERR_SOCKET', 'other side closed'), none).reason, 'ECONNRESET: other side closed');
  assert.equal(transportFailure(errno('CERT_HAS_EXPIRED'), none).reason, 'CERT_HAS_EXPIRED: the certificate has expired (TLS certificate refused, not retried)');
});

test('the attempt\'s own timer, the caller\'s abort, the body cap, a cut-off body and a body that is not JSON', () => {
  const socket = errno('UND_ERR_SOCKET');
  const timeout = transportFailure(socket, { ...none, timedOut: true });
  assert.deepEqual([timeout.cause, timeout.key, timeout.reason, retried(timeout)], ['timeout', 'ECONNABORTED', 'timed out (http.timeoutMs)', true]);
  assert.equal(transportFailure(socket, { ...none, aborted: true }), ABORTED);
  assert.equal(retried(ABORTED), false);
  const large = transportFailure(new BodyTooLarge('maxContentLength size of 10 exceeded'), { ...none, head: 200 });
  assert.deepEqual([large.cause, large.key, large.status, retried(large)], ['too-large', 'ERR_BAD_RESPONSE', null, false]);
  const cut = transportFailure(socket, { ...none, head: 200 });
  assert.deepEqual([cut.cause, cut.key, cut.status, retried(cut)], ['cut-off', '200:cut-off', 200, true]);
  assert.equal(cut.reason, 'body cut off: the connection closed before the whole HTTP 200 answer arrived (ECONNRESET)');
  const bad = notJson(200, '{"ID":');
  assert.deepEqual([bad.cause, bad.key, retried(bad)], ['not-json', '200:bad-json', true]);
});

test('errors the adapter did not throw (axios\'s own cancel) are never retried', () => {
  assert.equal(isTransient(Object.assign(new Error('canceled'), { code: 'ERR_CANCELED' })), false);
  assert.deepEqual(failureOf(errno('EWHATEVER', 'odd')), { cause: 'network', status: null, key: 'EWHATEVER', reason: 'EWHATEVER: odd' });
});

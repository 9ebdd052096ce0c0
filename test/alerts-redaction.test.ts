// Destination URLs are secrets, replaced whole wherever they appear, but their pieces are often
// plain words: an ntfy topic "movies-k3v9x2q7" must not hide the word "movies" (a /healthz key)
// from every answer, nor a Discord-style ".../webhooks/<id>/<token>/slack" the word "webhook".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveAlerts, type AlertSettings } from '../src/alerts/config.js';
import { buildRequest } from '../src/alerts/destinations.js';
import type { Alert } from '../src/alerts/rules.js';
import { knownSecrets, redactText, registerSecret } from '../src/runtime/redact.js';

const settings = (urls: string[]): AlertSettings => ({
  rules: [], timeoutMs: 10_000, maxRetryDelayMs: 300_000, outboxDays: 7, maxResponseBytes: 65_536,
  destinations: urls.map((url, i) => ({ name: `d${i}`, type: 'webhook', url })),
});

test('a destination URL is redacted whole and by its key-like parts, never by the plain words in it', () => {
  resolveAlerts(settings(['https://ntfy.sh/movies-k3v9x2q7', 'https://discord.example/api/webhooks/123456789012/Zq8TgK2mVbX4pLr9/slack']), process.cwd());
  const line = '{"lastPoll":{"movies":13},"type":"webhook"} sent to https://ntfy.sh/movies-k3v9x2q7 and token Zq8TgK2mVbX4pLr9, id 123456789012, topic %6Dovies-k3v9x2q7';
  const out = redactText(line, knownSecrets());
  assert.match(out, /"movies":13/, out);
  assert.match(out, /"type":"webhook"/, out);
  for (const secret of ['movies-k3v9x2q7', 'Zq8TgK2mVbX4pLr9', '123456789012', '%6Dovies']) assert.ok(!out.includes(secret), `${secret} in ${out}`);
});

test('an alert built from text that holds a secret (the token echoed into a title) is sent redacted, on every destination kind', () => {
  registerSecret('tok-9f8e7d6c5b4a');
  const alert: Alert = {
    key: 'k1', rule: 'under', kind: 'target-price', film_key: 'id:cinemaworld:tok-9f8e7d6c5b4a', title: 'Film tok-9f8e7d6c5b4a', provider: 'cinemaworld',
    old_value: null, new_value: 999, message: 'Film tok-9f8e7d6c5b4a is at 9.99', run: '20261202T000000.000Z-abcdef12', created_at: '2026-12-02T00:00:00.000Z', destinations: [],
  };
  for (const type of ['webhook', 'ntfy', 'slack'] as const) {
    const request = buildRequest({ name: type, type, url: 'https://receiver.example/hook' }, alert);
    const sent = `${JSON.stringify(request.headers)} ${request.body.toString('utf8')}`;
    assert.ok(!sent.includes('9f8e7d'), `${type}: ${sent}`);
    assert.match(sent, /\[redacted\]/, type);
  }
});

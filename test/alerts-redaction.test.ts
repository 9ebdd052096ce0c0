// Destination URLs are secrets, replaced whole wherever they appear, but their pieces are often
// plain words: an ntfy topic "movies-k3v9x2q7" must not hide the word "movies" (a /healthz key)
// from every answer, nor a Discord-style ".../webhooks/<id>/<token>/slack" the word "webhook".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveAlerts, type AlertSettings } from '../src/alerts/config.js';
import { knownSecrets, redactText } from '../src/runtime/redact.js';

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

// What each kind of destination receives for one alert: a generic JSON webhook (documented body
// with a schema version, HMAC-SHA256 signature header when a secret is set), ntfy (text body,
// Title/Priority/Tags headers) and Slack-compatible incoming webhooks (text + blocks). Every
// request carries the alert's Idempotency-Key, the same on every attempt and after a restart.
import { createHmac } from 'node:crypto';
import { knownSecrets, redactText } from '../runtime/redact.js';
import { VERSION } from '../runtime/version.js';
import type { AlertDestination } from './config.js';
import type { Alert } from './rules.js';

/** Version of the webhook's JSON body; bumped only when a field changes meaning or goes away. */
export const WEBHOOK_SCHEMA_VERSION = 1;
export const SIGNATURE_HEADER = 'x-collector-signature';

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** `sha256=<hex>` of the body under the secret: what a receiver recomputes and compares. */
export function signature(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The webhook's JSON body (docs/alerts.md lists its fields). */
export function webhookBody(alert: Alert): Record<string, unknown> {
  const money = alert.kind === 'price-drop' || alert.kind === 'target-price' || alert.kind === 'cheapest-change';
  return {
    schema_version: WEBHOOK_SCHEMA_VERSION,
    id: alert.key,
    rule: alert.rule,
    kind: alert.kind,
    film_key: alert.film_key,
    title: alert.title,
    provider: alert.provider,
    old_value: alert.old_value,
    new_value: alert.new_value,
    unit: money ? 'cents' : null,
    message: alert.message,
    run: alert.run,
    created_at: alert.created_at,
  };
}

/** A header value outside Latin-1 is refused by node:http: ntfy reads RFC 2047 encoded words. */
function headerText(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

const NTFY_PRIORITY: Record<string, number> = { failing: 5, stale: 4, partial: 3, recovered: 3, 'price-drop': 4, 'target-price': 4, 'schema-change': 4 };

export function buildRequest(destination: AlertDestination, drawn: Alert): OutgoingRequest {
  // Drawn from the store, whose provider text is redacted already; redacted again here, as every output is.
  const redact = (text: string) => redactText(text, knownSecrets());
  const alert = { ...drawn, message: redact(drawn.message), title: drawn.title === null ? null : redact(drawn.title), film_key: drawn.film_key === null ? null : redact(drawn.film_key) };
  const url = destination.url ?? '';
  const common = { 'idempotency-key': alert.key, 'user-agent': `movies-collector/${VERSION}` };
  if (destination.type === 'ntfy') {
    const tags = destination.tags ?? ['movie_camera'];
    return {
      url,
      headers: {
        ...common, 'content-type': 'text/plain; charset=utf-8', title: headerText(`movies-collector: ${alert.kind}${alert.title ? ` (${alert.title})` : ''}`),
        priority: String(destination.priority ?? NTFY_PRIORITY[alert.kind] ?? 3), tags: headerText(tags.join(',')),
      },
      body: Buffer.from(alert.message, 'utf8'),
    };
  }
  if (destination.type === 'slack') {
    const text = `*${alert.kind}* (${alert.rule}): ${alert.message}`;
    const body = { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, { type: 'context', elements: [{ type: 'mrkdwn', text: `run ${alert.run || '-'} · ${alert.created_at}` }] }] };
    return { url, headers: { ...common, 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body), 'utf8') };
  }
  const body = Buffer.from(JSON.stringify(webhookBody(alert)), 'utf8');
  const headers: Record<string, string> = { ...common, 'content-type': 'application/json' };
  if (destination.secret) headers[SIGNATURE_HEADER] = signature(destination.secret, body);
  return { url, headers, body };
}

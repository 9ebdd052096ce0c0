// The `alerts` settings: rules and destinations (lists of objects, checked element by element
// here because convict has no nested schema for arrays), delivery limits, and the secrets they
// carry. Destination URLs and signing secrets are secrets: registered for redaction, shown as
// `https://host/[redacted]`, readable from files (urlFile, secretFile) for Docker secrets.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import convict from 'convict';
import { integerFormat } from '../config/formats.js';
import { ConfigError, errorMessage } from '../runtime/errors.js';
import { MIN_SECRET_FRAGMENT, REDACTED, registerSecret, registerWholeSecret } from '../runtime/redact.js';

export const RULE_TYPES = ['price-drop', 'target-price', 'cheapest-change', 'listing', 'failing', 'stale', 'partial', 'schema-change'] as const;
export type RuleType = (typeof RULE_TYPES)[number];
export const DESTINATION_TYPES = ['webhook', 'ntfy', 'slack'] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];
/** The changes a schema-change rule can be limited to (schema_changes.kind; a baseline is no change). */
export const SCHEMA_CHANGE_KINDS = ['new-field', 'missing-field', 'type-change'] as const;
export type SchemaChangeAlertKind = (typeof SCHEMA_CHANGE_KINDS)[number];

export interface AlertRule {
  name: string;
  type: RuleType;
  /** price-drop: the drop against the previous best price, in percent and/or currency units (either fires). */
  percent?: number;
  amount?: number;
  /** target-price: fires when a price is at or below this (currency units). */
  price?: number;
  /** Films matched by film_key, or by title text (case-insensitive); all films when unset. */
  film?: string;
  /** Only this provider (target-price, listing, partial, schema-change). */
  provider?: string;
  /** schema-change: only these providers (all when unset). */
  providers?: string[];
  /** schema-change: only these kinds of change (all when unset). */
  kinds?: SchemaChangeAlertKind[];
  /** failing, partial: polls in a row (failing defaults to health.maxConsecutiveFailures). */
  polls?: number;
  /** Destination names; all destinations when unset. */
  destinations?: string[];
}

export interface AlertDestination {
  name: string;
  type: DestinationType;
  /** Sensitive: webhook and Slack URLs hold their own secret, an ntfy topic URL is its password. */
  url?: string;
  urlFile?: string;
  /** webhook: HMAC-SHA256 key of the signature header. */
  secret?: string;
  secretFile?: string;
  /** ntfy: priority 1..5 and tags. */
  priority?: number;
  tags?: string[];
}

export interface AlertSettings {
  rules: AlertRule[];
  destinations: AlertDestination[];
  timeoutMs: number;
  maxRetryDelayMs: number;
  outboxDays: number;
  maxResponseBytes: number;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const RULE_KEYS = new Set(['name', 'type', 'percent', 'amount', 'price', 'film', 'provider', 'providers', 'kinds', 'polls', 'destinations']);
const DESTINATION_KEYS = new Set(['name', 'type', 'url', 'urlFile', 'secret', 'secretFile', 'priority', 'tags']);

/** Env values are JSON; a value that is not stays a string, which validation names (never quoting it). */
function parseJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;

function ruleProblem(r: unknown, i: number): string | null {
  if (!isObject(r)) return `rule ${i + 1} is not an object; expected {"name": ..., "type": ...}`;
  const at = `rule ${i + 1}`;
  const unknown = Object.keys(r).filter((k) => !RULE_KEYS.has(k));
  if (unknown.length > 0) return `${at}: unknown key(s) ${unknown.join(', ')}; expected ${[...RULE_KEYS].join(', ')}`;
  if (typeof r.name !== 'string' || !NAME.test(r.name)) return `${at}: "name" must match ${NAME}`;
  if (!RULE_TYPES.includes(r.type as RuleType)) return `${at} (${r.name}): "type" must be one of ${RULE_TYPES.join(', ')}`;
  if (r.type === 'price-drop' && !positive(r.percent) && !positive(r.amount)) return `${at} (${r.name}): a price-drop rule needs "percent" or "amount" above 0`;
  if (r.type === 'target-price' && (!positive(r.price) || typeof r.film !== 'string' || r.film.trim() === '')) return `${at} (${r.name}): a target-price rule needs "price" above 0 and "film" (a film_key or title text)`;
  for (const k of ['percent', 'amount', 'price'] as const) if (r[k] !== undefined && !positive(r[k])) return `${at} (${r.name}): "${k}" must be a number above 0`;
  if (r.polls !== undefined && (!Number.isInteger(r.polls) || (r.polls as number) < 1)) return `${at} (${r.name}): "polls" must be a whole number of at least 1`;
  for (const k of ['film', 'provider'] as const) if (r[k] !== undefined && (typeof r[k] !== 'string' || r[k] === '')) return `${at} (${r.name}): "${k}" must be a non-empty string`;
  const names = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((p) => typeof p === 'string' && p !== '');
  for (const k of ['providers', 'kinds'] as const) if (r[k] !== undefined && r.type !== 'schema-change') return `${at} (${r.name}): "${k}" applies to schema-change rules only`;
  if (r.providers !== undefined && !names(r.providers)) return `${at} (${r.name}): "providers" must be a non-empty list of provider names`;
  if (r.kinds !== undefined && (!names(r.kinds) || !(r.kinds as string[]).every((k) => (SCHEMA_CHANGE_KINDS as readonly string[]).includes(k)))) return `${at} (${r.name}): "kinds" must be a non-empty list of ${SCHEMA_CHANGE_KINDS.join(', ')}`;
  if (r.destinations !== undefined && (!Array.isArray(r.destinations) || !r.destinations.every((d) => typeof d === 'string'))) return `${at} (${r.name}): "destinations" must be a list of destination names`;
  return null;
}

/** Never quotes url or secret values: a problem line may reach a log. */
function destinationProblem(d: unknown, i: number): string | null {
  if (!isObject(d)) return `destination ${i + 1} is not an object; expected {"name": ..., "type": ..., "url": ...}`;
  const at = `destination ${i + 1}`;
  const unknown = Object.keys(d).filter((k) => !DESTINATION_KEYS.has(k));
  if (unknown.length > 0) return `${at}: unknown key(s) ${unknown.map((k) => (k.length > 20 ? `${k.slice(0, 20)}...` : k)).join(', ')}; expected ${[...DESTINATION_KEYS].join(', ')}`;
  if (typeof d.name !== 'string' || !NAME.test(d.name)) return `${at}: "name" must match ${NAME}`;
  if (!DESTINATION_TYPES.includes(d.type as DestinationType)) return `${at} (${d.name}): "type" must be one of ${DESTINATION_TYPES.join(', ')}`;
  if ((d.url === undefined) === (d.urlFile === undefined)) return `${at} (${d.name}): set exactly one of "url" and "urlFile"`;
  if (d.url !== undefined && urlProblem(d.url)) return `${at} (${d.name}): "url" ${urlProblem(d.url)}`;
  for (const k of ['urlFile', 'secret', 'secretFile'] as const) if (d[k] !== undefined && (typeof d[k] !== 'string' || d[k] === '')) return `${at} (${d.name}): "${k}" must be a non-empty string`;
  if (d.secret !== undefined && d.secretFile !== undefined) return `${at} (${d.name}): set at most one of "secret" and "secretFile"`;
  if (d.priority !== undefined && (!Number.isInteger(d.priority) || (d.priority as number) < 1 || (d.priority as number) > 5)) return `${at} (${d.name}): "priority" must be 1 to 5`;
  if (d.tags !== undefined && (!Array.isArray(d.tags) || !d.tags.every((t) => typeof t === 'string'))) return `${at} (${d.name}): "tags" must be a list of strings`;
  return null;
}

function urlProblem(raw: unknown): string | null {
  try {
    const url = new URL(String(raw));
    return url.protocol === 'http:' || url.protocol === 'https:' ? null : 'must be an http: or https: URL';
  } catch {
    return 'is not an absolute http(s) URL (its value is not shown: it is a secret)';
  }
}

/** Bounds of the delays: Node's timers take at most 2^31-1 ms, and a longer one fires at once. */
export const MAX_TIMEOUT_MS = 600_000;
export const MAX_RETRY_DELAY_MS = 86_400_000;

/** A JSON list of named objects, each checked by `problemOf`, names unique. */
function namedListFormat(what: string, problemOf: (item: unknown, i: number) => string | null) {
  return {
    validate(value: unknown) {
      if (!Array.isArray(value)) throw new Error(`expected a JSON list of ${what}s (see docs/alerts.md)`);
      const problems = value.map(problemOf).filter((p): p is string => p !== null);
      const names = value.map((item) => (isObject(item) ? item.name : undefined));
      if (new Set(names).size !== names.length) problems.push(`${what} names must be unique`);
      if (problems.length > 0) throw new Error(problems.join('; '));
    },
    coerce: parseJson,
  };
}

convict.addFormats({
  'alert-timeout-ms': integerFormat('alert-timeout-ms', 1, MAX_TIMEOUT_MS, `a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS} (10 minutes)`),
  'alert-retry-delay-ms': integerFormat('alert-retry-delay-ms', 1, MAX_RETRY_DELAY_MS, `a whole number of milliseconds from 1 to ${MAX_RETRY_DELAY_MS} (24 hours)`),
  'alert-rules': namedListFormat('rule', ruleProblem),
  'alert-destinations': namedListFormat('destination', destinationProblem),
});

/** The convict schema of the `alerts` group (its formats are registered by importing this module). */
export function alertsSchema() {
  return {
    rules: { doc: 'Alert rules (JSON list; see docs/alerts.md).', format: 'alert-rules', default: [] as AlertRule[], env: 'ALERT_RULES' },
    // Sensitive: convict's error for a bad element would otherwise print the whole list, URLs included.
    destinations: { doc: 'Where alerts go: webhook, ntfy, slack (JSON list; URLs and secrets are sensitive).', format: 'alert-destinations', default: [] as AlertDestination[], sensitive: true, env: 'ALERT_DESTINATIONS' },
    timeoutMs: { doc: 'Time limit of one delivery attempt.', format: 'alert-timeout-ms', default: 10000, env: 'ALERT_TIMEOUT_MS' },
    maxRetryDelayMs: { doc: 'Cap on one delay between delivery attempts, Retry-After included.', format: 'alert-retry-delay-ms', default: 300000, env: 'ALERT_MAX_RETRY_DELAY_MS' },
    outboxDays: { doc: 'An alert not delivered within this many days is dropped from the outbox (logged).', format: 'positive-int', default: 7, env: 'ALERT_OUTBOX_DAYS' },
    maxResponseBytes: { doc: 'Most bytes of a destination\'s answer read (the rest is discarded).', format: 'positive-int', default: 65536, env: 'ALERT_MAX_RESPONSE_BYTES' },
  };
}

/**
 * Reads urlFile/secretFile (relative to cwd), checks that every rule routes to known destinations,
 * and registers each URL's secret parts and each secret for redaction. Throws ConfigError.
 */
export function resolveAlerts(alerts: AlertSettings, cwd: string): AlertSettings {
  const problems: string[] = [];
  const read = (file: string, what: string): string | undefined => {
    try {
      const value = readFileSync(path.resolve(cwd, file), 'utf8').trim();
      if (value === '') problems.push(`${what}: "${file}" is empty; expected the value in it`);
      return value;
    } catch (err) {
      problems.push(`${what}: cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}); expected a readable file`);
      return undefined;
    }
  };
  const destinations = alerts.destinations.map((d) => {
    const url = d.urlFile !== undefined ? read(d.urlFile, `alerts.destinations ${d.name} urlFile`) : d.url;
    const secret = d.secretFile !== undefined ? read(d.secretFile, `alerts.destinations ${d.name} secretFile`) : d.secret;
    if (url !== undefined && url !== '' && urlProblem(url)) problems.push(`alerts.destinations ${d.name}: the URL in urlFile ${urlProblem(url)}`);
    // Registered for redaction everywhere: a short key would be both guessable and hide common text.
    if (secret !== undefined && secret !== '' && secret.length < MIN_SIGNING_SECRET) problems.push(`alerts.destinations ${d.name}: the signing secret has ${secret.length} characters; expected at least ${MIN_SIGNING_SECRET} (e.g. openssl rand -hex 32)`);
    return { ...d, url, secret };
  });
  const names = new Set(destinations.map((d) => d.name));
  for (const rule of alerts.rules) {
    for (const d of rule.destinations ?? []) if (!names.has(d)) problems.push(`alerts.rules ${rule.name}: destination "${d}" is not in alerts.destinations; expected one of ${[...names].join(', ') || '(none defined)'}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const resolved = { ...alerts, destinations };
  for (const d of destinations) if (d.secret) registerSecret(d.secret);
  for (const s of alertSecrets(resolved)) if (!destinations.some((d) => d.secret === s)) registerWholeSecret(s);
  return resolved;
}

const MIN_SIGNING_SECRET = 16;

/**
 * The secret parts of the destinations: signing secrets, and each URL's userinfo, path and query
 * (the host is not secret), whole, and each path segment and query value that looks like a key
 * (8 characters or more, with a digit, or 16 or more): URL parts are replaced only whole
 * (registerWholeSecret), since their pieces are often plain words. Parts shorter than
 * MIN_SECRET_FRAGMENT are left out: a path "/h" would hide every "h", and protects nothing.
 */
export function alertSecrets(alerts: AlertSettings): string[] {
  const out: string[] = [];
  for (const d of alerts.destinations) {
    if (d.secret) out.push(d.secret);
    if (!d.url) continue;
    try {
      const url = new URL(d.url);
      const rest = `${url.pathname}${url.search}`.replace(/^\/+/, '');
      if (rest !== '') out.push(rest, decodeURIComponent(rest));
      const parts = [...url.pathname.split('/'), ...[...url.searchParams.values()]].map((p) => decodeURIComponent(p));
      out.push(...parts.filter((p) => (p.length >= 8 && /\d/.test(p)) || p.length >= 16));
      if (url.password) out.push(decodeURIComponent(url.password));
      if (url.username) out.push(decodeURIComponent(url.username));
    } catch {
      out.push(d.url);
    }
  }
  return out.filter((s) => s.length >= MIN_SECRET_FRAGMENT);
}

/** How a destination is shown (check-config, logs, /api/*, the page): its scheme and host only. */
export function shownUrl(url: string | undefined): string {
  if (!url) return REDACTED;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/${REDACTED}`;
  } catch {
    return REDACTED;
  }
}

/** The alerts settings as check-config prints them. */
export function redactedAlerts(alerts: AlertSettings): AlertSettings {
  return {
    ...alerts,
    destinations: alerts.destinations.map((d) => ({
      ...d,
      url: shownUrl(d.url),
      ...(d.secret !== undefined ? { secret: REDACTED } : {}),
    })),
  };
}

// Keeps secrets out of every line the collector writes: log lines (log.ts), error lines on stderr
// (cli.ts) and check-config's output. No dependencies, so that the CLI can load it at once.

export const REDACTED = '[redacted]';

/**
 * The shortest piece of a secret that is redacted wherever it appears. Tools that quote an excerpt
 * (a JSON parser's error, a message cut to a width) cut a token at any point: 6 or more consecutive
 * characters of it (a prefix, a suffix or a middle part) are replaced, not only the whole token.
 * The price: an unrelated 6-character run that happens to equal part of the token is hidden too.
 * A secret shorter than this is replaced only whole.
 */
export const MIN_SECRET_FRAGMENT = 6;

/** Secrets of this process (the resolved token), so that error lines printed outside the logger are redacted too. */
const known = new Set<string>();

export function registerSecret(secret: string | null | undefined): void {
  if (typeof secret === 'string' && secret !== '') known.add(secret);
}

/** Each registered secret and its URL-encoded form (a token can reach a line inside a URL). */
export function knownSecrets(): string[] {
  return secretForms([...known]);
}

/** The forms of each secret that are looked for: itself and, when it differs, its URL-encoded form. */
export function secretForms(secrets: ReadonlyArray<string | null | undefined>): string[] {
  return [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s !== '').flatMap((s) => [s, encodeURIComponent(s)]))];
}

/** Replaces each secret, and each run of MIN_SECRET_FRAGMENT or more of its characters, with [redacted]. */
export function redactText(text: string, secrets: readonly string[]): string {
  let covered: Uint8Array | null = null; // allocated at the first match: most lines hold no secret
  const mark = (from: number, length: number) => {
    covered ??= new Uint8Array(text.length);
    covered.fill(1, from, from + length);
  };
  for (const secret of secrets) {
    const pieces = secret.length <= MIN_SECRET_FRAGMENT ? [secret] : fragments(secret);
    for (const piece of pieces) {
      for (let at = text.indexOf(piece); at >= 0; at = text.indexOf(piece, at + 1)) mark(at, piece.length);
    }
  }
  if (covered === null) return text;
  // One [redacted] per stretch of covered characters: a whole token reads as one [redacted].
  let out = '';
  let i = 0;
  const marks: Uint8Array = covered;
  while (i < text.length) {
    if (marks[i] === 1) {
      while (i < text.length && marks[i] === 1) i++;
      out += REDACTED;
    } else {
      const start = i;
      while (i < text.length && marks[i] !== 1) i++;
      out += text.slice(start, i);
    }
  }
  return out;
}

/** Every MIN_SECRET_FRAGMENT-long run of the secret's characters: any longer piece contains one. Kept: every log line asks. */
const fragmentCache = new Map<string, string[]>();
function fragments(secret: string): string[] {
  let cached = fragmentCache.get(secret);
  if (cached === undefined) {
    const out = new Set<string>();
    for (let i = 0; i + MIN_SECRET_FRAGMENT <= secret.length; i++) out.add(secret.slice(i, i + MIN_SECRET_FRAGMENT));
    cached = [...out];
    fragmentCache.set(secret, cached);
  }
  return cached;
}

/**
 * `scheme://user:pass@host` → `scheme://[redacted]@host`: the userinfo of any URL in the text, up to
 * the last `@` before the path (a password may hold `@`), and in the forms the WHATWG parser also
 * accepts for web schemes (`http:user:pass@host`, `http:/\\user:pass@host`).
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/|(?:https?|wss?|ftp):[\\/]*)[^\s/\\?#"'<>]+@/gi, `$1${REDACTED}@`);
}

/** Both kinds of redaction on one string. */
export function redactLine(text: string, secrets: readonly string[]): string {
  return redactUrlCredentials(redactText(text, secrets));
}

/** Replaces each secret and URL userinfo anywhere in a string, array, Error or plain object (messages, stacks, URLs, meta). */
export function redact<T>(value: T, secrets: readonly string[]): T {
  if (typeof value === 'string') return redactLine(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets)) as T;
  if (value instanceof Error) {
    const copy = new Error(redact(value.message, secrets));
    copy.name = value.name;
    copy.stack = value.stack === undefined ? undefined : redact(value.stack, secrets);
    return copy as T;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string | symbol, unknown> = {};
    for (const key of Reflect.ownKeys(value)) {
      out[key] = redact((value as Record<string | symbol, unknown>)[key], secrets);
    }
    return out as T;
  }
  return value;
}

/**
 * Replaces each whole secret in a string, array or plain object, and nothing else: for provider data
 * that is stored, where hiding pieces of the token or URL userinfo would change data that is not secret.
 */
export function replaceSecrets<T>(value: T, secrets: readonly string[]): T {
  if (typeof value === 'string') return secrets.reduce((text, secret) => (text.includes(secret) ? text.replaceAll(secret, REDACTED) : text), value as string) as T;
  if (Array.isArray(value)) return value.map((v) => replaceSecrets(v, secrets)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [replaceSecrets(k, secrets), replaceSecrets(v, secrets)])) as T;
  }
  return value;
}

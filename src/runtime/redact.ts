// Keeps secrets out of everything the collector writes, through one redaction (redactText): log
// lines (log.ts), stdout and stderr (cli.ts), check-config's output, the store (provider bodies
// and every value derived from them, reasons, errors: poll.ts, providers/client.ts) and HTTP
// answers (http/). No dependencies, so that the CLI can load it at once.

export const REDACTED = '[redacted]';

/**
 * The shortest piece of a secret that is redacted wherever it appears. Tools that quote an excerpt
 * (a JSON parser's error, a message cut to a width) cut a token at any point: 6 or more consecutive
 * characters of it (a prefix, a suffix or a middle part) are replaced, not only the whole token.
 * A secret shorter than this is replaced only whole, and only where it stands alone (not between
 * letters or digits: a one-letter key must not turn `ok` into `o[redacted]` in every line and stored title).
 *
 * Save for the words of the collector's own text. A secret chosen by a person (`my-secret-key-2026`,
 * an S3 key holding `access`) has pieces that are plain words, and `s3.secretAccessKey` must not
 * read `s3.[redacted]AccessKey`. So a piece made only of letters that is part of a word of the
 * vocabulary (addVocabulary: the settings' names, env names and docs, the words of /healthz and of
 * common messages) is a word piece, and a stretch of text matched by word pieces alone is left as
 * it is. A stretch that also holds a piece that is not a word piece (one with a digit or a symbol,
 * or letters no word has) is replaced whole, word pieces included. No length makes a word piece
 * count: a long excerpt of a secret either lies inside one product word (it is then the product's
 * own text) or crosses a point where no word goes on, whose piece counts. So the whole secret is
 * always replaced, an excerpt of a random token too (its pieces hold digits, or letters in an order
 * no word has); what stays is a product word standing alone, e.g. `secret` in `S3_SECRET_ACCESS_KEY`
 * for the secret `my-secret-key-2026`. The price: an unrelated run of 6 characters equal to a piece
 * of the secret that is not a word piece is hidden too, a piece with a symbol between words included
 * (`-access-` of a secret, in `x-access-token`).
 */
export const MIN_SECRET_FRAGMENT = 6;

/** Secrets of this process (the resolved token), so that error lines printed outside the logger are redacted too. */
const known = new Set<string>();

export function registerSecret(secret: string | null | undefined): void {
  if (typeof secret === 'string' && secret !== '') known.add(secret);
}

/**
 * Secrets replaced only whole (in every encoding), never by their 6-character pieces: parts of
 * URLs (an ntfy topic, a webhook path), whose pieces are often plain words ("movies", "webhooks")
 * that would vanish from every line. Registered as secrets too.
 */
const wholeOnly = new Set<string>();

export function registerWholeSecret(secret: string): void {
  registerSecret(secret);
  wholeOnly.add(secret);
  pieceCache.delete(secret);
}

interface Piece {
  piece: string;
  /** A whole secret shorter than MIN_SECRET_FRAGMENT: replaced only where it stands alone, not inside a word (`k` in `ok`). */
  alone: boolean;
  /** Letters only, and part of a word of the vocabulary. */
  word: boolean;
}

/** Each secret's pieces (piecesOf), folded: every log line asks. Cleared when the vocabulary grows. */
const pieceCache = new Map<string, Piece[]>();

/** Each MIN_SECRET_FRAGMENT-letter run of a word of the vocabulary. */
const wordPieces = new Set<string>();

/**
 * Adds the words of a text of the product (its settings schema, its messages) to the vocabulary:
 * each run of letters, lower-cased, a camelCase name as one word (`secretAccessKey`).
 */
export function addVocabulary(text: string): void {
  for (const word of text.toLowerCase().match(/[a-z]{6,}/g) ?? []) {
    for (let i = 0; i + MIN_SECRET_FRAGMENT <= word.length; i++) wordPieces.add(word.slice(i, i + MIN_SECRET_FRAGMENT));
  }
  pieceCache.clear();
}

// The words of the collector's answers and lines that the settings schema (added by settings.ts)
// has not: /healthz's keys and states, and the commonest words of its messages.
addVocabulary(`status lastPoll finishedAt movies missing nextRun consecutiveFailures polling problem degraded
  failing target starting shipping retrying refused stopped pendingPolls pendingObjects pendingBytes shippedObjects
  lastShippedAt lastError redacted expected config configuration settings setting cannot unknown invalid readable
  writable unreadable rejected reload started complete partial errors message reason network certificate`);

/** Each registered secret (their encoded and folded forms are found by redactText itself). */
export function knownSecrets(): string[] {
  return secretForms([...known]);
}

/** The secrets to look for, without empty values and duplicates. */
export function secretForms(secrets: ReadonlyArray<string | null | undefined>): string[] {
  return [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s !== ''))];
}

/**
 * The text as the matcher reads it: each code point folded (ASCII lower case; others NFKC, then
 * lower case, so fullwidth and other compatibility forms read as the ASCII they stand for), and
 * each escape decoded first: percent-encoding (%XX in either case, UTF-8 sequences too) and JSON
 * escapes (\uXXXX in either case, surrogate pairs, \/ \\ \"), wherever they stand, valid JSON or
 * not. It is built of segments: a run of plain ASCII maps character for character; a decoded
 * escape or a non-ASCII character maps, whole, to the span of the text it came from.
 */
class View {
  folded = '';
  /** Per segment: where it starts in `folded`, where it starts in the text, its length in the text, and whether it maps 1:1. */
  private readonly at: number[] = [];
  private readonly from: number[] = [];
  private readonly length: number[] = [];
  private readonly plain: boolean[] = [];

  /** spans: keep where each segment came from (span() needs it); without, only `folded` is built. */
  constructor(text: string, spans = true) {
    for (let i = 0; i < text.length; ) {
      const end = specialAt(text, i);
      if (end > i) {
        this.push(text.slice(i, end).toLowerCase(), i, end - i, true, spans);
        i = end;
        continue;
      }
      const decoded = text[i] === '%' ? percentAt(text, i) : text[i] === '\\' ? escapeAt(text, i) : null;
      const cp = text.codePointAt(i) ?? 0;
      const [ch, length] = decoded ?? [String.fromCodePoint(cp), cp > 0xffff ? 2 : 1];
      this.push(fold(ch), i, length, false, spans);
      i += length;
    }
  }

  private push(folded: string, from: number, length: number, plain: boolean, spans: boolean): void {
    if (spans) {
      this.at.push(this.folded.length);
      this.from.push(from);
      this.length.push(length);
      this.plain.push(plain);
    }
    this.folded += folded;
  }

  /** The span of the text that folded[start, end) came from. */
  span(start: number, end: number): [number, number] {
    const first = this.segment(start);
    const last = this.segment(end - 1);
    const begin = this.plain[first] ? (this.from[first] ?? 0) + start - (this.at[first] ?? 0) : (this.from[first] ?? 0);
    const stop = this.plain[last] ? (this.from[last] ?? 0) + end - (this.at[last] ?? 0) : (this.from[last] ?? 0) + (this.length[last] ?? 0);
    return [begin, stop];
  }

  private segment(index: number): number {
    let lo = 0;
    let hi = this.at.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.at[mid] ?? 0) <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** Where plain ASCII ends: an escape may start, or a character needs NFKC. */
const SPECIAL = /[%\\\u0080-\uffff]/;

/** Where the next character SPECIAL matches stands, from `from` on (the text's length if none). */
function specialAt(text: string, from: number): number {
  let i = from;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 || c === 0x5c || c >= 0x80) break;
  }
  return i;
}
const HEX2 = /^[0-9a-fA-F]{2}$/;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const SHORT_ESCAPES: Record<string, string> = { '/': '/', '\\': '\\', '"': '"' };

const fold = (ch: string): string => (ch.length === 1 && ch.charCodeAt(0) < 0x80 ? ch.toLowerCase() : ch.normalize('NFKC').toLowerCase());

/** A %XX sequence at `at` decoded (one ASCII byte, or a whole UTF-8 sequence), with its length in the text. */
function percentAt(text: string, at: number): [string, number] | null {
  const byte = (i: number) => (text[i] === '%' && HEX2.test(text.slice(i + 1, i + 3)) ? parseInt(text.slice(i + 1, i + 3), 16) : -1);
  const lead = byte(at);
  if (lead < 0) return null;
  if (lead < 0x80) return [String.fromCharCode(lead), 3];
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
  const bytes = [lead];
  for (let k = 1; k < length; k++) bytes.push(byte(at + 3 * k));
  if (length === 0 || bytes.some((b) => b < 0x80 || b > 0xff || (b !== lead && b >= 0xc0))) return null;
  const decoded = Buffer.from(bytes).toString('utf8');
  return decoded.includes('\uFFFD') ? null : [decoded, 3 * length];
}

/** A JSON escape at `at` decoded, with its length in the text. */
function escapeAt(text: string, at: number): [string, number] | null {
  const next = text[at + 1] ?? '';
  if (next in SHORT_ESCAPES) return [SHORT_ESCAPES[next] ?? next, 2];
  if (next !== 'u' || !HEX4.test(text.slice(at + 2, at + 6))) return null;
  const unit = parseInt(text.slice(at + 2, at + 6), 16);
  if (unit >= 0xd800 && unit <= 0xdbff && text.startsWith('\\u', at + 6) && HEX4.test(text.slice(at + 8, at + 12))) {
    const low = parseInt(text.slice(at + 8, at + 12), 16);
    if (low >= 0xdc00 && low <= 0xdfff) return [String.fromCharCode(unit, low), 12];
  }
  return [String.fromCharCode(unit), 6];
}

const SECRET = 1;
const WORD = 2;
const WORD_CHAR = /[\p{L}\p{N}]/u;

/**
 * Replaces each secret, and each run of MIN_SECRET_FRAGMENT or more of its characters (but word
 * pieces alone, see MIN_SECRET_FRAGMENT), with [redacted]: as written, in any case, in
 * compatibility forms (fullwidth), percent-encoded or JSON-escaped (see View). The one redaction
 * of every output: log lines, stdout and stderr, the store (bodies, derived values, reasons,
 * errors) and HTTP answers.
 */
export function redactText(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0 || text === '') return text;
  const marks = secretMarks(text, secrets);
  if (marks === null) return text;
  // One [redacted] per stretch of matched characters that holds a secret's piece: a whole token reads as one [redacted].
  let out = '';
  for (let i = 0; i < text.length; ) {
    const start = i;
    const matched = marks[i] !== 0;
    let hides = false;
    for (; i < text.length && (marks[i] !== 0) === matched; i++) if (marks[i] === SECRET) hides = true;
    out += hides ? REDACTED : text.slice(start, i);
  }
  return out;
}

/**
 * Per character of the text: 0 unmatched, SECRET matched by a piece that is not a word piece, WORD by
 * word pieces alone; null when nothing is to be replaced (no piece but word pieces found).
 */
function secretMarks(text: string, secrets: readonly string[]): Uint8Array | null {
  // Most text is plain ASCII without escapes: lower-casing alone keeps every index.
  const special = SPECIAL.test(text);
  const folded = special ? new View(text, false).folded : text.toLowerCase();
  // Where each folded character came from, and the marks: built at the first match (most text holds no secret).
  let v: View | null = null;
  let marks: Uint8Array | null = null;
  let found = false;
  for (const secret of secrets) {
    for (const { piece, word, alone } of piecesOf(secret)) {
      for (let at = folded.indexOf(piece); at >= 0; at = folded.indexOf(piece, at + 1)) {
        if (alone && (WORD_CHAR.test(folded[at - 1] ?? '') || WORD_CHAR.test(folded[at + piece.length] ?? ''))) continue;
        marks ??= new Uint8Array(text.length);
        if (special) v ??= new View(text);
        const [start, end] = v ? v.span(at, at + piece.length) : [at, at + piece.length];
        if (word) {
          for (let i = start; i < end; i++) if (marks[i] === 0) marks[i] = WORD;
        } else {
          marks.fill(SECRET, start, end);
          found = true;
        }
      }
    }
  }
  return found ? marks : null;
}

/**
 * The folded secret whole, and (unless it is short or whole-only) every MIN_SECRET_FRAGMENT-long run
 * of its characters: any longer piece contains one.
 */
function piecesOf(secret: string): Piece[] {
  let cached = pieceCache.get(secret);
  if (cached === undefined) {
    const folded = [...secret].map(fold).join('');
    const runs = new Set<string>();
    if (folded.length > MIN_SECRET_FRAGMENT && !wholeOnly.has(secret)) {
      for (let i = 0; i + MIN_SECRET_FRAGMENT <= folded.length; i++) runs.add(folded.slice(i, i + MIN_SECRET_FRAGMENT));
    }
    cached = [{ piece: folded, word: false, alone: folded.length < MIN_SECRET_FRAGMENT }, ...[...runs].map((piece) => ({ piece, word: wordPieces.has(piece), alone: false }))];
    pieceCache.set(secret, cached);
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
 * redactText over every string (and key) of a string, array or plain object, without touching URL
 * userinfo: for provider data that is stored (bodies, records, reasons), where a poster URL's
 * userinfo is data, not a secret of ours.
 */
export function replaceSecrets<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') return redactText(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v) => replaceSecrets(v, secrets)) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [replaceSecrets(k, secrets), replaceSecrets(v, secrets)])) as T;
  }
  return value;
}

/**
 * Joins the strings of a record for one search (recordHoldsSecret). A line feed: no escape the
 * matcher decodes (%XX, \uXXXX, \/ \\ \") can take it in, nor a code point pair across it, and it is
 * neither a letter nor a digit; so each string's folded text appears whole in the joined text's,
 * and a piece found in a string alone is found in the joined text, at the same characters.
 */
const JOIN = '\n';

/**
 * Whether replaceSecrets would replace anything in the value (its strings and keys, as replaceSecrets
 * walks them): one search of its strings joined, instead of one per string. A piece that spans two
 * strings in the joined text answers true where no single string holds one: the caller then pays
 * for replaceSecrets, which replaces nothing; the answer is never false where a string holds one.
 * blank: a key of the (object) value whose value is taken as '' (a field the caller redacts apart).
 */
export function recordHoldsSecret(value: unknown, secrets: readonly string[], blank?: string): boolean {
  if (secrets.length === 0) return false;
  const strings: string[] = [];
  if (blank !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
    for (const k of Object.keys(value)) {
      strings.push(k);
      if (k !== blank) collectStrings((value as Record<string, unknown>)[k], strings);
    }
  } else {
    collectStrings(value, strings);
  }
  return strings.length > 0 && secretMarks(strings.join(JOIN), secrets) !== null;
}

/** The strings replaceSecrets would redact, in any order. */
function collectStrings(value: unknown, into: string[]): void {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const v of value) collectStrings(v, into);
  else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const k of Object.keys(value)) {
      into.push(k);
      collectStrings((value as Record<string, unknown>)[k], into);
    }
  }
}

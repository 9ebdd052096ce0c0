// The transport under axios: one GET attempt on undici's Pool (keep-alive sockets to the provider's
// origin), bounded by one timer per attempt over the whole attempt (headers and body: an answer
// dripped a byte at a time must not outlive it). It never follows redirects, caps the body it
// reads, and tells a 2xx whose body was cut short (the connection closed before the framing's end:
// Content-Length not reached, chunked encoding unfinished) from a whole one. Each failed attempt is
// named once, by failure.ts. Counts every attempt's outcome.
//
// Everything a request needs that does not depend on the path is prepared once per provider (the
// origin, the base path, the frozen headers, the dispatcher): an attempt is one object handed to
// undici's dispatch as its handler. No stream, no AbortController, no promise chain per attempt; the
// caller's signal gets one listener per client, not one per attempt (an AbortSignal's listeners
// are a list that every add and remove walks, and a poll's signal is shared by every request).
// The same attempt serves axios as its adapter (retries), and the client directly (first attempts).
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import type { AxiosAdapter, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { Dispatcher, EnvHttpProxyAgent, Pool } from 'undici';
import { ABORTED, answerFailure, AttemptError, BodyTooLarge, notJson, transportFailure, type AttemptFailure } from './failure.js';

// undici's index loads fetch, WebSocket, caches and more (~0.2 s of CPU at start-up here): only the
// dispatchers used are loaded. undici has no "exports" map, so these files can be required, but
// they are its internals: package.json pins undici to the version they were read in.
const require = createRequire(import.meta.url);

/** The proxy settings undici's EnvHttpProxyAgent reads (as axios did through proxy-from-env). */
const PROXY_ENV = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'];

/** How much of an error answer's body is read off (so its socket can be reused) before the socket is dropped instead (undici's dump() limit). */
const DISCARD_LIMIT = 128 * 1024;

export interface UndiciAdapterOptions {
  baseUrl: string;
  /** Sent on every request (lower-case names). */
  headers: Record<string, string>;
  /** One attempt's whole time limit. */
  timeoutMs: number;
  /** HTTP attempts in flight at once, at most, and keep-alive connections to the origin. Attempts past it wait for a slot (their timer not yet started). */
  connections: number;
  /** Counts one attempt's outcome: a status, "<status>:cut-off", "<status>:bad-json" or an error code. */
  count: (key: string) => void;
}

/** One attempt's outcome. A whole 2xx answer that parses as JSON, with the value it parsed to. */
export interface Answer {
  ok: true;
  status: number;
  text: string;
  json: unknown;
}

/** A failed attempt: why (named once), and the answer's status and Retry-After when one came. */
export interface Failed {
  ok: false;
  failure: AttemptFailure;
  /** The status of the answer whose head arrived, else null. */
  head: number | null;
  retryAfter: string | string[] | undefined;
}

export type AttemptResult = Answer | Failed;

export interface UndiciAdapter {
  /** One HTTP attempt (after waiting for a free slot). Never rejects. path: relative to the base URL; maxBytes: -1 for no cap. */
  attempt(path: string, maxBytes: number, signal: AbortSignal | undefined): Promise<AttemptResult>;
  /** The same attempt as axios's adapter: an Answer as the response, a failure thrown as an AttemptError (see withFirstAttempt). */
  readonly adapter: AxiosAdapter;
  close(): void;
}

/** Where a request config carries an attempt already made (withFirstAttempt). */
const FIRST_ATTEMPT = Symbol('first attempt');

/** A class, not a plain object: axios's mergeConfig passes it on as it is rather than deep-copying it. */
class FirstAttempt {
  constructor(readonly result: AttemptResult) {}
}

/**
 * The extra field of an axios request config that hands axios an attempt the caller made already:
 * the adapter answers the request's first call with it, without HTTP, so axios and axios-retry take
 * the request on from that attempt's outcome exactly as if they had made it. Consumed once: the
 * retries axios-retry sends with the same config make real attempts.
 */
export function withFirstAttempt(result: AttemptResult): { [FIRST_ATTEMPT]: FirstAttempt } {
  return { [FIRST_ATTEMPT]: new FirstAttempt(result) };
}

/** The parsed body of an answer axios returns (the check that the body is JSON parsed it: the caller need not parse it again). */
const PARSED_BODY = Symbol('parsed body');

/** The value `JSON.parse` gave for the response's body, if the adapter parsed it. */
export function parsedBody(response: AxiosResponse): unknown {
  return (response as AxiosResponse & { [PARSED_BODY]?: unknown })[PARSED_BODY];
}

/** What every attempt of one client shares: prepared once. */
interface Shared {
  readonly dispatcher: Dispatcher;
  readonly origin: string;
  readonly pathname: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The dispatcher writes into the headers it is given (undici's proxy agent adds `host`): each request gets a copy. */
  readonly copyHeaders: boolean;
  readonly timeoutMs: number;
  readonly count: (key: string) => void;
  /** Attempts in flight per caller's signal, and the one listener that aborts them. */
  readonly watched: Map<AbortSignal, { attempts: Set<Attempt>; listener: () => void }>;
  /** Slots: attempts running, and the attempts waiting for one (first in, first out). */
  running: number;
  readonly limit: number;
  readonly waiting: Attempt[];
}

export function createUndiciAdapter(options: UndiciAdapterOptions): UndiciAdapter {
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const headers: Record<string, string> = { 'user-agent': 'movies-collector', ...options.headers };
  // A base URL with user:password@ logs in with them, as axios did.
  if (base.username !== '' || base.password !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
  }
  // Our timer bounds each attempt: undici's own connect (10 s), header and body (300 s) timers must
  // not cut in first (node:http under axios had none of them either).
  const dispatcherOptions = { connections: options.connections, headersTimeout: 0, bodyTimeout: 0, connectTimeout: options.timeoutMs };
  // HTTP(S)_PROXY / NO_PROXY are honoured as before; looked at once per client, not per request. The
  // proxy agent needs the methods undici's index adds to every dispatcher: with a proxy, it is loaded.
  const proxied = PROXY_ENV.some((name) => (process.env[name] ?? '') !== '');
  const dispatcher: Dispatcher = proxied
    ? new (require('undici') as { EnvHttpProxyAgent: typeof EnvHttpProxyAgent }).EnvHttpProxyAgent(dispatcherOptions)
    : new (require('undici/lib/dispatcher/pool.js') as typeof Pool)(base.origin, dispatcherOptions);
  const shared: Shared = {
    dispatcher, origin: base.origin, pathname: base.pathname, headers: Object.freeze(headers), copyHeaders: proxied, timeoutMs: options.timeoutMs, count: options.count,
    watched: new Map(), running: 0, limit: Math.max(1, options.connections), waiting: [],
  };

  const attempt = (path: string, maxBytes: number, signal: AbortSignal | undefined): Promise<AttemptResult> => new Attempt(shared, path, maxBytes, signal).promise;

  const adapter: AxiosAdapter = async (config: InternalAxiosRequestConfig) => {
    const carried = (config as { [FIRST_ATTEMPT]?: FirstAttempt })[FIRST_ATTEMPT];
    let result: AttemptResult;
    if (carried instanceof FirstAttempt) {
      // axios-retry sends its retries with this config: they must be real attempts.
      delete (config as { [FIRST_ATTEMPT]?: FirstAttempt })[FIRST_ATTEMPT];
      result = carried.result;
    } else {
      result = await attempt(config.url ?? '', config.maxContentLength ?? -1, config.signal as AbortSignal | undefined);
    }
    if (result.ok) {
      const response: AxiosResponse<string> & { [PARSED_BODY]?: unknown } = { status: result.status, statusText: '', headers: {}, config, data: result.text };
      response[PARSED_BODY] = result.json;
      return response;
    }
    // The answer (or a 2xx's head whose body did not arrive whole) goes with the error: axios-retry reads Retry-After from it.
    const response: AxiosResponse<string> | undefined = result.head === null ? undefined : {
      status: result.head, statusText: '', config, data: result.failure.cause === 'not-json' ? result.failure.body : '',
      // The one header read from an answer (by axios-retry): Retry-After of a 429/5xx.
      headers: (result.retryAfter === undefined ? {} : { 'retry-after': result.retryAfter }) as AxiosResponse['headers'],
    };
    throw new AttemptError(result.failure, config, response);
  };

  return {
    attempt,
    adapter,
    close() {
      void dispatcher.destroy().catch(() => undefined);
    },
  };
}

/**
 * One GET attempt: undici's dispatch handler for it, its timer, and the promise of its result.
 * Settles exactly once, after undici is done with the request (answer read, or request aborted).
 */
class Attempt implements Dispatcher.DispatchHandler {
  readonly promise: Promise<AttemptResult>;
  private resolve!: (result: AttemptResult) => void;
  private timer: NodeJS.Timeout | undefined;
  private controller: Dispatcher.DispatchController | null = null;
  /** An abort asked for before undici started the request (it was connecting): done as it starts. */
  private pendingAbort: Error | null = null;
  timedOut = false;
  private settled = false;
  /** The status of the final answer, once its head arrived; 0 before. */
  private status = 0;
  private retryAfter: string | string[] | undefined;
  private location: string | string[] | undefined;
  private encoding: string | string[] | undefined;
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly shared: Shared,
    private readonly path: string,
    private readonly maxBytes: number,
    readonly signal: AbortSignal | undefined,
  ) {
    this.promise = new Promise((resolve) => (this.resolve = resolve));
    if (shared.running < shared.limit) {
      shared.running++;
      this.start();
    } else {
      shared.waiting.push(this);
    }
  }

  /** Holds a slot: sends the request, unless the caller gave up meanwhile. */
  start(): void {
    const { shared, signal } = this;
    if (signal?.aborted === true) {
      this.settle(failed(ABORTED, null));
      return;
    }
    this.timer = setTimeout(onTimeout, shared.timeoutMs, this);
    if (signal !== undefined) watch(shared, this, signal);
    shared.dispatcher.dispatch({ origin: shared.origin, path: shared.pathname + this.path, method: 'GET', headers: shared.copyHeaders ? { ...shared.headers } : shared.headers }, this);
  }

  /** Stops the request (the timer, the caller's abort, a body over its cap); undici then reports it to onResponseError. */
  abort(reason: Error): void {
    if (this.settled) return;
    if (this.controller === null) this.pendingAbort ??= reason;
    else this.controller.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort !== null) controller.abort(this.pendingAbort);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // informational: the answer is still to come
    this.status = statusCode;
    if (statusCode < 300) {
      this.encoding = headers['content-encoding'];
      return;
    }
    this.retryAfter = headers['retry-after'];
    this.location = headers.location;
    // The body of an error answer is not used: read off (so the socket can be reused) when small, else dropped.
    if (Number(headers['content-length']) > DISCARD_LIMIT) controller.abort(new Error('error answer body dropped'));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    if (this.status >= 300) {
      if (this.size > DISCARD_LIMIT) controller.abort(new Error('error answer body dropped'));
    } else if (this.maxBytes > -1 && this.size > this.maxBytes) {
      controller.abort(new BodyTooLarge(`maxContentLength size of ${this.maxBytes} exceeded`));
    } else {
      this.chunks.push(chunk);
    }
  }

  onResponseEnd(): void {
    const { status } = this;
    if (status >= 300) {
      this.settle(failed(answerFailure(status, this.location), status, this.retryAfter));
      return;
    }
    let text: string;
    try {
      text = bodyText(this.chunks, this.size, this.encoding, this.maxBytes);
    } catch (err) {
      this.settle(failed(transportFailure(err, { timedOut: false, aborted: false, head: status }), status));
      return;
    }
    const json = parseJson(text);
    // A body that ends early without the framing saying so (the connection closing is its end), or a
    // provider's bad moment: retried; the last one goes to the caller, and on to rejects.
    this.settle(json === undefined ? failed(notJson(status, text), status) : { ok: true, status, text, json });
  }

  onResponseError(_controller: unknown, err: Error): void {
    const { status } = this;
    // An error answer whose body could not be read off is still that answer.
    if (status >= 300) {
      this.settle(failed(answerFailure(status, this.location), status, this.retryAfter));
      return;
    }
    const aborted = this.signal?.aborted === true;
    this.settle(failed(transportFailure(err, { timedOut: this.timedOut && !aborted, aborted, head: status === 0 ? null : status }), status === 0 ? null : status));
  }

  private settle(result: AttemptResult): void {
    if (this.settled) return;
    this.settled = true;
    const { shared } = this;
    clearTimeout(this.timer);
    if (this.signal !== undefined) unwatch(shared, this, this.signal);
    shared.count(result.ok ? String(result.status) : result.failure.key);
    this.resolve(result);
    // The slot passes to the next attempt waiting, if any: started once undici has returned from the
    // callback that settled this one (its connection's bookkeeping done), as a promise's continuation would be.
    const next = shared.waiting.shift();
    if (next === undefined) shared.running--;
    else queueMicrotask(() => next.start());
  }
}

function failed(failure: AttemptFailure, head: number | null, retryAfter?: string | string[]): Failed {
  return { ok: false, failure, head, retryAfter };
}

function onTimeout(attempt: Attempt): void {
  attempt.timedOut = true;
  attempt.abort(new Error('attempt timed out'));
}

/** The attempt is aborted with the caller's signal: one listener per signal and client, however many attempts. */
function watch(shared: Shared, attempt: Attempt, signal: AbortSignal): void {
  let entry = shared.watched.get(signal);
  if (entry === undefined) {
    const attempts = new Set<Attempt>();
    const listener = () => {
      for (const a of attempts) a.abort(new Error('aborted by the caller'));
    };
    entry = { attempts, listener };
    shared.watched.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  entry.attempts.add(attempt);
}

function unwatch(shared: Shared, attempt: Attempt, signal: AbortSignal): void {
  const entry = shared.watched.get(signal);
  if (entry === undefined || !entry.attempts.delete(attempt) || entry.attempts.size > 0) return;
  shared.watched.delete(signal);
  signal.removeEventListener('abort', entry.listener);
}

/** The whole body as text (UTF-8, invalid bytes replaced, BOM dropped as axios does); BodyTooLarge when it decodes past maxBytes. */
function bodyText(chunks: Buffer[], size: number, encoding: string | string[] | undefined, maxBytes: number): string {
  const bytes = decoded(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size), encoding, maxBytes);
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * A compressed answer decoded, as axios's http adapter did: we ask for none, but a CDN may compress
 * anyway. The cap holds for the decoded size too (a small gzip bomb is refused, not inflated).
 */
function decoded(bytes: Buffer, encoding: string | string[] | undefined, maxBytes: number): Buffer {
  if (encoding === undefined || bytes.length === 0) return bytes;
  const name = (Array.isArray(encoding) ? encoding.join(',') : encoding).trim().toLowerCase();
  const decode = DECODERS.get(name);
  if (decode === undefined) return bytes; // identity, or an encoding we cannot read (then: not JSON)
  try {
    return decode(bytes, maxBytes > -1 ? { maxOutputLength: maxBytes } : {});
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new BodyTooLarge(`maxContentLength size of ${maxBytes} exceeded`);
    return bytes; // not really compressed: the JSON check decides
  }
}

const DECODERS: ReadonlyMap<string, (bytes: Buffer, options: zlib.ZlibOptions) => Buffer> = new Map([
  ['gzip', zlib.gunzipSync], ['x-gzip', zlib.gunzipSync], ['deflate', zlib.inflateSync], ['br', zlib.brotliDecompressSync],
]);

/** The parsed body, or undefined when it is not JSON (JSON.parse never returns undefined). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

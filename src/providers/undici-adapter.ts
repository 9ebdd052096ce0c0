// The transport under axios: one GET attempt on undici's Pool (keep-alive sockets to the provider's
// origin), with one AbortController and one timer per attempt bounding the whole attempt (headers
// and body: an answer dripped a byte at a time must not outlive it). It never follows redirects,
// caps the body it reads, and tells a 2xx whose body was cut short (the connection closed before
// the framing's end: Content-Length not reached, chunked encoding unfinished) from a whole one.
// Errors are AxiosErrors shaped as axios's own http adapter shapes them, so that axios-retry's
// checks and the client's failure causes work unchanged. Counts every attempt's outcome.
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import type { AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { Dispatcher, EnvHttpProxyAgent, Pool } from 'undici';
import { AxiosError } from './axios-lib.js';

// undici's index loads fetch, WebSocket, caches and more (~0.2 s of CPU at start-up here): only the
// dispatchers used are loaded. undici has no "exports" map, so these paths are its public files.
const require = createRequire(import.meta.url);
/** Dispatcher.prototype.request, which undici's index mixes into every dispatcher: called on ours directly. */
const request = require('undici/lib/api/api-request.js') as (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

/** Error codes of a 2xx answer that is not usable yet; both are retried. */
export const CUT_OFF = 'ERR_BODY_CUT_OFF';
export const BAD_JSON = 'ERR_BODY_NOT_JSON';

/**
 * The parsed body of a 2xx answer, kept on the response the adapter returns (axios hands that object
 * on): the check that the body is JSON parses it, and the caller need not parse it again.
 */
export const PARSED_BODY = Symbol('parsed body');

/** The value `JSON.parse` gave for the response's body, if the adapter parsed it. */
export function parsedBody(response: AxiosResponse): unknown {
  return (response as AxiosResponse & { [PARSED_BODY]?: unknown })[PARSED_BODY];
}

/** The proxy settings undici's EnvHttpProxyAgent reads (as axios did through proxy-from-env). */
const PROXY_ENV = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'];

export interface UndiciAdapterOptions {
  baseUrl: string;
  /** Sent on every request (lower-case names). */
  headers: Record<string, string>;
  /** One attempt's whole time limit. */
  timeoutMs: number;
  /** Keep-alive connections to the origin (the client admits no more attempts than this at once). */
  connections: number;
  /** Counts one attempt's outcome: a status, "<status>:cut-off", "<status>:bad-json" or an error code. */
  count: (key: string) => void;
}

export interface UndiciAdapter {
  send(config: InternalAxiosRequestConfig): Promise<AxiosResponse>;
  close(): void;
}

/** axios says ERR_BAD_RESPONSE for 5xx answers too; only the body-size error comes without a response. */
export function isBodyTooLarge(err: AxiosError): boolean {
  return err.code === AxiosError.ERR_BAD_RESPONSE && err.response === undefined;
}

class BodyTooLarge extends Error {}

export function createUndiciAdapter(options: UndiciAdapterOptions): UndiciAdapter {
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const { origin, pathname } = base;
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
  const dispatcher: Dispatcher = PROXY_ENV.some((name) => (process.env[name] ?? '') !== '')
    ? new (require('undici') as { EnvHttpProxyAgent: typeof EnvHttpProxyAgent }).EnvHttpProxyAgent(dispatcherOptions)
    : new (require('undici/lib/dispatcher/pool.js') as typeof Pool)(origin, dispatcherOptions);

  /** Errors already counted, on their way out of an attempt's catch block. */
  const counted = new WeakSet<Error>();

  return {
    async send(config) {
      const outer = config.signal as AbortSignal | undefined;
      if (outer?.aborted) throw fail(new AxiosError('canceled', AxiosError.ERR_CANCELED, config));
      const attempt = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        attempt.abort();
      }, options.timeoutMs);
      const onOuterAbort = () => attempt.abort();
      outer?.addEventListener('abort', onOuterAbort, { once: true });
      let response: AxiosResponse | null = null;
      try {
        const res = await request.call(dispatcher, { origin, path: pathname + (config.url ?? ''), method: 'GET', headers, signal: attempt.signal });
        response = { status: res.statusCode, statusText: '', headers: usedHeaders(res.statusCode, res.headers), config, data: '' };
        if (res.statusCode < 200 || res.statusCode >= 300) {
          // The body of an error answer is not used: read it off (so the socket can be reused) or drop it.
          await res.body.dump().catch(() => undefined);
          // As axios's settle(): 4xx ERR_BAD_REQUEST, 5xx ERR_BAD_RESPONSE, 3xx (not followed) no code.
          const code = [AxiosError.ERR_BAD_REQUEST, AxiosError.ERR_BAD_RESPONSE][Math.floor(res.statusCode / 100) - 4];
          throw fail(new AxiosError(`Request failed with status code ${res.statusCode}`, code, config, undefined, response), String(res.statusCode));
        }
        response.data = await readText(res.body, config.maxContentLength ?? -1, res.headers['content-encoding']);
        const parsed = parseJson(response.data as string);
        if (parsed === undefined) {
          // A body that ends early without the framing saying so (the connection closing is its end),
          // or a provider's bad moment: retried; the last one goes to the caller, and on to rejects.
          throw fail(new AxiosError(`HTTP ${res.statusCode} answer is not JSON`, BAD_JSON, config, undefined, response), `${res.statusCode}:bad-json`);
        }
        options.count(String(res.statusCode));
        (response as AxiosResponse & { [PARSED_BODY]?: unknown })[PARSED_BODY] = parsed;
        return response;
      } catch (err) {
        if (counted.has(err as Error)) throw err;
        throw fail(describe(err, config, response, timedOut && !outer?.aborted));
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener('abort', onOuterAbort);
      }
    },
    close() {
      void dispatcher.destroy().catch(() => undefined);
    },
  };

  /** Counts an attempt's failure (by key, else by the error's code) and marks it as counted. */
  function fail(error: AxiosError, key?: string): AxiosError {
    options.count(key ?? (error.code === CUT_OFF ? `${String(error.response?.status)}:cut-off` : (error.code ?? 'ERROR')));
    counted.add(error);
    return error;
  }

  function describe(err: unknown, config: InternalAxiosRequestConfig, head: AxiosResponse | null, timedOut: boolean): AxiosError {
    const e = err as NodeJS.ErrnoException;
    // Our own timer: a retryable timeout, as axios names it; the caller's abort is a cancel, never retried.
    if (timedOut) return new AxiosError(`timeout of ${options.timeoutMs}ms exceeded`, 'ECONNABORTED', config);
    if ((config.signal as AbortSignal | undefined)?.aborted) return new AxiosError('canceled', AxiosError.ERR_CANCELED, config);
    if (err instanceof BodyTooLarge) return new AxiosError(err.message, AxiosError.ERR_BAD_RESPONSE, config);
    const code = networkCode(e);
    // The head of a 2xx arrived, then the connection closed (FIN or RST) before the body's end.
    if (head !== null) return new AxiosError(`body cut off: the connection closed before the whole HTTP ${head.status} answer arrived (${code})`, CUT_OFF, config, undefined, head);
    return new AxiosError(e.message, code, config);
  }
}

/**
 * The error code as node:http would give it: undici's "other side closed" (the connection ended
 * before an answer) is node's "socket hang up", ECONNRESET, which axios-retry retries.
 */
function networkCode(e: NodeJS.ErrnoException): string {
  if (e.code === 'UND_ERR_SOCKET' || e.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return 'ECONNRESET';
  if (e.code === 'UND_ERR_CONNECT_TIMEOUT') return 'ETIMEDOUT';
  return e.code ?? 'ERROR';
}

/**
 * The answer's headers the client reads: Location of a refused redirect, Retry-After of a 429/5xx.
 * axios turns the headers into an AxiosHeaders object twice per answer: a 2xx passes none.
 */
function usedHeaders(status: number, headers: Dispatcher.ResponseData['headers']): AxiosResponse['headers'] {
  if (status >= 200 && status < 300) return {};
  const used: Record<string, string | string[]> = {};
  for (const name of ['location', 'retry-after']) {
    const value = headers[name];
    if (value !== undefined) used[name] = value;
  }
  return used as AxiosResponse['headers'];
}

/** The whole body as text (UTF-8, invalid bytes replaced, BOM dropped as axios does), or BodyTooLarge past maxBytes (-1: no cap). */
function readText(body: Dispatcher.ResponseData['body'], maxBytes: number, encoding?: string | string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (maxBytes > -1 && size > maxBytes) {
        body.destroy();
        reject(new BodyTooLarge(`maxContentLength size of ${maxBytes} exceeded`));
        return;
      }
      chunks.push(chunk);
    });
    body.on('error', reject);
    body.on('end', () => {
      let bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      try {
        bytes = decoded(bytes, encoding, maxBytes);
      } catch (err) {
        reject(err as Error);
        return;
      }
      const text = bytes.toString('utf8');
      resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    });
  });
}

/**
 * A compressed answer decoded, as axios's http adapter did: we ask for none, but a CDN may compress
 * anyway. The cap holds for the decoded size too (a small gzip bomb is refused, not inflated).
 */
function decoded(bytes: Buffer, encoding: string | string[] | undefined, maxBytes: number): Buffer {
  const name = (Array.isArray(encoding) ? encoding.join(',') : encoding ?? '').trim().toLowerCase();
  const decode = { gzip: zlib.gunzipSync, 'x-gzip': zlib.gunzipSync, deflate: zlib.inflateSync, br: zlib.brotliDecompressSync }[name];
  if (decode === undefined || bytes.length === 0) return bytes; // identity, or an encoding we cannot read (then: not JSON)
  try {
    return decode(bytes, maxBytes > -1 ? { maxOutputLength: maxBytes } : {});
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new BodyTooLarge(`maxContentLength size of ${maxBytes} exceeded`);
    return bytes; // not really compressed: the JSON check decides
  }
}

/** The parsed body, or undefined when it is not JSON (JSON.parse never returns undefined). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

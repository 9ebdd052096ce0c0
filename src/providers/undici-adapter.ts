// The transport under axios: one GET attempt on undici's Pool (keep-alive sockets to the provider's
// origin), with one AbortController and one timer per attempt bounding the whole attempt (headers
// and body: an answer dripped a byte at a time must not outlive it). It never follows redirects,
// caps the body it reads, and tells a 2xx whose body was cut short (the connection closed before
// the framing's end: Content-Length not reached, chunked encoding unfinished) from a whole one.
// Each failed attempt is named once, by failure.ts, and thrown as an AttemptError. Counts every
// attempt's outcome.
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import type { AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { Dispatcher, EnvHttpProxyAgent, Pool } from 'undici';
import { ABORTED, answerFailure, AttemptError, BodyTooLarge, notJson, transportFailure, type AttemptFailure } from './failure.js';

// undici's index loads fetch, WebSocket, caches and more (~0.2 s of CPU at start-up here): only the
// dispatchers used are loaded. undici has no "exports" map, so these files can be required, but
// they are its internals: package.json pins undici to the version they were read in.
const require = createRequire(import.meta.url);
/** Dispatcher.prototype.request, which undici's index mixes into every dispatcher: called on ours directly. */
const request = require('undici/lib/api/api-request.js') as (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

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
  /** Keep-alive connections to the origin (the client runs no more attempts than this at once). */
  connections: number;
  /** Counts one attempt's outcome: a status, "<status>:cut-off", "<status>:bad-json" or an error code. */
  count: (key: string) => void;
}

export interface UndiciAdapter {
  send(config: InternalAxiosRequestConfig): Promise<AxiosResponse>;
  close(): void;
}

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

  return {
    async send(config) {
      const outer = config.signal as AbortSignal | undefined;
      if (outer?.aborted) throw fail(config, ABORTED);
      const attempt = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        attempt.abort();
      }, options.timeoutMs);
      const onOuterAbort = () => attempt.abort();
      outer?.addEventListener('abort', onOuterAbort, { once: true });
      let response: AxiosResponse<string> | undefined;
      try {
        const res = await request.call(dispatcher, { origin, path: pathname + (config.url ?? ''), method: 'GET', headers, signal: attempt.signal });
        response = { status: res.statusCode, statusText: '', headers: usedHeaders(res.statusCode, res.headers), config, data: '' };
        if (res.statusCode < 200 || res.statusCode >= 300) {
          // The body of an error answer is not used: read it off (so the socket can be reused) or drop it.
          await res.body.dump().catch(() => undefined);
          throw fail(config, answerFailure(res.statusCode, res.headers.location), response);
        }
        response.data = await readText(res.body, config.maxContentLength ?? -1, res.headers['content-encoding']);
        const parsed = parseJson(response.data);
        if (parsed === undefined) {
          // A body that ends early without the framing saying so (the connection closing is its end),
          // or a provider's bad moment: retried; the last one goes to the caller, and on to rejects.
          throw fail(config, notJson(res.statusCode, response.data), response);
        }
        options.count(String(res.statusCode));
        (response as AxiosResponse & { [PARSED_BODY]?: unknown })[PARSED_BODY] = parsed;
        return response;
      } catch (err) {
        if (err instanceof AttemptError) throw err; // named and counted already
        const aborted = outer?.aborted === true;
        throw fail(config, transportFailure(err, { timedOut: timedOut && !aborted, aborted, head: response?.status ?? null }), response);
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener('abort', onOuterAbort);
      }
    },
    close() {
      void dispatcher.destroy().catch(() => undefined);
    },
  };

  /** Counts a failed attempt and wraps it for axios. */
  function fail(config: InternalAxiosRequestConfig, failure: AttemptFailure, response?: AxiosResponse<string>): AttemptError {
    options.count(failure.key);
    return new AttemptError(failure, config, response);
  }
}

/**
 * The one header read from an answer (by axios-retry): Retry-After of a 429/5xx. axios turns the
 * headers into an AxiosHeaders object twice per answer: a 2xx passes none.
 */
function usedHeaders(status: number, headers: Dispatcher.ResponseData['headers']): AxiosResponse['headers'] {
  const retryAfter = status >= 200 && status < 300 ? undefined : headers['retry-after'];
  return (retryAfter === undefined ? {} : { 'retry-after': retryAfter }) as AxiosResponse['headers'];
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

// One provider's HTTP client: axios with the token header, a per-attempt timeout, keep-alive,
// capped bodies, no redirects (the token must never travel to another origin), and
// axios-retry for transient failures. Under axios sits a small adapter on undici's Pool (see
// undici-adapter.ts): axios's own http adapter costs several times the CPU of the request itself.
// Everything a request needs is prepared once per client (one per provider): the transport's
// origin, base path and frozen headers, the axios instance with its defaults trimmed to what the
// adapter reads, the retry policy. A call's first attempt goes straight to the transport; when it
// fails, axios takes the call on from that failure (the adapter hands it to axios as its first
// answer), so axios-retry decides on every failure and every retry goes through axios, while a
// call answered at once (nine in ten) pays for no config merge, headers object or promise chain.
// axios and axios-retry are loaded at a client's first failure: a poll whose every call is
// answered at once does not load them (axios takes about 0.15 s of CPU to load).
// http.concurrency bounds the HTTP attempts in flight: the bound is the transport's, so a request
// waiting out a retry backoff holds no slot. How many requests are pending at once is the caller's
// bound (source.ts's pool of workers). A 2xx answer counts only once its body arrived whole and
// parses as JSON: a body cut short (or not JSON) is retried like a 5xx. Why an attempt failed, and
// whether it is retried, is decided once, where it fails (failure.ts). The token (whole, in pieces,
// encoded or folded: redact.ts) is replaced in every body and reason before the caller sees it, so
// an upstream that echoes it cannot get it stored.
import type { AxiosInstance, AxiosRequestConfig } from 'axios';
import { knownSecrets, redact, redactText, secretForms } from '../runtime/redact.js';
import { ABORTED, failureOf, isTransient, type AttemptFailure, type FailureCause } from './failure.js';
import { createUndiciAdapter, parsedBody, withFirstAttempt } from './undici-adapter.js';

export interface ClientOptions {
  baseUrl: string;
  token: string;
  tokenHeader: string;
  timeoutMs: number;
  retries: number;
  maxRetryDelayMs: number;
  maxBodyBytes: number;
  /** The list call's cap: a list of every film is far larger than one film's detail. */
  maxListBodyBytes: number;
  concurrency: number;
}

export type FetchOutcome =
  /** json: the body parsed, when the client parsed it already (absent when the token was replaced in it). */
  | { ok: true; status: number; body: string; json?: unknown }
  | { ok: false; status: number | null; cause: FailureCause; reason: string };

/** The list of films, or one film's detail: they have different body caps. */
export type CallKind = 'list' | 'detail';

export interface ClientStats {
  retries: number;
  /**
   * HTTP attempts by status, or by error code for attempts without an answer. A 2xx whose body
   * was cut short counts as "<status>:cut-off", one whose whole body is not JSON as "<status>:bad-json".
   */
  responses: Record<string, number>;
}

export interface ProviderClient {
  /** GET a path relative to the base URL; never throws. */
  get(path: string, signal: AbortSignal, kind?: CallKind): Promise<FetchOutcome>;
  readonly stats: ClientStats;
  /** HTTP attempts in flight at once, at most (http.concurrency). */
  readonly concurrency: number;
  /** Frees the keep-alive sockets. */
  close(): void;
}

const RETRY_BASE_DELAY_MS = 100;

export function createProviderClient(options: ClientOptions): ProviderClient {
  const stats: ClientStats = { retries: 0, responses: {} };
  const count = (key: string) => {
    stats.responses[key] = (stats.responses[key] ?? 0) + 1;
  };
  // As the logger does: the token whole and in pieces, encoded or folded (redact.ts), and every
  // other secret registered (alert destinations, S3 keys): the raw body is stored.
  const secrets = secretForms([options.token, ...knownSecrets()]);
  const transport = createUndiciAdapter({
    baseUrl: options.baseUrl,
    headers: { [options.tokenHeader.toLowerCase()]: options.token, accept: 'application/json' },
    timeoutMs: options.timeoutMs,
    connections: options.concurrency,
    count,
  });

  /** axios with axios-retry over the transport, made at the first failure (see above), once. */
  let retrier: Promise<AxiosInstance> | undefined;
  const retrying = () => (retrier ??= createRetrier());
  async function createRetrier(): Promise<AxiosInstance> {
    const [{ default: axios }, { default: axiosRetry, exponentialDelay }] = await Promise.all([import('./axios-lib.js'), import('axios-retry')]);
    const instance = axios.create({ adapter: transport.adapter });
    // axios merges its instance defaults into every request's config (and again on each retry):
    // everything the adapter does not read is dropped, so each merge is small. The adapter builds the
    // URL and headers itself, never follows redirects, never looks for a proxy in the environment
    // (undici-adapter.ts decides that once) and returns the body as text: the normalizer parses it.
    const defaults = instance.defaults as unknown as Record<string, unknown>;
    for (const key of Object.keys(defaults)) if (key !== 'adapter') delete defaults[key];
    Object.assign(defaults, { proxy: false, maxRedirects: 0, transformRequest: [], transformResponse: [] });
    axiosRetry(instance, {
      retries: options.retries,
      shouldResetTimeout: true, // the timeout is per attempt (the adapter's timer); the poll's deadline bounds the whole
      retryCondition: isTransient,
      // Exponential backoff with jitter, Retry-After honoured, and capped: Retry-After: 3600 must not stall a poll for an hour.
      retryDelay: (retryNumber, err) => Math.min(exponentialDelay(retryNumber, err, RETRY_BASE_DELAY_MS), options.maxRetryDelayMs),
      onRetry: () => {
        stats.retries++;
      },
    });
    return instance;
  }
  /** Per kind of call: its body cap, and the setting that sets it (named when a body is over it). */
  const calls: Record<CallKind, { maxBodyBytes: number; capSetting: string }> = {
    list: { maxBodyBytes: options.maxListBodyBytes, capSetting: 'http.maxListBodyBytes' },
    detail: { maxBodyBytes: options.maxBodyBytes, capSetting: 'http.maxBodyBytes' },
  };

  return {
    stats,
    concurrency: options.concurrency,
    async get(path, signal, kind = 'detail') {
      const { maxBodyBytes, capSetting } = calls[kind];
      // Once the poll is over, the films not yet requested need not be requested at all.
      if (signal.aborted) return outcome(ABORTED, capSetting);
      const first = await transport.attempt(path, maxBodyBytes, signal);
      // An answer that came after the caller aborted is dropped, as axios drops it (CanceledError): aborted.
      if (signal.aborted) return outcome(ABORTED, capSetting);
      if (first.ok) return answer(first.status, first.text, first.json);
      try {
        // axios from the first attempt's failure on: axios-retry decides whether and when to try again.
        const config: AxiosRequestConfig = { url: path, signal, maxContentLength: maxBodyBytes, ...withFirstAttempt(first) };
        const res = await (await retrying()).request<string>(config);
        return answer(res.status, res.data, parsedBody(res));
      } catch (err) {
        // The last attempt's failure as the adapter named it. Once the caller aborted, axios throws
        // its own CanceledError (or the attempt's failure came too late to matter): aborted.
        const failure = failureOf(err);
        return outcome(signal.aborted && failure.cause !== 'not-json' ? ABORTED : failure, capSetting);
      }
    },
    close() {
      transport.close();
    },
  };

  /** A whole JSON answer, the token replaced; its parsed value passed on unless the token was taken out of the body. */
  function answer(status: number, text: string, json: unknown): FetchOutcome {
    const body = redactText(text, secrets);
    return body === text ? { ok: true, status, body, json } : { ok: true, status, body };
  }

  /** What the caller gets for a call that threw, the token replaced. capSetting: the setting that caps this call's body. */
  function outcome(failure: AttemptFailure, capSetting: string): FetchOutcome {
    // Still not JSON after the retries, but whole: the caller records it as a reject, body and all.
    if (failure.cause === 'not-json') return { ok: true, status: failure.status, body: redactText(failure.body, secrets) };
    const reason = failure.cause === 'too-large' ? `${failure.reason} (${capSetting})` : failure.reason;
    return { ok: false, status: failure.status, cause: failure.cause, reason: redact(reason, secrets) };
  }
}

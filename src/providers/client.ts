// One provider's HTTP client: axios with the token header, a per-attempt timeout, keep-alive,
// capped bodies, no redirects (the token must never travel to another origin), and
// axios-retry for transient failures. Under axios sits a small adapter on undici's Pool (see
// undici-adapter.ts): axios's own http adapter costs several times the CPU of the request itself.
// The concurrency bound wraps that adapter, so it counts HTTP attempts in flight: a request waiting
// out a retry backoff holds no slot. A second, looser bound admits requests into axios, so a list of
// 50,000 films does not become 50,000 live requests. A 2xx answer counts only once its body arrived
// whole and parses as JSON: a body cut short (or not JSON) is retried like a 5xx. The token (whole,
// in pieces, encoded or folded: redact.ts) is replaced in every body and reason before the caller
// sees it, so an upstream that echoes it cannot get it stored.
import type { AxiosAdapter, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import axiosRetry, { exponentialDelay, isNetworkOrIdempotentRequestError } from 'axios-retry';
import pLimit from 'p-limit';
import { redact, redactText, secretForms } from '../runtime/redact.js';
import axios, { AxiosError } from './axios-lib.js';
import { BAD_JSON, CUT_OFF, createUndiciAdapter, isBodyTooLarge, parsedBody } from './undici-adapter.js';

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

/** Why a call failed, for the line that tells the user what to fix. */
export type FailureCause = 'auth' | 'certificate' | 'network' | 'timeout' | 'cut-off' | 'too-large' | 'http' | 'redirect' | 'aborted';

/** TLS certificate errors (OpenSSL's and Node's codes): not transient, never retried; what each means. */
const CERTIFICATE_ERRORS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'the certificate chain ends in a CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate is not trusted (its issuer is unknown)',
  UNABLE_TO_GET_ISSUER_CERT: 'the certificate is not trusted (its issuer is unknown)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate is not trusted (its issuer is unknown)',
  CERT_UNTRUSTED: 'the certificate is not trusted',
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet (or this clock is wrong)',
  CERT_REVOKED: 'the certificate was revoked',
  CERT_SIGNATURE_FAILURE: 'the certificate signature does not verify',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate does not match the host name',
  HOSTNAME_MISMATCH: 'the certificate does not match the host name',
};

export type FetchOutcome =
  /** json: the body parsed, when the client parsed it already (absent when the token was replaced in it). */
  | { ok: true; status: number; body: string; json?: unknown }
  | { ok: false; status: number | null; code: string; cause: FailureCause; reason: string };

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
  /** Requests admitted at once (in flight or waiting out a backoff): callers need no more workers than this. */
  readonly capacity: number;
  /** Frees the keep-alive sockets. */
  close(): void;
}

const RETRY_BASE_DELAY_MS = 100;
/** Requests admitted at once (in flight or waiting out a backoff) per HTTP slot: enough to keep the
 * slots busy while some requests back off, few enough that memory and abort listeners stay bounded. */
const ADMITTED_PER_SLOT = 4;

export function createProviderClient(options: ClientOptions): ProviderClient {
  const stats: ClientStats = { retries: 0, responses: {} };
  const count = (key: string) => (stats.responses[key] = (stats.responses[key] ?? 0) + 1);
  // As the logger does: the token whole and in pieces, encoded or folded (redact.ts).
  const secrets = secretForms([options.token]);
  const limit = pLimit(options.concurrency);
  const capacity = options.concurrency * ADMITTED_PER_SLOT;
  const admit = pLimit(capacity);
  const transport = createUndiciAdapter({
    baseUrl: options.baseUrl,
    headers: { [options.tokenHeader.toLowerCase()]: options.token, accept: 'application/json' },
    timeoutMs: options.timeoutMs,
    connections: options.concurrency,
    count,
  });
  const boundedAdapter: AxiosAdapter = (config: InternalAxiosRequestConfig) => limit((): Promise<AxiosResponse> => transport.send(config));

  const instance = axios.create({ adapter: boundedAdapter });
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
    retryCondition: (err) => {
      if (err.code === AxiosError.ERR_CANCELED || isBodyTooLarge(err) || (err.code ?? '') in CERTIFICATE_ERRORS) return false;
      if (err.code === CUT_OFF || err.code === BAD_JSON) return true;
      return isNetworkOrIdempotentRequestError(err) || err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT';
    },
    // Exponential backoff with jitter, Retry-After honoured, and capped: Retry-After: 3600 must not stall a poll for an hour.
    retryDelay: (retryNumber, err) => Math.min(exponentialDelay(retryNumber, err, RETRY_BASE_DELAY_MS), options.maxRetryDelayMs),
    onRetry: () => {
      stats.retries++;
    },
  });

  return {
    stats,
    capacity,
    get: (path, signal, kind = 'detail') =>
      admit(async (): Promise<FetchOutcome> => {
        const [maxBodyBytes, capSetting] = kind === 'list' ? [options.maxListBodyBytes, 'http.maxListBodyBytes'] : [options.maxBodyBytes, 'http.maxBodyBytes'];
        // Once the poll is over, the requests still queued need not go through axios at all.
        if (signal.aborted) return describeFailure(new AxiosError('canceled', AxiosError.ERR_CANCELED), signal, capSetting);
        try {
          const res = await instance.get<string>(path, { signal, maxContentLength: maxBodyBytes });
          const body = redactText(res.data, secrets);
          // The adapter parsed the body (to know it is JSON): passed on unless the token was taken out of it.
          return body === res.data ? { ok: true, status: res.status, body, json: parsedBody(res) } : { ok: true, status: res.status, body };
        } catch (err) {
          const e = err as AxiosError<string>;
          // Still not JSON after the retries, but whole: the caller records it as a reject, body and all.
          if (e.code === BAD_JSON && e.response) return { ok: true, status: e.response.status, body: redactText(e.response.data, secrets) };
          const outcome = describeFailure(err, signal, capSetting);
          return { ...outcome, reason: redact(outcome.reason, secrets) };
        }
      }),
    close() {
      transport.close();
    },
  };
}

/** capSetting: the setting that caps this call's body, named when the body is too large. */
function describeFailure(err: unknown, signal: AbortSignal, capSetting: string): FetchOutcome & { ok: false } {
  const e = err as AxiosError;
  const status = e.response?.status ?? null;
  const base = { ok: false as const, status, code: e.code ?? 'ERROR' };
  if (signal.aborted || e.code === AxiosError.ERR_CANCELED) return { ...base, cause: 'aborted', reason: 'aborted: the poll deadline passed or the collector is stopping' };
  if (e.code === CUT_OFF) return { ...base, cause: 'cut-off', reason: e.message };
  if (status === 401 || status === 403) return { ...base, cause: 'auth', reason: `HTTP ${status}: the provider rejected the access token` };
  if (status !== null && status >= 300 && status < 400) {
    return { ...base, cause: 'redirect', reason: `HTTP ${status}: redirect to ${String(e.response?.headers.location ?? '?')} refused (the token is never sent to another location)` };
  }
  if (status !== null) return { ...base, cause: 'http', reason: `HTTP ${status}` };
  if (isBodyTooLarge(e)) return { ...base, cause: 'too-large', reason: `${e.message} (${capSetting})` };
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') return { ...base, cause: 'timeout', reason: 'timed out (http.timeoutMs)' };
  const certificate = CERTIFICATE_ERRORS[e.code ?? ''];
  if (certificate !== undefined) return { ...base, cause: 'certificate', reason: `${e.code ?? ''}: ${certificate} (TLS certificate refused, not retried)` };
  return { ...base, cause: 'network', reason: `${e.code ?? 'error'}: ${e.message}` };
}

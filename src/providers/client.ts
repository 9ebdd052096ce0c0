// One provider's HTTP client: axios with the token header, a per-attempt timeout, keep-alive,
// capped bodies, no redirects (the token must never travel to another origin), and
// axios-retry for transient failures. The concurrency bound wraps axios's adapter, so it
// counts HTTP attempts in flight: a request waiting out a retry backoff holds no slot.
// A second, looser bound admits requests into axios, so a list of 50,000 films does not
// become 50,000 live requests. A 2xx answer counts only once its body arrived whole and parses
// as JSON: a body cut short (or not JSON) is retried like a 5xx. The token is replaced in every
// body and reason before the caller sees it, so an upstream that echoes it cannot get it stored.
import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import axiosRetry, { exponentialDelay, isNetworkOrIdempotentRequestError } from 'axios-retry';
import pLimit from 'p-limit';
import { redact, replaceSecrets, secretForms } from '../redact.js';

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
export type FailureCause = 'auth' | 'network' | 'timeout' | 'cut-off' | 'too-large' | 'http' | 'redirect' | 'aborted';

export type FetchOutcome =
  | { ok: true; status: number; body: string }
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
  /** Frees the keep-alive sockets. */
  close(): void;
}

const RETRY_BASE_DELAY_MS = 100;
/** Requests admitted at once (in flight or waiting out a backoff) per HTTP slot: enough to keep the
 * slots busy while some requests back off, few enough that memory and abort listeners stay bounded. */
const ADMITTED_PER_SLOT = 4;
/** Error codes of a 2xx answer that is not usable yet; both are retried. */
const CUT_OFF = 'ERR_BODY_CUT_OFF';
const BAD_JSON = 'ERR_BODY_NOT_JSON';

export function createProviderClient(options: ClientOptions): ProviderClient {
  const stats: ClientStats = { retries: 0, responses: {} };
  const count = (key: string) => (stats.responses[key] = (stats.responses[key] ?? 0) + 1);
  // As the logger does: the token and its URL-encoded form.
  const secrets = secretForms([options.token]);
  const limit = pLimit(options.concurrency);
  const admit = pLimit(options.concurrency * ADMITTED_PER_SLOT);
  const agentOptions = { keepAlive: true, maxSockets: options.concurrency };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  const send = axios.getAdapter(axios.defaults.adapter);
  const boundedAdapter: AxiosAdapter = (config: InternalAxiosRequestConfig) =>
    limit(async (): Promise<AxiosResponse> => {
      // axios's own timeout is a socket-idle timer: an answer dripped a byte at a time never trips
      // it. This one bounds the whole attempt, and surfaces as a (retryable) timeout.
      const attempt = AbortSignal.timeout(options.timeoutMs);
      const outer = config.signal as AbortSignal | undefined;
      let response: AxiosResponse;
      try {
        response = await send({ ...config, signal: outer ? AbortSignal.any([outer, attempt]) : attempt });
      } catch (err) {
        let e = attempt.aborted && !outer?.aborted ? new AxiosError(`timeout of ${options.timeoutMs}ms exceeded`, 'ECONNABORTED', config) : (err as AxiosError);
        // The connection closed after 2xx headers, mid-body (FIN or RST): axios reports it with or
        // without `response`, as "stream has been aborted" or ECONNRESET, depending on timing.
        const head = cutOffStatus(e);
        if (head !== null) e = new AxiosError(`body cut off: the connection closed before the whole HTTP ${head} answer arrived (${e.code ?? e.message})`, CUT_OFF, config, e.request, e.response);
        // axios-retry retries with the error's config: give it the caller's signal back, or this
        // attempt's timer would go on to cancel the retry (seen as "aborted", and never retried).
        if (e.config) e.config.signal = outer;
        count(head !== null ? `${head}:cut-off` : e.response ? String(e.response.status) : (e.code ?? 'ERROR'));
        throw e;
      }
      if (response.status >= 200 && response.status < 300 && !isJson(response.data as string)) {
        // A body that ends early without the framing saying so (the connection closing is its end),
        // or a provider's bad moment: retried; the last one goes to the caller, and on to rejects.
        // (An error made with `config` carries the caller's signal, as axios-retry needs.)
        count(`${response.status}:bad-json`);
        throw new AxiosError(`HTTP ${response.status} answer is not JSON`, BAD_JSON, config, response.request, response);
      }
      count(String(response.status));
      return response;
    });

  const instance = axios.create({
    baseURL: options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`,
    headers: { [options.tokenHeader]: options.token, accept: 'application/json' },
    timeout: options.timeoutMs,
    maxRedirects: 0,
    responseType: 'text',
    responseEncoding: 'utf8',
    transformResponse: [(data: unknown) => data], // bodies are parsed by the normalizer, which keeps the raw text
    httpAgent,
    httpsAgent,
    adapter: boundedAdapter,
  });
  axiosRetry(instance, {
    retries: options.retries,
    shouldResetTimeout: true, // the timeout is per attempt; the poll's deadline bounds the whole
    retryCondition: (err) => {
      if (err.code === AxiosError.ERR_CANCELED || isBodyTooLarge(err)) return false;
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
    get: (path, signal, kind = 'detail') =>
      admit(async (): Promise<FetchOutcome> => {
        const [maxBodyBytes, capSetting] = kind === 'list' ? [options.maxListBodyBytes, 'http.maxListBodyBytes'] : [options.maxBodyBytes, 'http.maxBodyBytes'];
        // Once the poll is over, the requests still queued need not go through axios at all.
        if (signal.aborted) return describeFailure(new AxiosError('canceled', AxiosError.ERR_CANCELED), signal, capSetting);
        try {
          const res = await instance.get<string>(path, { signal, maxContentLength: maxBodyBytes });
          return { ok: true, status: res.status, body: scrub(res.data, secrets) };
        } catch (err) {
          const e = err as AxiosError<string>;
          // Still not JSON after the retries, but whole: the caller records it as a reject, body and all.
          if (e.code === BAD_JSON && e.response) return { ok: true, status: e.response.status, body: replaceSecrets(e.response.data, secrets) };
          const outcome = describeFailure(err, signal, capSetting);
          return { ...outcome, reason: redact(outcome.reason, secrets) };
        }
      }),
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** axios says ERR_BAD_RESPONSE for 5xx answers too; only the body-size error comes without a response. */
function isBodyTooLarge(err: AxiosError): boolean {
  return err.code === AxiosError.ERR_BAD_RESPONSE && err.response === undefined;
}

/** The 2xx status whose body an error cut short, else null (no headers yet, a 5xx, a timeout, a cap, an abort). */
function cutOffStatus(e: AxiosError): number | null {
  if (e.code === AxiosError.ERR_CANCELED || e.code === 'ECONNABORTED' || isBodyTooLarge(e)) return null;
  const status = headStatus(e);
  return status !== null && status >= 200 && status < 300 ? status : null;
}

/**
 * The answer's status once its head arrived. Without `response`, Node's ClientRequest still holds
 * it as `req.res` (set by Node, missing from @types/node); axios gives that request, as no redirect is followed.
 */
function headStatus(e: AxiosError): number | null {
  return e.response?.status ?? (e.request as { res?: http.IncomingMessage } | undefined)?.res?.statusCode ?? null;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The body with the whole token replaced (pieces of it are not: stored text changes only where the token stood). JSON escapes (\u0074oken) can hide it from a text search
 * and still decode to it in a column: then the body is re-serialized from its redacted values.
 */
function scrub(body: string, secrets: readonly string[]): string {
  if (secrets.length === 0) return body;
  const text = replaceSecrets(body, secrets);
  if (!text.includes('\\')) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text; // the token stood where "[redacted]" breaks the syntax: the normalizer rejects it, redacted
  }
  return holdsSecret(parsed, secrets) ? JSON.stringify(replaceSecrets(parsed, secrets)) : text;
}

function holdsSecret(value: unknown, secrets: readonly string[]): boolean {
  if (typeof value === 'string') return secrets.some((s) => value.includes(s));
  if (Array.isArray(value)) return value.some((v) => holdsSecret(v, secrets));
  if (value !== null && typeof value === 'object') return Object.entries(value).some(([k, v]) => holdsSecret(k, secrets) || holdsSecret(v, secrets));
  return false;
}

/** capSetting: the setting that caps this call's body, named when the body is too large. */
function describeFailure(err: unknown, signal: AbortSignal, capSetting: string): FetchOutcome & { ok: false } {
  const e = err as AxiosError;
  const status = e.response?.status ?? null;
  const base = { ok: false as const, status, code: e.code ?? 'ERROR' };
  if (signal.aborted || e.code === AxiosError.ERR_CANCELED) return { ...base, cause: 'aborted', reason: 'aborted: the poll deadline passed or the collector is stopping' };
  if (e.code === CUT_OFF) return { ...base, status: headStatus(e), cause: 'cut-off', reason: e.message };
  if (status === 401 || status === 403) return { ...base, cause: 'auth', reason: `HTTP ${status}: the provider rejected the access token` };
  if (status !== null && status >= 300 && status < 400) {
    return { ...base, cause: 'redirect', reason: `HTTP ${status}: redirect to ${String(e.response?.headers.location ?? '?')} refused (the token is never sent to another location)` };
  }
  if (status !== null) return { ...base, cause: 'http', reason: `HTTP ${status}` };
  if (isBodyTooLarge(e)) return { ...base, cause: 'too-large', reason: `${e.message} (${capSetting})` };
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') return { ...base, cause: 'timeout', reason: 'timed out (http.timeoutMs)' };
  return { ...base, cause: 'network', reason: `${e.code ?? 'error'}: ${e.message}` };
}

// One provider's HTTP client: axios with the token header, a per-attempt timeout, keep-alive,
// capped bodies, no redirects (the token must never travel to another origin), and
// axios-retry for transient failures. The concurrency bound wraps axios's adapter, so it
// counts HTTP attempts in flight: a request waiting out a retry backoff holds no slot.
// A second, looser bound admits requests into axios, so a list of 50,000 films does not
// become 50,000 live requests.
import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import axiosRetry, { exponentialDelay, isNetworkOrIdempotentRequestError } from 'axios-retry';
import pLimit from 'p-limit';

export interface ClientOptions {
  baseUrl: string;
  token: string;
  tokenHeader: string;
  timeoutMs: number;
  retries: number;
  maxRetryDelayMs: number;
  maxBodyBytes: number;
  concurrency: number;
}

export type FetchOutcome =
  | { ok: true; status: number; body: string }
  | { ok: false; status: number | null; code: string; reason: string; authRejected: boolean; aborted: boolean };

export interface ClientStats {
  retries: number;
  /** HTTP attempts by status, or by error code for attempts without an answer. */
  responses: Record<string, number>;
}

export interface ProviderClient {
  /** GET a path relative to the base URL; never throws. */
  get(path: string, signal: AbortSignal): Promise<FetchOutcome>;
  readonly stats: ClientStats;
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
      try {
        const response = await send({ ...config, signal: outer ? AbortSignal.any([outer, attempt]) : attempt });
        count(String(response.status));
        return response;
      } catch (err) {
        const e = attempt.aborted && !outer?.aborted ? new AxiosError(`timeout of ${options.timeoutMs}ms exceeded`, 'ECONNABORTED', config) : (err as AxiosError);
        // axios-retry retries with the error's config: give it the caller's signal back, or this
        // attempt's timer would go on to cancel the retry (seen as "aborted", and never retried).
        if (e.config) e.config.signal = outer;
        count(e.response ? String(e.response.status) : (e.code ?? 'ERROR'));
        throw e;
      }
    });

  const instance = axios.create({
    baseURL: options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`,
    headers: { [options.tokenHeader]: options.token, accept: 'application/json' },
    timeout: options.timeoutMs,
    maxRedirects: 0,
    maxContentLength: options.maxBodyBytes,
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
    get: (path, signal) =>
      admit(async (): Promise<FetchOutcome> => {
        try {
          const res = await instance.get<string>(path, { signal });
          return { ok: true, status: res.status, body: res.data };
        } catch (err) {
          return describeFailure(err, signal);
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

function describeFailure(err: unknown, signal: AbortSignal): FetchOutcome {
  const e = err as AxiosError;
  const status = e.response?.status ?? null;
  const base = { ok: false as const, status, code: e.code ?? 'ERROR', authRejected: false, aborted: false };
  if (signal.aborted || e.code === AxiosError.ERR_CANCELED) return { ...base, aborted: true, reason: 'aborted: the poll deadline passed or the collector is stopping' };
  if (status === 401 || status === 403) return { ...base, authRejected: true, reason: `HTTP ${status}: the provider rejected the access token` };
  if (status !== null && status >= 300 && status < 400) {
    return { ...base, reason: `HTTP ${status}: redirect to ${String(e.response?.headers.location ?? '?')} refused (the token is never sent to another location)` };
  }
  if (status !== null) return { ...base, reason: `HTTP ${status}` };
  if (isBodyTooLarge(e)) return { ...base, reason: `${e.message} (http.maxBodyBytes)` };
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') return { ...base, reason: 'timed out (http.timeoutMs)' };
  return { ...base, reason: `${e.code ?? 'error'}: ${e.message}` };
}

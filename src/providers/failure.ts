// How an HTTP attempt failed, named once, where it fails (undici-adapter.ts, from undici's error
// or the answer): the cause and reason the user reads, the key the attempt is counted under, and
// whether it is tried again. The adapter throws it as an AttemptError; axios-retry asks
// `isTransient`, and the client reports the last one's cause and reason. No error code is
// translated twice on the way.
import type { AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { errorMessage } from '../runtime/errors.js';

/** Why a call failed, for the line that tells the user what to fix. */
export type FailureCause = 'auth' | 'certificate' | 'network' | 'timeout' | 'cut-off' | 'too-large' | 'http' | 'redirect' | 'aborted';

interface Failure {
  cause: FailureCause;
  /** The answer's status, if one came. */
  status: number | null;
  /**
   * The key the attempt is counted under in the client's stats (stored in runs, exported as metrics):
   * the status, "<status>:cut-off", "<status>:bad-json", or the error code as node:http names it.
   */
  key: string;
  reason: string;
}

/** A whole 2xx answer that is not JSON: retried, then handed on as an answer, body and all (it goes to rejects). */
interface NotJson extends Omit<Failure, 'cause'> {
  cause: 'not-json';
  status: number;
  body: string;
}

export type AttemptFailure = Failure | NotJson;

/**
 * What the adapter throws for a failed attempt. axios passes it on untouched; axios-retry reads
 * `config` (to send the request again) and `response` (Retry-After of a 429 or 5xx).
 */
export class AttemptError extends Error {
  constructor(
    readonly failure: AttemptFailure,
    readonly config: InternalAxiosRequestConfig,
    /** The answer, or a 2xx's head when its body did not arrive whole. */
    readonly response?: AxiosResponse<string>,
  ) {
    super(failure.reason);
  }
}

/** A body over its cap; the client adds the setting that caps it. */
export class BodyTooLarge extends Error {}

// The path from an attempt's end to its failure.

/** The caller aborted (the poll's deadline or the collector stopping); counted as axios names a cancel. */
export const ABORTED: Failure = { cause: 'aborted', status: null, key: 'ERR_CANCELED', reason: 'aborted: the poll deadline passed or the collector is stopping' };

/** A non-2xx answer (redirects are never followed). location: its Location header. */
export function answerFailure(status: number, location: string | string[] | undefined): AttemptFailure {
  const key = String(status);
  if (status === 401 || status === 403) return { cause: 'auth', status, key, reason: `HTTP ${status}: the provider rejected the access token` };
  if (status >= 300 && status < 400) {
    return { cause: 'redirect', status, key, reason: `HTTP ${status}: redirect to ${String(location ?? '?')} refused (the token is never sent to another location)` };
  }
  return { cause: 'http', status, key, reason: `HTTP ${status}` };
}

/** A whole 2xx answer that does not parse as JSON. */
export function notJson(status: number, body: string): AttemptFailure {
  return { cause: 'not-json', status, key: `${status}:bad-json`, reason: `HTTP ${status} answer is not JSON`, body };
}

/**
 * An attempt that ended without a whole answer. err: what undici (or the body cap) threw;
 * timedOut: the attempt's own timer fired; aborted: the caller aborted; head: the status of a 2xx
 * whose head arrived before the connection closed.
 */
export function transportFailure(err: unknown, attempt: { timedOut: boolean; aborted: boolean; head: number | null }): AttemptFailure {
  // The adapter's timer is a timeout as axios named it (ECONNABORTED), retried; the caller's abort is not.
  if (attempt.timedOut) return { cause: 'timeout', status: null, key: 'ECONNABORTED', reason: 'timed out (http.timeoutMs)' };
  if (attempt.aborted) return ABORTED;
  if (err instanceof BodyTooLarge) return { cause: 'too-large', status: null, key: 'ERR_BAD_RESPONSE', reason: err.message };
  const code = nodeCode(err);
  if (attempt.head !== null) {
    const reason = `body cut off: the connection closed before the whole HTTP ${attempt.head} answer arrived (${code})`;
    return { cause: 'cut-off', status: attempt.head, key: `${attempt.head}:cut-off`, reason };
  }
  const certificate = CERTIFICATE_ERRORS.get(code);
  if (certificate !== undefined) return { cause: 'certificate', status: null, key: code, reason: `${code}: ${certificate} (TLS certificate refused, not retried)` };
  if (code === 'ETIMEDOUT' || code === 'ECONNABORTED') return { cause: 'timeout', status: null, key: code, reason: 'timed out (http.timeoutMs)' };
  return { cause: 'network', status: null, key: code, reason: `${code}: ${errorMessage(err)}` };
}

// What the client and axios-retry read.

/**
 * Whether to try again: only what may go otherwise next time. A refused token, a redirect, a 4xx
 * other than 429, a certificate or a body over the cap would fail the same way again; the caller's
 * abort (axios's own CanceledError included) ends the call.
 */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof AttemptError)) return false;
  const { cause, status } = err.failure;
  if (cause === 'http') return status === 429 || (status !== null && status >= 500 && status <= 599);
  return cause === 'network' || cause === 'timeout' || cause === 'cut-off' || cause === 'not-json';
}

/** The failure an error carries; anything else (not expected: the adapter names every failure) as a network failure. */
export function failureOf(err: unknown): AttemptFailure {
  if (err instanceof AttemptError) return err.failure;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return { cause: 'network', status: null, key: code ?? 'ERROR', reason: `${code ?? 'error'}: ${errorMessage(err)}` };
}

/**
 * The error code as node:http gives it (the runs table has counted attempts by these names since
 * before undici): undici's "other side closed" (the connection ended before the answer did) is
 * node's "socket hang up", ECONNRESET; its connect timeout is ETIMEDOUT.
 */
function nodeCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'UND_ERR_SOCKET' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return 'ECONNRESET';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'ETIMEDOUT';
  return code ?? 'ERROR';
}

/** TLS certificate errors (OpenSSL's and Node's codes): not transient, never retried; what each means. */
const CERTIFICATE_ERRORS: ReadonlyMap<string, string> = new Map([
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'the certificate is self-signed and not trusted'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'the certificate chain ends in a CA that is not trusted'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'the certificate is not trusted (its issuer is unknown)'],
  ['UNABLE_TO_GET_ISSUER_CERT', 'the certificate is not trusted (its issuer is unknown)'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'the certificate is not trusted (its issuer is unknown)'],
  ['CERT_UNTRUSTED', 'the certificate is not trusted'],
  ['CERT_HAS_EXPIRED', 'the certificate has expired'],
  ['CERT_NOT_YET_VALID', 'the certificate is not valid yet (or this clock is wrong)'],
  ['CERT_REVOKED', 'the certificate was revoked'],
  ['CERT_SIGNATURE_FAILURE', 'the certificate signature does not verify'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'the certificate does not match the host name'],
  ['HOSTNAME_MISMATCH', 'the certificate does not match the host name'],
]);

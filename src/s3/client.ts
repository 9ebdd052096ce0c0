// The S3 client the sink uses (AWS SDK v3), and the one line a user reads when S3 says no:
// each error a user can cause (bad credentials, unreachable endpoint, missing bucket) named with
// its cause and fix, never the SDK's stack or a request's headers.
//
// Every request has a deadline that aborts it (a black-holed endpoint accepts the connection and
// never answers: the SDK's requestTimeout alone only warns), and every request of a client ends at
// once when its `stop` signal fires, whatever the SDK is doing (a retry's wait, a connect).
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Logger as SdkLogger } from '@smithy/types';
import { errorMessage } from '../runtime/errors.js';
import type { Logger } from '../log/log.js';
import { s3Url, type S3Settings } from './settings.js';

/** A request's deadline: this much, plus the time its body takes at DEADLINE_FLOOR_BYTES_PER_MS. */
export const DEADLINE_BASE_MS = 30_000;
/** 50 kB/s: an 8 MiB part gets 30 s + 168 s. */
const DEADLINE_FLOOR_BYTES_PER_MS = 50;

export interface ClientOptions {
  /** The SDK's tries of one request (its own retries of 5xx, SlowDown and resets); the sink retries after that. */
  maxAttempts?: number;
  /** Ends every request of this client at once (a stop). */
  stop?: AbortSignal;
  /** The SDK's and its HTTP handler's warnings, as JSON log lines (never plain text on stderr). */
  logger?: Logger;
  /** Tests: the deadline's base (DEADLINE_BASE_MS). */
  deadlineMs?: number;
}

/** The SDK's HTTP handler, with a deadline on every request and the client's stop signal joined to each. */
class DeadlineHandler extends NodeHttpHandler {
  constructor(private readonly baseMs: number, private readonly stop: AbortSignal | undefined, logger: SdkLogger | undefined) {
    super({ connectionTimeout: 10_000, throwOnRequestTimeout: true, requestTimeout: baseMs, ...(logger ? { logger } : {}) });
  }

  override handle(...[request, options = {}]: Parameters<NodeHttpHandler['handle']>) {
    const bytes = Number(request.headers['content-length'] ?? request.headers['Content-Length'] ?? 0) || 0;
    const deadline = this.baseMs + Math.ceil(bytes / DEADLINE_FLOOR_BYTES_PER_MS);
    // requestTimeout (no answer) ends when the answer's headers arrive; the timeout signal, twice
    // that, stays on the request until its body is read too (a LIST or GET whose body stalls).
    const signals = [options.abortSignal as AbortSignal | undefined, this.stop, AbortSignal.timeout(2 * deadline)].filter((s): s is AbortSignal => s !== undefined);
    return super.handle(request, { ...options, requestTimeout: deadline, abortSignal: AbortSignal.any(signals) });
  }
}

/**
 * The SDK's logger interface onto ours: what its HTTP handler warns of (a request past its timeout,
 * sockets at capacity) becomes one JSON line. The client's own `error` calls (every failed command,
 * 404s and 412s the sink expects among them) are left out: the sink says what failed, once.
 */
function sdkLogger(logger: Logger, errors: boolean): SdkLogger {
  const line = (parts: unknown[]) => parts.map((p) => (typeof p === 'string' ? p : p instanceof Error ? p.message : JSON.stringify(p))).join(' ').split('\n')[0]?.slice(0, 500) ?? '';
  return {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (...parts: unknown[]) => void logger.warn(`s3 client: ${line(parts)}`),
    error: (...parts: unknown[]) => void (errors && logger.error(`s3 client: ${line(parts)}`)),
  };
}

export function createS3Client(s3: S3Settings, options: ClientOptions = {}): S3Client {
  return new S3Client({
    region: s3.region,
    ...(s3.endpoint !== null ? { endpoint: s3.endpoint } : {}),
    forcePathStyle: s3.forcePathStyle,
    ...(s3.accessKeyId !== null && s3.secretAccessKey !== null ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } } : {}),
    // The SDK's default CRC32 request checksums (aws-chunked, trailing headers) are refused or
    // ignored by many S3-compatible servers (Ceph 16 among them): send them only when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: options.maxAttempts ?? 4,
    requestHandler: new DeadlineHandler(options.deadlineMs ?? DEADLINE_BASE_MS, options.stop, options.logger && sdkLogger(options.logger, true)),
    ...(options.logger ? { logger: sdkLogger(options.logger, false) } : {}),
  });
}

/** The HTTP status of an S3 error (412 for a failed precondition), if it had an answer. */
export function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export const isPreconditionFailed = (err: unknown): boolean => statusOf(err) === 412 || (err as { name?: string }).name === 'PreconditionFailed';
export const isNotFound = (err: unknown): boolean => statusOf(err) === 404 || ['NotFound', 'NoSuchKey'].includes((err as { name?: string }).name ?? '');

/** One line naming what went wrong with S3, and what fixes it. */
export function s3Problem(err: unknown, s3: S3Settings): string {
  const where = `${s3Url(s3)}${s3.endpoint !== null ? ` at ${s3.endpoint}` : ''}`;
  const name = (err as { name?: string; code?: string }).name ?? '';
  const code = (err as { code?: string }).code ?? '';
  const status = statusOf(err);
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'CredentialsProviderError', 'ExpiredToken', 'InvalidToken'].includes(name) || /credential/i.test(errorMessage(err)) && !(err instanceof S3ServiceException)) {
    return `s3: the credentials were refused or not found (${name || 'no credentials'}) for ${where}; check s3.accessKeyId/s3.secretAccessKey (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY or their _FILE forms) or the AWS credential chain`;
  }
  if (name === 'NoSuchBucket') return `s3: bucket "${s3.bucket ?? ''}" does not exist at ${s3.endpoint ?? 'AWS'}; create it or fix s3.bucket (S3_BUCKET)`;
  if (name === 'AccessDenied' || status === 403) return `s3: access denied to ${where}; give these credentials s3:GetObject, PutObject, DeleteObject, ListBucket and AbortMultipartUpload on the prefix`;
  if (name === 'AbortError') return `s3: ${s3.endpoint ?? 'AWS S3'} began an answer and stopped sending it (past the request's deadline); check the network to it; shipping is retried`;
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH'].includes(code) || name === 'TimeoutError') {
    const silent = /requestTimeout/.test(errorMessage(err)) ? ': it accepted the connection but did not answer in time' : '';
    return `s3: cannot reach ${s3.endpoint ?? 'AWS S3'} (${code || name}${silent}); check s3.endpoint (S3_ENDPOINT) and the network; shipping is retried`;
  }
  if (status !== undefined && status >= 500) return `s3: the server answered ${status} (${name}) for ${where}; shipping is retried`;
  return `s3: ${name || 'error'}${status !== undefined ? ` (HTTP ${status})` : ''} for ${where}: ${errorMessage(err).split('\n')[0] ?? ''}`;
}

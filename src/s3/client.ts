// The S3 client the sink uses (AWS SDK v3), and the one line a user reads when S3 says no:
// each error a user can cause (bad credentials, unreachable endpoint, missing bucket) named with
// its cause and fix, never the SDK's stack or a request's headers.
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { errorMessage } from '../runtime/errors.js';
import { s3Url, type S3Settings } from './settings.js';

/** `maxAttempts`: the SDK's tries of one request (its own retries of 5xx, SlowDown and resets); the sink retries after that. */
export function createS3Client(s3: S3Settings, maxAttempts = 4): S3Client {
  return new S3Client({
    region: s3.region,
    ...(s3.endpoint !== null ? { endpoint: s3.endpoint } : {}),
    forcePathStyle: s3.forcePathStyle,
    ...(s3.accessKeyId !== null && s3.secretAccessKey !== null ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } } : {}),
    // The SDK's default CRC32 request checksums (aws-chunked, trailing headers) are refused or
    // ignored by many S3-compatible servers (Ceph 16 among them): send them only when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts,
    // Without limits a black-holed endpoint holds a request (and a clean stop) for ever.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
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
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH'].includes(code) || name === 'TimeoutError') {
    return `s3: cannot reach ${s3.endpoint ?? 'AWS S3'} (${code || name}); check s3.endpoint (S3_ENDPOINT) and the network; shipping is retried`;
  }
  if (status !== undefined && status >= 500) return `s3: the server answered ${status} (${name}) for ${where}; shipping is retried`;
  return `s3: ${name || 'error'}${status !== undefined ? ` (HTTP ${status})` : ''} for ${where}: ${errorMessage(err).split('\n')[0] ?? ''}`;
}

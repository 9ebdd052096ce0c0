// The S3 sink's settings (s3.*): their convict schema and formats, and their resolution after
// validation (secrets read from ..._FILE, cross-field checks, redaction). The sink is off while
// s3.bucket is unset. Credentials: s3.accessKeyId/secretAccessKey (or their _FILE forms), else
// the AWS SDK's default chain (AWS_ACCESS_KEY_ID..., ~/.aws, container and instance roles).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../runtime/errors.js';
import { REDACTED } from '../runtime/redact.js';

export interface S3Settings {
  bucket: string | null;
  prefix: string;
  endpoint: string | null;
  region: string;
  forcePathStyle: boolean;
  accessKeyId: string | null;
  accessKeyIdFile: string | null;
  secretAccessKey: string | null;
  secretAccessKeyFile: string | null;
  leaseSeconds: number;
  maxLagPolls: number;
  retentionDropsUnshipped: boolean;
  allowWithoutConditionalWrites: boolean;
}

// Bucket names as S3 allows them (3-63 lower-case letters, digits, dots, hyphens).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Formats of s3.*, added to convict's by config.ts. */
export const S3_FORMATS = {
  's3-bucket': {
    validate(value: unknown) {
      if (value !== null && (typeof value !== 'string' || !BUCKET.test(value))) throw new Error('expected a bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, e.g. "movies-data"');
    },
  },
  's3-prefix': {
    validate(value: unknown) {
      // eslint-disable-next-line no-control-regex -- control characters are what is looked for
      if (typeof value !== 'string' || value.startsWith('/') || value.split('/').some((p) => p === '.' || p === '..') || /\/\/|[\\\x00-\x1f]/.test(value)) {
        throw new Error('expected a key prefix without a leading slash, "..", "//" or control characters, e.g. "collector/prod" ("" for the bucket\'s root)');
      }
    },
  },
  'strict-boolean': {
    validate(value: unknown) {
      if (typeof value !== 'boolean') throw new Error('expected true or false');
    },
    // convict's Boolean takes anything but "false" as true (S3_FORCE_PATH_STYLE=0 would be true).
    coerce: (value: string) => (/^(true|1)$/i.test(value) ? true : /^(false|0)$/i.test(value) ? false : value),
  },
};

export function s3SettingsSchema() {
  return {
    bucket: { doc: 'Bucket the store is shipped to (unset: no shipping).', format: 's3-bucket', default: null as string | null, nullable: true, env: 'S3_BUCKET' },
    prefix: { doc: 'Key prefix in the bucket (one collector per prefix).', format: 's3-prefix', default: '', env: 'S3_PREFIX' },
    endpoint: { doc: 'Endpoint of an S3-compatible server (unset: AWS).', format: 'http-url', default: null as string | null, nullable: true, env: 'S3_ENDPOINT' },
    region: { doc: 'Region of the bucket.', format: 'non-empty-string', default: 'us-east-1', env: 'S3_REGION' },
    forcePathStyle: { doc: 'Path-style addressing (most S3-compatible servers).', format: 'strict-boolean', default: false, env: 'S3_FORCE_PATH_STYLE' },
    accessKeyId: { doc: 'Access key id (unset: the AWS default credential chain).', format: 'non-empty-string', default: null as string | null, nullable: true, sensitive: true, env: 'S3_ACCESS_KEY_ID' },
    accessKeyIdFile: { doc: 'File holding the access key id (a secret).', format: 'non-empty-string', default: null as string | null, nullable: true, env: 'S3_ACCESS_KEY_ID_FILE' },
    secretAccessKey: { doc: 'Secret access key.', format: 'non-empty-string', default: null as string | null, nullable: true, sensitive: true, env: 'S3_SECRET_ACCESS_KEY' },
    secretAccessKeyFile: { doc: 'File holding the secret access key (a secret).', format: 'non-empty-string', default: null as string | null, nullable: true, env: 'S3_SECRET_ACCESS_KEY_FILE' },
    leaseSeconds: { doc: 'Life of the prefix\'s lease; renewed every third of it.', format: 'positive-int', default: 60, env: 'S3_LEASE_SECONDS' },
    maxLagPolls: { doc: '/healthz says degraded once more polls than this wait to be shipped.', format: 'non-negative-int', default: 2, env: 'S3_MAX_LAG_POLLS' },
    retentionDropsUnshipped: { doc: 'Retention removes days not yet shipped (logged with a count).', format: 'strict-boolean', default: false, env: 'S3_RETENTION_DROPS_UNSHIPPED' },
    allowWithoutConditionalWrites: { doc: 'Ship to a server that ignores If-None-Match (no lease protection).', format: 'strict-boolean', default: false, env: 'S3_ALLOW_WITHOUT_CONDITIONAL_WRITES' },
  };
}

function readSecretFile(setting: string, file: string, cwd: string): string {
  let value: string;
  try {
    value = readFileSync(path.resolve(cwd, file), 'utf8').trim();
  } catch (err) {
    throw new ConfigError([`${setting}: cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); expected a readable file holding the value`]);
  }
  if (value === '') throw new ConfigError([`${setting}: "${file}" is empty; expected the value in it`]);
  return value;
}

/**
 * Reads the _FILE secrets and checks what convict cannot: an endpoint without credentials, keys in
 * pairs, an endpoint needs a bucket. Returns the secrets to register for redaction.
 */
export function resolveS3Settings(s3: S3Settings, cwd: string): string[] {
  // The endpoint is shown as it is (/healthz's s3.target, _s3/shipped.json): no key may ride in it.
  // Its value is not quoted, so the line cannot echo them (convict's http-url check passed: it parses).
  if (s3.endpoint !== null && hasUserinfo(s3.endpoint)) {
    throw new ConfigError(['s3.endpoint: holds a user name or password before the host (user:password@); expected the endpoint alone (S3_ENDPOINT, e.g. "http://127.0.0.1:7480"), and the keys in s3.accessKeyId/s3.secretAccessKey (S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or their _FILE forms): they would show in /healthz and the shipping log']);
  }
  if (s3.accessKeyId === null && s3.accessKeyIdFile !== null) s3.accessKeyId = readSecretFile('s3.accessKeyIdFile', s3.accessKeyIdFile, cwd);
  if (s3.secretAccessKey === null && s3.secretAccessKeyFile !== null) s3.secretAccessKey = readSecretFile('s3.secretAccessKeyFile', s3.secretAccessKeyFile, cwd);
  s3.prefix = s3.prefix.replace(/\/+$/, '');
  if ((s3.accessKeyId === null) !== (s3.secretAccessKey === null)) {
    throw new ConfigError(['s3.accessKeyId/s3.secretAccessKey: only one of the pair is set; expected both (S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or their _FILE forms), or neither to use the AWS credential chain']);
  }
  if (s3.bucket === null && s3.endpoint !== null) throw new ConfigError(['s3.bucket: not set while s3.endpoint is; expected the bucket to ship to (S3_BUCKET)']);
  return [s3.accessKeyId, s3.secretAccessKey].filter((v): v is string => v !== null);
}

/** Whether the URL has a user name or password, as the WHATWG parser reads it (percent-encoded, `http:user@host` too). */
function hasUserinfo(endpoint: string): boolean {
  try {
    const url = new URL(endpoint);
    return url.username !== '' || url.password !== '';
  } catch {
    return false; // not a URL: convict's http-url format has said so already
  }
}

/** The settings as check-config shows them: key values replaced. */
export function redactedS3(s3: S3Settings): S3Settings {
  return { ...s3, accessKeyId: s3.accessKeyId === null ? null : REDACTED, secretAccessKey: s3.secretAccessKey === null ? null : REDACTED };
}

/** s3://bucket/prefix, for messages. */
export function s3Url(s3: Pick<S3Settings, 'bucket' | 'prefix'>): string {
  return `s3://${s3.bucket ?? ''}/${s3.prefix}`;
}

// s3.* settings: validated with one line naming the setting, secrets read from _FILE, and never
// shown by check-config. The sink's one-line messages for the errors a user causes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig, redactedSettings } from '../src/config/settings.js';
import { ConfigError } from '../src/runtime/errors.js';
import { s3Problem } from '../src/s3/client.js';
import { runCli, tempDir } from './helpers.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const load = (env: Record<string, string>, cwd = '/') => loadConfig({ env: { API_TOKEN: 'tok', ...env }, cwd });

function problems(env: Record<string, string>, cwd?: string): string[] {
  try {
    load(env, cwd);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

test('s3 settings: off by default; bad values are refused with one line naming the setting', () => {
  assert.equal(load({}).settings.s3.bucket, null);
  assert.match(problems({ S3_BUCKET: 'Bad_Bucket' }).join('\n'), /^s3\.bucket: expected a bucket name/m);
  assert.match(problems({ S3_BUCKET: 'ok-bucket', S3_PREFIX: '/lead' }).join('\n'), /^s3\.prefix: expected a key prefix without a leading slash/m);
  assert.match(problems({ S3_BUCKET: 'ok-bucket', S3_PREFIX: 'a/../b' }).join('\n'), /^s3\.prefix: /m);
  assert.match(problems({ S3_BUCKET: 'ok-bucket', S3_ENDPOINT: 'ftp://x' }).join('\n'), /^s3\.endpoint: expected an http: or https: URL/m);
  assert.match(problems({ S3_BUCKET: 'ok-bucket', S3_FORCE_PATH_STYLE: 'yes' }).join('\n'), /^s3\.forcePathStyle: expected true or false/m);
  assert.equal(load({ S3_BUCKET: 'ok-bucket', S3_FORCE_PATH_STYLE: '0' }).settings.s3.forcePathStyle, false, '0 is false (convict\'s Boolean would say true)');
  assert.deepEqual(problems({ S3_BUCKET: 'ok-bucket', S3_ACCESS_KEY_ID: 'AKIAEXAMPLE' }), ['s3.accessKeyId/s3.secretAccessKey: only one of the pair is set; expected both (S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or their _FILE forms), or neither to use the AWS credential chain']);
  assert.deepEqual(problems({ S3_ENDPOINT: 'http://127.0.0.1:7480' }), ['s3.bucket: not set while s3.endpoint is; expected the bucket to ship to (S3_BUCKET)']);
  assert.equal(load({ S3_BUCKET: 'ok-bucket', S3_PREFIX: 'a/b/' }).settings.s3.prefix, 'a/b', 'a trailing slash is dropped');
});

test('s3 keys from _FILE secrets; check-config shows neither key, nor a key pasted into another setting', (t) => {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'id'), 'AKIAIOSFODNN7EXAMPLE\n');
  writeFileSync(path.join(dir, 'secret'), `${SECRET}\n`);
  const { settings } = load({ S3_BUCKET: 'ok-bucket', S3_ACCESS_KEY_ID_FILE: 'id', S3_SECRET_ACCESS_KEY_FILE: 'secret', S3_PREFIX: SECRET.slice(0, 12).replace('/', '-') }, dir);
  assert.equal(settings.s3.accessKeyId, 'AKIAIOSFODNN7EXAMPLE');
  assert.equal(settings.s3.secretAccessKey, SECRET);
  const shown = JSON.stringify(redactedSettings(settings));
  assert.doesNotMatch(shown, /AKIAIOSFODNN7EXAMPLE|wJalrXUtnFEMI/);
  assert.match(shown, /"accessKeyId":"\[redacted\]"/);
  assert.deepEqual(problems({ S3_BUCKET: 'ok-bucket', S3_SECRET_ACCESS_KEY_FILE: 'missing', S3_ACCESS_KEY_ID: 'x' }, dir), ['s3.secretAccessKeyFile: cannot read "missing" (ENOENT); expected a readable file holding the value']);
});

test('the errors a user causes read as one line with the cause and the fix', () => {
  const s3 = load({ S3_BUCKET: 'ok-bucket', S3_ENDPOINT: 'http://127.0.0.1:7480', S3_PREFIX: 'p' }).settings.s3;
  const err = (name: string, status?: number, code?: string) => Object.assign(new Error('x'), { name, code, $metadata: { httpStatusCode: status } });
  assert.equal(s3Problem(err('InvalidAccessKeyId', 403), s3), 's3: the credentials were refused or not found (InvalidAccessKeyId) for s3://ok-bucket/p at http://127.0.0.1:7480; check s3.accessKeyId/s3.secretAccessKey (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY or their _FILE forms) or the AWS credential chain');
  assert.equal(s3Problem(err('NoSuchBucket', 404), s3), 's3: bucket "ok-bucket" does not exist at http://127.0.0.1:7480; create it or fix s3.bucket (S3_BUCKET)');
  assert.equal(s3Problem(err('Error', undefined, 'ECONNREFUSED'), s3), 's3: cannot reach http://127.0.0.1:7480 (ECONNREFUSED); check s3.endpoint (S3_ENDPOINT) and the network; shipping is retried');
});

const USERINFO_REFUSED = 's3.endpoint: holds a user name or password before the host (user:password@); expected the endpoint alone (S3_ENDPOINT, e.g. "http://127.0.0.1:7480"), and the keys in s3.accessKeyId/s3.secretAccessKey (S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or their _FILE forms): they would show in /healthz and the shipping log';

test('credentials in s3.endpoint are refused in one line that names the fix and not the credentials', () => {
  // user:password, user alone, percent-encoded, and the forms the URL parser also reads as userinfo.
  for (const endpoint of ['http://minio:s3cr3tpw@127.0.0.1:9000', 'https://minio@s3.example.com', 'http://m%69nio:s3%63r3tpw@127.0.0.1:9000', 'http:minio:s3cr3tpw@127.0.0.1:9000', 'http://:s3cr3tpw@127.0.0.1:9000']) {
    const lines = problems({ S3_BUCKET: 'ok-bucket', S3_ENDPOINT: endpoint });
    assert.deepEqual(lines, [USERINFO_REFUSED], endpoint);
  }
  assert.equal(load({ S3_BUCKET: 'ok-bucket', S3_ENDPOINT: 'http://127.0.0.1:9000' }).settings.s3.endpoint, 'http://127.0.0.1:9000');
  // The provider's base URL is not concerned: its userinfo stays allowed (and redacted where shown).
  assert.equal(load({ PROVIDER_BASE_URL: 'http://user:pw@127.0.0.1:9/api/' }).settings.api.baseUrl, 'http://user:pw@127.0.0.1:9/api/');
});

test('check-config and start refuse credentials in S3_ENDPOINT with exit 78, without echoing them', async (t) => {
  const dir = tempDir(t);
  const env = { API_TOKEN: 'tok-3f9a2c', S3_BUCKET: 'ok-bucket', S3_ENDPOINT: 'http://minio:s3cr3tpw@127.0.0.1:9', DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' };
  for (const command of ['check-config', 'start']) {
    const result = await runCli([command], { cwd: dir, env });
    assert.equal(result.code, 78, `${command}: ${result.stderr}`);
    assert.equal(result.stderr, `config error: ${USERINFO_REFUSED}\n`, command);
    assert.ok(!`${result.stdout}${result.stderr}`.includes('s3cr3tpw') && !`${result.stdout}${result.stderr}`.includes('minio:'), command);
  }
});

// Secrets are redacted whole and by their pieces, but never by the pieces that are words of the
// collector's own text (issue 27): a secret chosen by a person (`my-secret-key-2026`, an S3 key
// holding `secret` or `access`) must not turn `s3.secretAccessKey` into `s3.[redacted]AccessKey`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { settingsSchema } from '../src/config/settings.js';
import { MIN_SECRET_FRAGMENT, redactText } from '../src/runtime/redact.js';

/** Secrets a person chose, made of words of the product's text. */
const WORDY = ['my-secret-key-2026', 'CollectorProviderAccess9Xq', 'supersecretaccess'];
/** Random keys: an S3-style 40-character secret access key and a 32-hex token. */
const RANDOM = ['Zq8TgK2mVbX4pLr9wNc7Hs1YdF6uJe3RkA0oPiQx', 'f3a9c2e17b4d8a06e5c1b9d2a7f40c83'];

const PRODUCT_LINES = [
  's3: the credentials were refused or not found (InvalidAccessKeyId) for s3://bkt/collector; check s3.accessKeyId/s3.secretAccessKey (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY or their _FILE forms) or the AWS credential chain',
  's3.accessKeyId/s3.secretAccessKey: only one of the pair is set; expected both (S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or their _FILE forms), or neither to use the AWS credential chain',
  '{"status":"degraded","lastPoll":{"status":"complete","movies":13,"missing":0},"s3":{"target":"s3://bkt/collector","state":"retrying","lastError":"refused"}}',
];

test('product lines stay readable when a secret holds words of them: setting names, env names, messages', () => {
  const secrets = [...WORDY, ...RANDOM];
  for (const line of PRODUCT_LINES) assert.equal(redactText(line, secrets), line);
  // Every setting's name, env name and doc, as check-config and the README show them.
  const schema = JSON.stringify(settingsSchema(), null, 2);
  assert.equal(redactText(schema, secrets), schema);
});

test('a secret made of words is still redacted whole, in every form, and by excerpts that are not a word alone', () => {
  const [dashed = '', , letters = ''] = WORDY;
  const hex = (c: string) => c.charCodeAt(0).toString(16);
  const forms = [
    dashed,
    dashed.toUpperCase(),
    'ｍｙ－ｓｅｃｒｅｔ－ｋｅｙ－２０２６',
    [...dashed].map((c) => `%${hex(c)}`).join(''),
    [...dashed].map((c) => `\\u${hex(c).padStart(4, '0')}`).join(''),
  ];
  for (const form of forms) assert.equal(redactText(`key ${form} refused`, WORDY), 'key [redacted] refused', form);
  // Excerpts that cross a symbol or a digit, or letters no product word has.
  for (const excerpt of ['my-secret', 'secret-key', 'key-2026', 'SECRET-KEY-20', 'ersecretacc', 'supersecret', letters.toUpperCase()]) {
    assert.equal(redactText(`x ${excerpt} y`, WORDY), 'x [redacted] y', excerpt);
  }
  // A word of the secret next to a piece that counts is hidden with it, not left beside [redacted].
  assert.equal(redactText('bad value my-secret', WORDY), 'bad value [redacted]');
  // The documented limit: a piece with a symbol counts, even between words (`-access-` in x-access-token).
  assert.equal(redactText('header x-access-token', ['collector-provider-access-9Xq']), 'header x[redacted]token');
});

test('an excerpt of a random key, cut anywhere, is redacted from MIN_SECRET_FRAGMENT characters on', () => {
  for (const secret of RANDOM) {
    for (let length = MIN_SECRET_FRAGMENT; length <= secret.length; length++) {
      for (let at = 0; at + length <= secret.length; at++) {
        const excerpt = secret.slice(at, at + length);
        assert.equal(redactText(`..."${excerpt}"... is not valid JSON`, RANDOM), '..."[redacted]"... is not valid JSON', excerpt);
      }
    }
  }
});

test('a secret shorter than the shortest piece is replaced where it stands alone, never inside a word: a one-letter key leaves "ok" and "expected" alone', () => {
  assert.equal(redactText('{"status":"ok"} expected key=k, "k" and K alone', ['k']), '{"status":"ok"} expected key=[redacted], "[redacted]" and [redacted] alone');
  assert.equal(redactText('token abc12 in abc123 and xabc12', ['abc12']), 'token [redacted] in abc123 and xabc12');
  assert.equal(redactText('Bearer%20abc12%2F', ['abc12']), 'Bearer%20[redacted]%2F', 'encoded neighbours are not letters');
});

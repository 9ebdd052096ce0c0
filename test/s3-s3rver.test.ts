// s3rver (npm) is an S3 server that ignores conditional writes (If-None-Match: * overwrites): the
// case the sink must detect at start and report, never trust. Quick, no Ceph needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import S3rver from 's3rver';
import winston from 'winston';
import { createS3Client } from '../src/s3/client.js';
import { probeConditionalWrites } from '../src/s3/lease.js';
import { S3Sink, type HealthTarget } from '../src/s3/sink.js';
import { tempDir } from './helpers.js';
import { expectedKeys, listKeys, s3Settings } from './s3-helpers.js';
import { writePoll } from './store-fixture.js';

const logger = winston.createLogger({ silent: true });
const KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }; // s3rver's built-in account

test('a server that ignores conditional writes is detected and reported, and nothing is shipped unless s3.allowWithoutConditionalWrites', async (t) => {
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: tempDir(t), configureBuckets: [{ name: 'ignores' }] });
  const { port } = await server.run();
  t.after(() => server.close());
  const settings = s3Settings(`http://127.0.0.1:${port}`, KEYS, 'ignores', 'p');
  const client = createS3Client(settings);
  t.after(() => client.destroy());
  assert.equal(await probeConditionalWrites(client, 'ignores', 'p', 'store-a'), false);

  const root = tempDir(t);
  await writePoll(root, new Date(), 'complete', 2);
  const health: HealthTarget = { degraded: {} };
  const sink = new S3Sink({ root, settings, logger, health, retryMs: { min: 10_000, max: 10_000 } });
  t.after(() => sink.stop());
  await assert.rejects(sink.shipNow(), /^ConditionalWritesIgnored: s3: the server at http:\/\/127\.0\.0\.1:\d+ ignores conditional writes \(a second PUT with If-None-Match: \* overwrote the first\): its lease cannot keep a second collector off s3:\/\/ignores\/p, so nothing is shipped; use a server that honours them .* or set s3\.allowWithoutConditionalWrites=true/);
  sink.start();
  while (health.s3?.state === undefined || health.s3.state === 'starting' || health.s3.state === 'shipping') await new Promise((r) => setTimeout(r, 20));
  assert.equal(health.s3.state, 'refused');
  assert.match(health.degraded.s3 ?? '', /^s3: lagging 1 polls \(s3: the server .* ignores conditional writes/);
  assert.deepEqual((await listKeys(client, 'ignores', 'p')).filter((k) => k.endsWith('.parquet')), []);

  const allowed = new S3Sink({ root, settings: { ...settings, allowWithoutConditionalWrites: true }, logger });
  t.after(() => allowed.stop());
  await allowed.shipNow();
  assert.deepEqual((await listKeys(client, 'ignores', 'p')).filter((k) => k.endsWith('.parquet')), expectedKeys(root, 'p'));
});

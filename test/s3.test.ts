// The S3 sink against a real S3 implementation: Debian's Ceph radosgw on a one-host cluster
// started for this file (test/ceph.ts), with a fault proxy in front where a test needs faults.
// Objects are read back by downloading them (DuckDB here cannot load httpfs) and reading them
// with DuckDB by docs/s3.md's rule.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import winston from 'winston';
import { createS3Client } from '../src/s3/client.js';
import { Lease, probeConditionalWrites } from '../src/s3/lease.js';
import type { S3Settings } from '../src/s3/settings.js';
import { S3Sink, type HealthTarget } from '../src/s3/sink.js';
import { compactStore } from '../src/store/maintenance.js';
import { applyRetention } from '../src/store/retention.js';
import { startMockProvider } from '../src/mock/server.js';
import { cephInstalled, startCluster, type Cluster } from './ceph.js';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';
import { Mirror, createBucket, expectedKeys, globCount, listKeys, openMultipartUploads, ruleDigest, s3Settings, stateOf, stepDigest, until } from './s3-helpers.js';
import { startFaultProxy, type Fault } from './s3-proxy.js';
import { writeDays, writePoll } from './store-fixture.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 's3-child.js');
const logger = winston.createLogger({ silent: true });
const TABLES = ['movies', 'rejects', 'runs'] as const;
const skip = cephInstalled() ? false : 'Ceph is not installed (npm test\'s pretest installs ceph-mon, ceph-osd, radosgw, ceph-common)';

let cluster: Cluster;
let admin: S3Client;
let bucketNo = 0;

before(async () => {
  if (skip) return;
  cluster = await startCluster();
  admin = createS3Client(s3Settings(cluster.endpoint, cluster, 'x', ''));
}, { timeout: 120_000 });

after(async () => {
  admin?.destroy();
  await cluster?.stop();
});

/** A new bucket for one test, and settings that ship to it (through `endpoint`, a proxy, if given). */
async function target(prefix: string, extra: Partial<S3Settings> = {}, endpoint = cluster.endpoint): Promise<S3Settings> {
  const bucket = `t${process.pid}-${++bucketNo}`;
  await createBucket(admin, bucket);
  return s3Settings(endpoint, cluster, bucket, prefix, extra);
}


const dataKeys = (keys: string[]) => keys.filter((k) => k.endsWith('.parquet'));

async function digests(root: string) {
  return Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await ruleDigest(root, t)] as const)));
}

test('a store is shipped data first, each poll\'s runs object last; a second pass, and a pass after the ship log is lost, upload nothing', { skip }, async (t) => {
  const root = tempDir(t);
  await writeDays(root);
  const settings = await target('collector/a');
  const events: string[] = [];
  const sink = new S3Sink({ root, settings, logger, afterObject: (e) => void events.push(`${e.kind} ${e.key}`) });
  t.after(() => sink.stop());
  const first = await sink.shipNow();
  assert.equal(first.uploaded, expectedKeys(root, settings.prefix).length);
  assert.deepEqual(dataKeys(await listKeys(admin, settings.bucket ?? '', settings.prefix)), expectedKeys(root, settings.prefix));
  // Every poll's movies and rejects objects went up before its runs object.
  const order = events.map((e) => e.split(' ')[1] ?? '');
  for (const [i, key] of order.entries()) {
    const run = /\/([^/]+)\.parquet$/.exec(key)?.[1] ?? '';
    if (key.includes('/runs/')) assert.ok(order.slice(i + 1).every((k) => !k.includes(`${run}.parquet`)), `objects of ${run} after its runs object`);
  }
  assert.deepEqual(await sink.shipNow(), { uploaded: 0, deleted: 0, bytes: 0 });
  rmSync(path.join(root, '_s3'), { recursive: true });
  const sink2 = new S3Sink({ root, settings, logger });
  t.after(() => sink2.stop());
  await sink.stop(); // releases the lease for sink2
  const again = await sink2.shipNow();
  assert.equal(again.uploaded, 0, 'objects already there (the LIST at start: same key and size) are not uploaded again');
  const log = JSON.parse(readFileSync(path.join(root, '_s3', 'shipped.json'), 'utf8')) as { objects: Record<string, unknown> };
  assert.equal(Object.keys(log.objects).length, first.uploaded, 'the ship log learned them from the bucket');
  const mirror = new Mirror(admin, settings.bucket ?? '', settings.prefix, tempDir(t));
  await mirror.sync();
  assert.deepEqual(await digests(mirror.dir), await digests(root), 'rows and checksums read back from the bucket');
});

test('a compacted day replaces its polls in the bucket: the documented rule reads every committed row once at every step; a plain glob double-counts only in between', { skip }, async (t) => {
  const root = tempDir(t);
  await writeDays(root, 0);
  const settings = await target('');
  const mirror = new Mirror(admin, settings.bucket ?? '', settings.prefix, tempDir(t));
  const expected = await digests(root);
  const sink = new S3Sink({ root, settings, logger });
  t.after(() => sink.stop());
  await sink.shipNow();
  await compactStore(root, 0, logger);
  const compacted = await digests(root);
  assert.deepEqual(compacted, expected, 'compaction keeps the rows');
  // After each object the replacement uploads or deletes, a reader downloads the bucket and reads it.
  const seen: Array<{ movies: number; glob: number }> = [];
  const sink2 = new S3Sink({
    root, settings, logger,
    afterObject: async () => {
      await mirror.sync();
      const step = await stepDigest(mirror.dir);
      assert.deepEqual(step.tables, expected, 'the rule\'s rows at a step of the replacement');
      seen.push({ movies: step.tables.movies?.rows ?? 0, glob: step.globMovies });
    },
  });
  t.after(() => sink2.stop());
  await sink.stop();
  const pass = await sink2.shipNow(); // the hook is awaited between objects: every step of the replacement is read
  assert.ok(pass.uploaded > 0 && pass.deleted > 0, `the replacement uploaded ${pass.uploaded} and deleted ${pass.deleted}`);
  assert.ok(seen.some((s) => s.glob > s.movies), 'a plain glob sees both the polls and the compacted file in between');
  await mirror.sync();
  assert.equal(await globCount(mirror.dir, 'movies'), expected.movies?.rows, 'after the pass, a plain glob counts each row once too');
  assert.deepEqual(dataKeys(await listKeys(admin, settings.bucket ?? '', '')), expectedKeys(root, ''));
});

test('one writer per prefix: a second collector is refused with one line naming the holder; a dead holder\'s lease is taken over', { skip }, async (t) => {
  const settings = await target('shared', { leaseSeconds: 30 });
  assert.equal(await probeConditionalWrites(admin, settings.bucket ?? '', settings.prefix, 'store-a'), true, 'radosgw refuses a second If-None-Match: * write');
  const holder = spawn(process.execPath, [CHILD, JSON.stringify({ mode: 'hold', root: tempDir(t), settings })], { stdio: ['ignore', 'pipe', 'inherit'] });
  holder.on('exit', (code, signal) => process.stderr.write(`holder exited ${code} ${signal}\n`));
  t.after(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    holder.once('exit', () => reject(new Error('the holder exited')));
  });
  const client = createS3Client(settings);
  t.after(() => client.destroy());
  const second = new Lease(client, settings.bucket ?? '', settings.prefix, settings.leaseSeconds);
  await assert.rejects(second.acquire(), (err: Error) => {
    assert.match(err.message, new RegExp(`^s3: s3://${settings.bucket ?? ''}/shared is leased by another collector \\(pid ${holder.pid ?? 0} on host .+, since .+\\): one collector ships to a prefix at a time; stop the other one or set another s3.prefix`));
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  // The sink says the same in its status (and /healthz), and ships nothing.
  const root = tempDir(t);
  await writePoll(root, new Date(), 'complete', 2);
  const health: HealthTarget = { degraded: {} };
  const sink = new S3Sink({ root, settings, logger, health, retryMs: { min: 50, max: 200 } });
  t.after(() => sink.stop());
  sink.start();
  await until(() => stateOf(health) === 'refused', `the sink to be refused (now ${JSON.stringify(health.s3)})`);
  assert.match(health.degraded.s3 ?? '', /^s3: lagging 1 polls \(s3: .* is leased by another collector \(pid /);
  assert.deepEqual(dataKeys(await listKeys(admin, settings.bucket ?? '', 'shared')), []);
  // The holder dies (SIGKILL: no release); on this host a dead pid is taken over at once.
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));
  sink.nudge();
  await until(() => stateOf(health) === 'idle', `the sink to ship (now ${JSON.stringify(health.s3)})`);
  assert.deepEqual(dataKeys(await listKeys(admin, settings.bucket ?? '', 'shared')), expectedKeys(root, 'shared'));
  assert.equal(health.degraded.s3, undefined);
  // An expired lease of a holder elsewhere is taken over too (a short lease, not renewed).
  const other = new Lease(client, settings.bucket ?? '', 'expiring', 1);
  await other.acquire();
  await new Promise((r) => setTimeout(r, 1100));
  await new Lease(client, settings.bucket ?? '', 'expiring', 30).acquire();
  await assert.rejects(other.renew(), /taken over by another collector/);
});

test('retention keeps days not yet shipped, unless told to drop them (then it logs how many polls the bucket never got)', { skip }, async (t) => {
  const root = tempDir(t);
  await writeDays(root, 0);
  const settings = await target('retention', {}, 'http://127.0.0.1:9'); // nothing listens: nothing gets shipped
  const sink = new S3Sink({ root, settings, logger, retryMs: { min: 10_000, max: 10_000 } });
  t.after(() => sink.stop());
  await assert.rejects(sink.shipNow(), (err: Error) => /ECONNREFUSED|connect/i.test(String(err)) || err.name === 'TimeoutError');
  const now = new Date(Date.UTC(2026, 10, 30));
  // Nothing was shipped: every day is kept.
  assert.deepEqual(await applyRetention(root, 5, now, logger, undefined, sink.retentionGuard()), []);
  const ok = await target('retention');
  const shipped = new S3Sink({ root, settings: ok, logger });
  t.after(() => shipped.stop());
  await shipped.shipNow();
  await writePoll(root, new Date(Date.UTC(2026, 10, 21, 5)), 'complete', 2); // a late poll, not shipped
  const kept = await applyRetention(root, 5, now, logger, undefined, shipped.retentionGuard());
  assert.deepEqual(kept.sort(), ['movies/dt=2026-11-20', 'movies/dt=2026-11-23', 'rejects/dt=2026-11-20', 'rejects/dt=2026-11-23', 'runs/dt=2026-11-20', 'runs/dt=2026-11-23'], 'shipped days go, the day with an unshipped poll stays');
  assert.ok(existsSync(path.join(root, 'runs', 'dt=2026-11-21')));
  const lines: string[] = [];
  const capture = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
  capture.on('data', (info: { message: string }) => lines.push(info.message));
  const forced = new S3Sink({ root, settings: { ...ok, retentionDropsUnshipped: true }, logger: capture });
  t.after(() => forced.stop());
  await shipped.stop();
  await forced.shipNow(); // reads the ship log, ships the late poll
  await writePoll(root, new Date(Date.UTC(2026, 10, 21, 6)), 'complete', 2); // another, not shipped
  const dropped = await applyRetention(root, 5, now, capture, undefined, forced.retentionGuard());
  assert.ok(dropped.includes('runs/dt=2026-11-21'));
  assert.ok(lines.some((l) => /^retention: removing day 2026-11-21 with 1 poll\(s\) not shipped to S3/.test(l)), lines.join('\n'));
});

test('faults: 500, 503 SlowDown, resets mid-upload and an outage: the bucket converges to the store, nothing duplicated, no multipart upload left open', { skip }, async (t) => {
  const root = tempDir(t);
  await writeDays(root, 0);
  await compactStore(root, 0, logger);
  await writePoll(root, new Date(Date.UTC(2026, 10, 20, 12)), 'partial'); // a late poll on a compacted day
  let outage = true;
  let n = 0;
  const faults: Fault[] = ['500', '503', 'reset', 'pass', 'pass', 'pass'];
  const proxy = await startFaultProxy(cluster.endpoint, () => (outage ? 'down' : faults[n++ % faults.length] ?? 'pass'));
  t.after(() => proxy.close());
  const settings = await target('faults', {}, proxy.endpoint);
  const health: HealthTarget = { degraded: {} };
  const sink = new S3Sink({ root, settings, logger, health, retryMs: { min: 20, max: 100 } });
  t.after(() => sink.stop());
  sink.start();
  // Unreachable at start: degraded with the lag and the cause, polls go on regardless (nothing here waits on the sink).
  await until(() => stateOf(health) === 'retrying' && (health.s3?.lastError ?? '').includes('cannot reach'), `the sink to retry (now ${JSON.stringify(health.s3)})`);
  assert.match(health.s3?.lastError ?? '', /^s3: cannot reach http:\/\/127\.0\.0\.1:\d+ \(\w+\); check s3\.endpoint \(S3_ENDPOINT\) and the network; shipping is retried$/);
  outage = false;
  sink.nudge();
  await until(() => stateOf(health) === 'idle', `the sink to catch up (now ${JSON.stringify(health.s3)})`);
  assert.ok(proxy.counts['500'] > 0 && proxy.counts['503'] > 0 && proxy.counts.reset > 0, JSON.stringify(proxy.counts));
  assert.deepEqual(dataKeys(await listKeys(admin, settings.bucket ?? '', 'faults')), expectedKeys(root, 'faults'));
  assert.equal(await openMultipartUploads(admin, settings.bucket ?? ''), 0);
  const mirror = new Mirror(admin, settings.bucket ?? '', 'faults', tempDir(t));
  await mirror.sync();
  assert.deepEqual(await digests(mirror.dir), await digests(root));
  assert.equal(await globCount(mirror.dir, 'movies'), (await ruleDigest(root, 'movies'))?.rows);
});

test('a multipart upload cut between parts is aborted (nothing left open, no object)', { skip }, async (t) => {
  const settings = await target('multipart');
  let parts = 0;
  const proxy = await startFaultProxy(cluster.endpoint, (req) => (req.method === 'PUT' && /partNumber=2/.test(req.url ?? '') && ++parts > 0 ? 'reset' : 'pass'));
  t.after(() => proxy.close());
  const client = createS3Client({ ...settings, endpoint: proxy.endpoint });
  t.after(() => client.destroy());
  const body = Buffer.alloc(12 * 1024 * 1024, 7);
  const up = new Upload({ client, params: { Bucket: settings.bucket ?? '', Key: 'multipart/big.parquet', Body: body }, partSize: 5 * 1024 * 1024, queueSize: 1, leavePartsOnError: false });
  await assert.rejects(up.done());
  assert.ok(parts > 0);
  assert.equal(await openMultipartUploads(admin, settings.bucket ?? ''), 0);
  assert.deepEqual(await listKeys(admin, settings.bucket ?? '', 'multipart'), []);
});

test('SIGKILL while shipping, at random moments: the bucket converges to exactly the committed store', { skip, timeout: 300_000 }, async (t) => {
  const root = tempDir(t);
  await writeDays(root, 3);
  const proxy = await startFaultProxy(cluster.endpoint, () => 'pass', 10); // slower requests: time-based kills land mid-pass more often
  t.after(() => proxy.close());
  const settings = await target('kills', {}, proxy.endpoint);
  // Killed either at a random time, or a random 0-40 ms after its k-th object (k random): both
  // land anywhere in a pass, the second surely inside one (a pass is short next to Node's start).
  const run = (kill: { afterMs: number } | { afterObjects: number } | null) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify({ mode: 'ship', root, settings })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let objects = 0;
    child.stdout.setEncoding('utf8'); // whole characters, even when one spans two chunks
    child.stdout.on('data', (d: string) => {
      out += d;
      objects += d.split('\n').filter((l) => /^(uploaded|deleted) /.test(l)).length;
      if (kill && 'afterObjects' in kill && objects >= kill.afterObjects) setTimeout(() => child.kill('SIGKILL'), Math.random() * 40);
    });
    child.stderr.setEncoding('utf8'); // whole characters, even when one spans two chunks
    child.stderr.on('data', (d: string) => (out += d));
    const timer = kill && 'afterMs' in kill ? setTimeout(() => child.kill('SIGKILL'), kill.afterMs) : null;
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, out });
    });
  });
  let killedMidPass = 0;
  const ITERATIONS = 20;
  for (let i = 0; i < ITERATIONS; i++) {
    // Work for every run: two new polls; every fifth, a late poll on a closed day and its
    // compaction (the bucket must follow a replacement too).
    await writePoll(root, new Date(Date.now() - i * 60_000), 'complete', 3);
    await writePoll(root, new Date(Date.now() - i * 60_000 - 30_000), 'partial', 3);
    if (i % 5 === 4) {
      await writePoll(root, new Date(Date.UTC(2026, 10, 20, 12, i)), 'partial', 3);
      await compactStore(root, 0, logger);
    }
    const r = await run(i % 2 === 0 ? { afterObjects: 1 + Math.floor(Math.random() * 9) } : { afterMs: 150 + Math.floor(Math.random() * 700) });
    if (r.code === null && /^(uploaded|deleted) /m.test(r.out)) killedMidPass++;
    assert.ok(r.code === null || r.code === 0, `the child failed: ${r.out}`);
  }
  const last = await run(null);
  assert.equal(last.code, 0, last.out);
  assert.ok(killedMidPass >= 8, `only ${killedMidPass} of ${ITERATIONS} kills landed mid-pass`);
  assert.deepEqual(dataKeys(await listKeys(admin, settings.bucket ?? '', 'kills')), expectedKeys(root, 'kills'));
  assert.equal(await openMultipartUploads(admin, settings.bucket ?? ''), 0);
  const mirror = new Mirror(admin, settings.bucket ?? '', 'kills', tempDir(t));
  await mirror.sync();
  assert.deepEqual(await digests(mirror.dir), await digests(root));
  assert.deepEqual(readdirSync(path.join(root, '_s3')).filter((f) => f.endsWith('.tmp')), [], 'no temp file of the ship log left');
});

test('the daemon ships each poll after its commit; /healthz shows s3 and /metrics counts; a stop releases the lease', { skip }, async (t) => {
  const mock = await startMockProvider({ movies: 3 });
  t.after(() => mock.close());
  const settings = await target('daemon');
  const cwd = tempDir(t);
  const daemon = await startDaemon(t, mock, cwd, {
    SCHEDULE_CRON: '*/2 * * * * *', S3_BUCKET: settings.bucket ?? '', S3_PREFIX: 'daemon', S3_ENDPOINT: cluster.endpoint, S3_FORCE_PATH_STYLE: 'true',
    S3_ACCESS_KEY_ID: cluster.accessKeyId, S3_SECRET_ACCESS_KEY: cluster.secretAccessKey,
  });
  await daemon.waitForCount(pollDone, 2, 30_000);
  await daemon.waitFor(isMessage(/^s3: shipped$/), 30_000);
  const health = JSON.parse(await (await fetch(`http://127.0.0.1:${daemon.healthPort}/healthz`)).text()) as { status: string; s3?: { state: string; shippedObjects: number } };
  assert.ok(health.s3 && health.s3.shippedObjects > 0, JSON.stringify(health));
  const metrics = await (await fetch(`http://127.0.0.1:${daemon.healthPort}/metrics`)).text();
  assert.match(metrics, /^collector_s3_shipped_objects_total [1-9]/m);
  assert.match(metrics, /^collector_s3_pending_polls \d+/m);
  assert.doesNotMatch(JSON.stringify(daemon.lines), new RegExp(cluster.secretAccessKey));
  assert.equal(await daemon.stop(), 0);
  const keys = await listKeys(admin, settings.bucket ?? '', 'daemon');
  assert.ok(!keys.includes('daemon/_lease.json'), 'a clean stop deletes the lease');
  assert.ok(keys.some((k) => k.startsWith('daemon/runs/')));
});

test('what a user gets wrong reads as one line against the real server: a missing bucket, a wrong secret', { skip }, async (t) => {
  const root = tempDir(t);
  await writePoll(root, new Date(), 'complete', 2);
  const cases: Array<[Partial<S3Settings>, RegExp]> = [
    [{ bucket: 'no-such-bucket' }, /^s3: bucket "no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+; create it or fix s3\.bucket \(S3_BUCKET\)$/],
    [{ secretAccessKey: 'wrong-secret' }, /^s3: the credentials were refused or not found \(SignatureDoesNotMatch\) for s3:\/\/.+; check s3\.accessKeyId\/s3\.secretAccessKey/],
  ];
  for (const [extra, line] of cases) {
    const health: HealthTarget = { degraded: {} };
    const sink = new S3Sink({ root, settings: { ...(await target('oops')), ...extra }, logger, health, retryMs: { min: 60_000, max: 60_000 } });
    t.after(() => sink.stop());
    sink.start();
    await until(() => health.s3?.lastError !== null && health.s3?.lastError !== undefined, 'the first failed pass');
    assert.match(health.s3?.lastError ?? '', line);
  }
});

test('hours of outage on a simulated clock: retries back off to 5 minutes, nothing blocks, then the backlog ships in order, each object once', { skip }, async (t) => {
  const root = tempDir(t);
  await writeDays(root, 0);
  let outage = true;
  const proxy = await startFaultProxy(cluster.endpoint, () => (outage ? 'down' : 'pass'));
  t.after(() => proxy.close());
  const settings = await target('outage', {}, proxy.endpoint);
  let clock = 0; // simulated ms
  const waits: number[] = [];
  const order: string[] = [];
  const health: HealthTarget = { degraded: {} };
  const sink = new S3Sink({
    root, settings, logger, health, maxAttempts: 1,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
      if (clock > 2 * 3_600_000) outage = false; // two hours later the server answers again
      if (clock > 3_600_000 && clock - ms <= 3_600_000) await writePoll(root, new Date(Date.UTC(2026, 10, 24, 1)), 'complete', 2); // a poll committed during the outage
      await new Promise((r) => setImmediate(r));
    },
    afterObject: (e) => void order.push(e.key),
  });
  t.after(() => sink.stop());
  sink.start();
  await until(() => stateOf(health) === 'idle', `the backlog to ship (now ${JSON.stringify(health.s3)})`);
  const failed = waits.filter((w) => w > 0);
  assert.ok(failed.length >= 10 && failed.length <= 60, `${failed.length} waits in 2 simulated hours`);
  assert.equal(Math.max(...failed), 300_000, 'the backoff is capped at 5 minutes');
  assert.deepEqual([...failed.slice(0, 4)], [1_000, 2_000, 4_000, 8_000]);
  assert.deepEqual([...order].sort(), expectedKeys(root, 'outage'), 'each object uploaded once');
  const dts = order.map((k) => /dt=(\d{4}-\d{2}-\d{2})/.exec(k)?.[1] ?? '');
  assert.deepEqual(dts, [...dts].sort(), 'days shipped oldest first');
  assert.deepEqual(dataKeys(await listKeys(admin, settings.bucket ?? '', 'outage')), expectedKeys(root, 'outage'));
});

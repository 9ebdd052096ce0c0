// The bucket under failover and black holes, against Debian's Ceph radosgw (test/ceph.ts): a new
// holder deletes nothing another collector shipped; one host name proves no death; a silent
// endpoint never holds /healthz or a stop; a tampered or deleted object is shipped again; what a
// crash leaves of the start's probe is cleaned up; a lease that is not one is named in one line.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import winston from 'winston';
import { createS3Client } from '../src/s3/client.js';
import { deleteStaleProbes } from '../src/s3/lease.js';
import type { S3Settings } from '../src/s3/settings.js';
import { S3Sink, type HealthTarget } from '../src/s3/sink.js';
import { committedFiles } from '../src/s3/local-index.js';
import { compactStore } from '../src/store/maintenance.js';
import { TABLES } from '../src/store/layout.js';
import { startMockProvider } from '../src/mock/server.js';
import { cephInstalled, startCluster, type Cluster } from './ceph.js';
import { isMessage, pollDone, startDaemon } from './daemon-helpers.js';
import { query } from './duckdb.js';
import { tempDir } from './helpers.js';
import { Mirror, createBucket, listKeys, ruleDigest, ruleSql, s3Settings, stateOf, until } from './s3-helpers.js';
import { startFaultProxy } from './s3-proxy.js';
import { writePoll } from './store-fixture.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 's3-child.js');
const logger = winston.createLogger({ silent: true });
const skip = cephInstalled() ? false : 'Ceph is not installed (npm test\'s pretest installs ceph-mon, ceph-osd, radosgw, ceph-common)';
const noNamespaces = process.getuid?.() === 0 && existsSync('/usr/bin/unshare') ? false : 'needs root and unshare(1) for pid namespaces';

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

async function target(prefix: string, extra: Partial<S3Settings> = {}, endpoint = cluster.endpoint): Promise<S3Settings> {
  const bucket = `f${process.pid}-${++bucketNo}`;
  await createBucket(admin, bucket);
  return s3Settings(endpoint, cluster, bucket, prefix, extra);
}



/** A logger whose messages the test reads. */
function capture(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const log = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
  log.on('data', (info: { message: string }) => lines.push(info.message));
  return { logger: log, lines };
}

/** The child (test/s3-child.ts) in `mode`, its stdout gathered; in a pid namespace of its own (pid 1, as in a container) when `ownPidNamespace`. */
function child(mode: string, root: string, settings: S3Settings, ownPidNamespace = false) {
  const args = [CHILD, JSON.stringify({ mode, root, settings })];
  const proc = (ownPidNamespace
    ? spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', process.execPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })) as ChildProcessWithoutNullStreams;
  let out = '';
  proc.stdout.setEncoding('utf8'); // whole characters, even when one spans two chunks
  proc.stdout.on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8'); // whole characters, even when one spans two chunks
  proc.stderr.on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, exited, out: () => out };
}

/** 'held' once the child says so, else its exit code. */
function outcome(c: ReturnType<typeof child>): Promise<'held' | number | null> {
  return Promise.race([c.exited, until(() => /^held/m.test(c.out()), 'a holder', 20_000).then(() => 'held' as const)]);
}

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const out = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

test('failover, then compaction: the new holder deletes only the objects whose runs its compacted files hold; the old holder\'s polls of that day stay, and the rule reads both', { skip, timeout: 120_000 }, async (t) => {
  const settings = await target('failover', { leaseSeconds: 4 });
  const bucket = settings.bucket ?? '';
  const [rootA, rootB] = [tempDir(t), tempDir(t)];
  const at = (h: number, m = 15) => new Date(Date.UTC(2026, 10, 20, h, m));
  await writePoll(rootA, at(8), 'complete', 4);
  await writePoll(rootA, at(9), 'partial', 4);
  await writePoll(rootB, at(8, 45), 'complete', 4);
  await writePoll(rootB, at(9, 45), 'partial', 4);
  // A ships its two polls of the day and keeps the lease.
  const a = child('ship-hold', rootA, settings);
  t.after(() => a.proc.kill('SIGKILL'));
  await until(() => a.out().includes('held'), `A to ship (${a.out()})`);
  const aKeys = (await listKeys(admin, bucket, 'failover')).filter((k) => k.endsWith('.parquet'));
  assert.ok(aKeys.length >= 6, aKeys.join('\n'));
  // B is refused while A lives.
  const health: HealthTarget = { degraded: {} };
  const b = new S3Sink({ root: rootB, settings, logger, health, retryMs: { min: 100, max: 400 } });
  t.after(() => b.stop());
  b.start();
  await until(() => stateOf(health) === 'refused', `B to be refused (${JSON.stringify(health.s3)})`);
  // A dies holding the lease; B takes it over and ships its own polls beside A's.
  a.proc.kill('SIGKILL');
  await a.exited;
  b.nudge();
  await until(() => stateOf(health) === 'idle' && health.s3?.pendingObjects === 0, `B to ship (${JSON.stringify(health.s3)})`);
  const bPollKeys = committedFiles(rootB).map((f) => `failover/${f.rel}`);
  // B compacts its own copy of the day and ships the replacement.
  await compactStore(rootB, 0, logger);
  b.nudge();
  await until(() => stateOf(health) === 'idle' && health.s3?.pendingObjects === 0, `B to ship its compaction (${JSON.stringify(health.s3)})`);
  const keys = await listKeys(admin, bucket, 'failover');
  assert.deepEqual(aKeys.filter((k) => !keys.includes(k)), [], 'every object A shipped is still there');
  assert.deepEqual(bPollKeys.filter((k) => keys.includes(k)), [], 'B\'s own poll objects were replaced by its compacted ones');
  // The rule reads A's rows and B's, each once: 4 runs.
  const mirror = new Mirror(admin, bucket, 'failover', tempDir(t));
  await mirror.sync();
  for (const table of ['movies', 'rejects', 'runs'] as const) {
    const [inA, inB, read] = [await ruleDigest(rootA, table), await ruleDigest(rootB, table), await ruleDigest(mirror.dir, table)];
    assert.equal(read?.rows, (inA?.rows ?? 0) + (inB?.rows ?? 0), `${table}: the bucket holds both collectors' rows`);
  }
  const [runs] = await query(`SELECT count(DISTINCT run)::INT AS n FROM ${ruleSql(mirror.dir, 'runs')} r`);
  assert.equal(runs?.n, 4);
});

test('two collectors with one host name and one pid (each in its own pid namespace, as containers with a fixed hostname): the second is refused, and takes the lease only once it expires', { skip: skip || noNamespaces, timeout: 60_000 }, async (t) => {
  const settings = await target('samehost', { leaseSeconds: 6 });
  const first = child('hold', tempDir(t), settings, true);
  t.after(() => first.proc.kill('SIGKILL'));
  await until(() => /held \d+/.test(first.out()), `the first to hold (${first.out()})`);
  assert.match(first.out(), /^held 1 /m, 'pid 1 in its namespace');
  const second = child('hold', tempDir(t), settings, true);
  t.after(() => second.proc.kill('SIGKILL'));
  assert.equal(await outcome(second), 2, second.out());
  assert.match(second.out(), new RegExp(`^refused s3: s3://${settings.bucket ?? ''}/samehost is leased by another collector \\(pid 1 on host ${hostname()}, `, 'm'));
  // A third waits, retrying, while the first dies without releasing: from another namespace nothing
  // proves that death, so the lease is waited out.
  const third = child('await', tempDir(t), settings, true);
  t.after(() => third.proc.kill('SIGKILL'));
  await until(() => third.out().includes('waiting'), `the third to wait (${third.out()})`);
  const lease = JSON.parse((await objectBytes(settings.bucket ?? '', 'samehost/_lease.json')).toString()) as { expiresAt: string };
  first.proc.kill('SIGKILL');
  await first.exited;
  await until(() => /^held/m.test(third.out()), `the third to take the lease (${third.out()})`, 30_000);
  const takenAt = Number(/^held \d+ (\d+)/m.exec(third.out())?.[1]);
  assert.ok(takenAt >= Date.parse(lease.expiresAt), `taken at ${new Date(takenAt).toISOString()}, before the dead holder's lease expired at ${lease.expiresAt}`);
});

test('a black-holed endpoint: each request ends at its deadline with one line; the lag shows while a request hangs; a stop ends in the time it is given', { skip, timeout: 60_000 }, async (t) => {
  const sockets = new Set<net.Socket>();
  const hole = net.createServer((s) => sockets.add(s)).listen(0, '127.0.0.1'); // accepts, never answers
  await new Promise((r) => hole.once('listening', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    hole.close();
  });
  const endpoint = `http://127.0.0.1:${(hole.address() as net.AddressInfo).port}`;
  const settings = s3Settings(endpoint, cluster, 'hole', 'p', { maxLagPolls: 2 });
  const root = tempDir(t);
  // A short deadline: the pass fails with the cause named.
  const health: HealthTarget = { degraded: {} };
  const quick = new S3Sink({ root, settings, logger, health, maxAttempts: 1, deadlineMs: 300, retryMs: { min: 60_000, max: 60_000 } });
  t.after(() => quick.stop());
  quick.start();
  await until(() => health.s3?.lastError != null, 'the first failed pass');
  assert.match(health.s3?.lastError ?? '', /^s3: cannot reach http:\/\/127\.0\.0\.1:\d+ \(ETIMEDOUT: it accepted the connection but did not answer in time\); check s3\.endpoint/);
  await quick.stop();
  // The default deadline: the request hangs, yet each commit counts the lag.
  const slow: HealthTarget = { degraded: {} };
  const sink = new S3Sink({ root, settings, logger, health: slow });
  t.after(() => sink.stop());
  sink.start();
  await until(() => slow.s3 !== undefined, 's3 in health');
  for (let i = 0; i < 3; i++) {
    await writePoll(root, new Date(Date.now() - i * 60_000), 'complete', 2);
    sink.nudge();
  }
  assert.equal(slow.s3?.pendingPolls, 3);
  assert.match(slow.degraded.s3 ?? '', /^s3: lagging 3 polls/);
  const started = Date.now();
  await sink.stop(Date.now() + 1_000);
  assert.ok(Date.now() - started < 3_000, `stopped in ${Date.now() - started} ms`);
});

test('the daemon beside a black-holed endpoint: /healthz is degraded once polls wait, also right after a restart; SIGTERM ends within shutdown.graceMs; every log line is JSON', { skip, timeout: 120_000 }, async (t) => {
  const sockets = new Set<net.Socket>();
  const hole = net.createServer((s) => sockets.add(s)).listen(0, '127.0.0.1');
  await new Promise((r) => hole.once('listening', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    hole.close();
  });
  const mock = await startMockProvider({ movies: 3 });
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const env = {
    S3_BUCKET: 'hole', S3_ENDPOINT: `http://127.0.0.1:${(hole.address() as net.AddressInfo).port}`, S3_FORCE_PATH_STYLE: 'true', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 'secret-of-the-test',
    S3_MAX_LAG_POLLS: '1', SHUTDOWN_GRACE_MS: '2000',
  };
  const daemon = await startDaemon(t, mock, cwd, { ...env, SCHEDULE_CRON: '*/2 * * * * *' });
  await daemon.waitForCount(pollDone, 3, 30_000);
  const health = JSON.parse(await (await fetch(`http://127.0.0.1:${daemon.healthPort}/healthz`)).text()) as { status: string; s3?: { pendingPolls: number } };
  assert.equal(health.status, 'degraded', JSON.stringify(health));
  assert.ok((health.s3?.pendingPolls ?? 0) >= 2, JSON.stringify(health));
  const stopping = Date.now();
  assert.equal(await daemon.stop(), 0);
  assert.ok(Date.now() - stopping < 2_000 + 3_000, `stopped in ${Date.now() - stopping} ms with a 2 s grace`);
  assert.deepEqual(daemon.lines.filter((l) => l.level === 'raw'), [], 'no plain-text line among the JSON ones');
  // Restarted: the lag is known before any request answers.
  const again = await startDaemon(t, mock, cwd, { ...env, SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'never' });
  await again.waitFor(isMessage(/^daemon started/));
  let after: { status: string; s3?: { pendingPolls: number } } = { status: '' };
  for (let i = 0; i < 50 && after.status !== 'degraded'; i++) {
    after = JSON.parse(await (await fetch(`http://127.0.0.1:${again.healthPort}/healthz`)).text()) as typeof after;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(after.status, 'degraded', JSON.stringify(after));
  assert.ok((after.s3?.pendingPolls ?? 0) >= 3, JSON.stringify(after));
  assert.equal(await again.stop(), 0);
});

test('a tampered object is shipped again: after the ship log is lost (HEAD: its sha256 metadata), and with the log intact (the idle check\'s listing: its ETag); an object deleted by hand too', { skip, timeout: 60_000 }, async (t) => {
  const root = tempDir(t);
  await writePoll(root, new Date(Date.UTC(2026, 10, 20, 8)), 'complete', 4);
  await writePoll(root, new Date(Date.UTC(2026, 10, 21, 8)), 'complete', 4);
  const settings = await target('tamper');
  const bucket = settings.bucket ?? '';
  const first = new S3Sink({ root, settings, logger });
  await first.shipNow();
  await first.stop();
  const file = committedFiles(root).filter((f) => f.table === 'movies' && f.dt === '2026-11-21')[0];
  assert.ok(file);
  const key = `tamper/${file.rel}`;
  const local = readFileSync(path.join(root, file.rel));
  const tamper = () => admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(local.length, 0x41) }));
  await tamper();
  rmSync(path.join(root, '_s3', 'shipped.json'));
  const second = new S3Sink({ root, settings, logger });
  t.after(() => second.stop());
  assert.equal((await second.shipNow()).uploaded, 1, 'the object whose sha256 is not the file\'s is uploaded again');
  assert.deepEqual(await objectBytes(bucket, key), local);
  const requests = second.requests;
  await second.checkNow();
  await second.shipNow();
  assert.equal(second.requests - requests, TABLES.length, 'an untouched day costs one LIST per table: the log\'s ETags are the listing\'s');
  // The log intact: the idle check lists one day at a time (two checks: both days) and sees another ETag.
  await tamper();
  assert.equal((await second.shipNow()).uploaded, 0, 'nothing tells a pass alone');
  await second.checkNow();
  await second.checkNow();
  assert.equal((await second.shipNow()).uploaded, 1, 'an object with another ETag than the one uploaded is uploaded again');
  assert.deepEqual(await objectBytes(bucket, key), local);
  await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  await second.checkNow();
  await second.checkNow();
  assert.equal((await second.shipNow()).uploaded, 1, 'an object deleted by hand is shipped again');
  assert.deepEqual(await objectBytes(bucket, key), local);
});

test('a crash inside the start\'s probe leaves <prefix>/_probe/<store id>: the next start deletes it; another store\'s probe is deleted only once an hour old', { skip, timeout: 60_000 }, async (t) => {
  const root = tempDir(t);
  await writePoll(root, new Date(Date.UTC(2026, 10, 20, 8)), 'complete', 2);
  let probes = 0;
  let victim: ReturnType<typeof child> | null = null;
  const proxy = await startFaultProxy(cluster.endpoint, (req) => {
    if (req.method === 'PUT' && (req.url ?? '').includes('/_probe/') && ++probes === 2) {
      victim?.proc.kill('SIGKILL'); // killed between the probe's two writes
      return 'down';
    }
    return 'pass';
  });
  t.after(() => proxy.close());
  const settings = await target('probe', {}, proxy.endpoint);
  const bucket = settings.bucket ?? '';
  victim = child('ship', root, settings);
  assert.equal(await victim.exited, null, victim.out());
  const storeId = (JSON.parse(readFileSync(path.join(root, '_s3', 'store-id.json'), 'utf8')) as { id: string }).id;
  assert.deepEqual(await listKeys(admin, bucket, 'probe'), [`probe/_probe/${storeId}`], 'the crash left its probe');
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'probe/_probe/another-store', Body: 'first' }));
  const sink = new S3Sink({ root, settings: { ...settings, endpoint: cluster.endpoint }, logger });
  t.after(() => sink.stop());
  await sink.shipNow();
  const left = (await listKeys(admin, bucket, 'probe')).filter((k) => k.includes('/_probe/'));
  assert.deepEqual(left, ['probe/_probe/another-store'], 'its own probe is gone; another store\'s recent one stays');
  assert.equal(await deleteStaleProbes(admin, bucket, 'probe', Date.now() + 2 * 3_600_000), 1, 'an hour later it is deleted');
  assert.deepEqual((await listKeys(admin, bucket, 'probe')).filter((k) => k.includes('/_probe/')), []);
});

test('a _lease.json that is not a lease is named in one line without its bytes; a refusal is logged once per holder, not at every retry', { skip, timeout: 60_000 }, async (t) => {
  const root = tempDir(t);
  await writePoll(root, new Date(), 'complete', 2);
  const settings = await target('corrupt', { leaseSeconds: 3 });
  const bucket = settings.bucket ?? '';
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'corrupt/_lease.json', Body: 'garbage-bytes-SENTINEL {' }));
  const { logger: log, lines } = capture();
  const health: HealthTarget = { degraded: {} };
  const sink = new S3Sink({ root, settings, logger: log, health, retryMs: { min: 20, max: 50 } });
  t.after(() => sink.stop());
  sink.start();
  await until(() => sink.requests > 40, 'retries');
  assert.equal(stateOf(health), 'refused');
  assert.match(health.s3?.lastError ?? '', new RegExp(`^s3: s3://${bucket}/corrupt/_lease\\.json is not a lease \\(24 bytes that are not the JSON a collector writes\\): nothing is shipped to this prefix while it is there; if no collector ships here, delete that object \\(e\\.g\\. aws s3 rm s3://${bucket}/corrupt/_lease\\.json\\)$`));
  assert.equal(lines.filter((l) => l.includes('is not a lease')).length, 1, lines.join('\n'));
  assert.doesNotMatch(JSON.stringify([lines, health]), /SENTINEL/);
  await sink.stop();
  // A live holder renewing every second: its refusal line changes (its expiry), and is still logged once.
  await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'corrupt/_lease.json' }));
  const holder = child('hold', tempDir(t), settings);
  t.after(() => holder.proc.kill('SIGKILL'));
  await until(() => holder.out().includes('held'), 'the holder');
  const second = capture();
  const refused = new S3Sink({ root, settings, logger: second.logger, retryMs: { min: 20, max: 50 } });
  t.after(() => refused.stop());
  refused.start();
  await new Promise((r) => setTimeout(r, 3_500)); // past three renewals
  assert.equal(second.lines.filter((l) => l.includes('is leased by another collector')).length, 1, second.lines.join('\n'));
});

test('a ship log written by 0.3 (size and sha256 only) is read as it is: nothing uploaded or looked up again, and the next save keeps its entries', { skip, timeout: 60_000 }, async (t) => {
  const root = tempDir(t);
  await writePoll(root, new Date(Date.UTC(2026, 10, 20, 8)), 'complete', 2);
  const settings = await target('old-log');
  const first = new S3Sink({ root, settings, logger });
  await first.shipNow();
  await first.stop();
  const file = path.join(root, '_s3', 'shipped.json');
  const log = JSON.parse(readFileSync(file, 'utf8')) as { version: 1; target: string; objects: Record<string, { size: number; sha256: string }> };
  const old = { ...log, objects: Object.fromEntries(Object.entries(log.objects).map(([k, o]) => [k, { size: o.size, sha256: o.sha256 }])) };
  writeFileSync(file, JSON.stringify(old));
  const second = new S3Sink({ root, settings, logger });
  t.after(() => second.stop());
  const run = await writePoll(root, new Date(Date.UTC(2026, 10, 20, 9)), 'complete', 2);
  const requests = second.requests;
  const pass = await second.shipNow();
  assert.equal(pass.uploaded, committedFiles(root).filter((f) => f.run === run).length, 'only the new poll is uploaded');
  assert.ok(second.requests - requests <= 12 + pass.uploaded, `${second.requests - requests} requests: the old entries are not looked up`);
  const saved = JSON.parse(readFileSync(file, 'utf8')) as typeof log;
  for (const key of Object.keys(old.objects)) assert.equal(saved.objects[key]?.sha256, old.objects[key]?.sha256, key);
});

test('a poll committed into a day while a pass ships that day is shipped by the next pass (the day is not settled on an old list)', { skip, timeout: 60_000 }, async (t) => {
  const root = tempDir(t);
  const at = (m: number) => new Date(Date.UTC(2026, 11, 4, 8, m));
  await writePoll(root, at(0), 'complete', 2);
  const settings = await target('midpass');
  let late: string | null = null;
  const sink: S3Sink = new S3Sink({
    root, settings, logger,
    afterObject: async () => {
      if (late !== null) return;
      late = await writePoll(root, at(15), 'complete', 2); // committed while the pass is in the same day
      sink.nudge();
    },
  });
  t.after(() => sink.stop());
  await sink.shipNow();
  await sink.shipNow();
  const keys = await listKeys(admin, settings.bucket ?? '', 'midpass');
  const expected = committedFiles(root).map((f) => `midpass/${f.rel}`);
  assert.ok(expected.some((k) => k.includes(late ?? '-')), 'the late poll is in the store');
  assert.deepEqual(expected.filter((k) => !keys.includes(k)), [], 'every committed file is in the bucket');
  assert.equal(sink.pendingNow().objects, 0);
});

test('a LIST whose answer stalls after its headers ends at the request\'s deadline', { timeout: 30_000 }, async (t) => {
  const server = net.createServer((socket) => {
    socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: 100000\r\n\r\n<?xml version="1.0"?><ListBucketResult>'));
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const sockets: net.Socket[] = [];
  server.on('connection', (s) => sockets.push(s));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const client = createS3Client(s3Settings(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, { accessKeyId: 'k', secretAccessKey: 's' }, 'b', ''), { maxAttempts: 1, deadlineMs: 500 });
  t.after(() => client.destroy());
  const started = Date.now();
  await assert.rejects(client.send(new ListObjectsV2Command({ Bucket: 'b' })));
  assert.ok(Date.now() - started < 10_000, `ended after ${Date.now() - started} ms`);
});

// npm run bench:s3: the S3 sink against a local radosgw (the tests' one-host Ceph cluster, so
// Debian's ceph-mon, ceph-osd, radosgw and ceph-common must be installed: npm test's pretest does).
//  1. a year of compacted days shipped in one catch-up: objects, bytes, requests, time, CPU;
//  2. a day of 15-minute polls, each shipped after its commit: requests, time and CPU per poll;
//  3. the poll's own time and the process's CPU per poll, with the sink shipping beside it and without.
// The year is one real compacted day (96 polls of 13 films per provider, written by the commit
// protocol and compacted) linked under 365 dates: the objects' sizes are a real day's, their rows
// are not re-dated (shipping does not read them).
import { linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { createS3Client } from '../src/s3/client.js';
import { S3Sink } from '../src/s3/sink.js';
import { compactStore } from '../src/store/maintenance.js';
import { startCluster } from '../test/ceph.js';
import { createBucket, listKeys, s3Settings } from '../test/s3-helpers.js';
import { writePoll } from '../test/store-fixture.js';

const logger = winston.createLogger({ silent: true });
const DAYS = Number(process.env.BENCH_S3_DAYS ?? 365);
const POLLS = Number(process.env.BENCH_S3_POLLS ?? 96);

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'mc-bench-s3-'));
  const cluster = await startCluster();
  try {
    const admin = createS3Client(s3Settings(cluster.endpoint, cluster, 'x', ''));
    await createBucket(admin, 'bench');

    // One real closed day: POLLS polls 15 minutes apart, compacted.
    const template = path.join(work, 'template');
    const day0 = Date.UTC(2025, 0, 1);
    for (let i = 0; i < POLLS; i++) await writePoll(template, new Date(day0 + i * 900_000), i % 97 === 50 ? 'partial' : 'complete', 13);
    await compactStore(template, 0, logger);
    // The year: the day's compacted files linked under DAYS dates (names carry each date's run id).
    const year = path.join(work, 'year');
    let files = 0;
    for (let d = 0; d < DAYS; d++) {
      const dt = new Date(day0 + d * 86_400_000).toISOString().slice(0, 10);
      const stamp = dt.replace(/-/g, '');
      for (const entry of readdirSync(template, { recursive: true, encoding: 'utf8' })) {
        if (!entry.endsWith('.parquet') || entry.startsWith('_')) continue;
        const target = path.join(year, entry.replace(/dt=\d{4}-\d{2}-\d{2}/, `dt=${dt}`).replace(/compacted-\d{8}/, `compacted-${stamp}`));
        mkdirSync(path.dirname(target), { recursive: true });
        linkSync(path.join(template, entry), target);
        files++;
      }
    }
    const yearSink = new S3Sink({ root: year, settings: s3Settings(cluster.endpoint, cluster, 'bench', 'year'), logger });
    let started = performance.now();
    let cpu = process.cpuUsage();
    const shipped = await yearSink.shipNow();
    const yearSeconds = (performance.now() - started) / 1000;
    const yearCpu = cpuMs(cpu);
    const yearRequests = yearSink.requests;
    await yearSink.stop();
    const yearKeys = (await listKeys(admin, 'bench', 'year')).filter((k) => k.endsWith('.parquet')).length;
    console.log(`year of compacted days: ${DAYS} days, ${files} files, ${shipped.uploaded} objects uploaded (${yearKeys} in the bucket), ${(shipped.bytes / 1e6).toFixed(1)} MB, ${yearRequests} requests, ${yearSeconds.toFixed(1)} s, CPU ${(yearCpu / 1000).toFixed(1)} s (${(yearCpu / shipped.uploaded).toFixed(2)} ms per object)`);

    // A day of polls, each shipped after its commit.
    const polls = path.join(work, 'polls');
    const sink = new S3Sink({ root: polls, settings: s3Settings(cluster.endpoint, cluster, 'bench', 'polls'), logger });
    await sink.shipNow(); // probe, lease, ship log: once per start, not per poll
    const base = sink.requests;
    let shipMs = 0;
    let shipCpu = 0;
    let bytes = 0;
    let objects = 0;
    const dayStart = Date.UTC(2025, 5, 1);
    for (let i = 0; i < POLLS; i++) {
      await writePoll(polls, new Date(dayStart + i * 900_000), 'complete', 13);
      started = performance.now();
      cpu = process.cpuUsage();
      const r = await sink.shipNow();
      shipMs += performance.now() - started;
      shipCpu += cpuMs(cpu);
      bytes += r.bytes;
      objects += r.uploaded;
    }
    const perPollRequests = (sink.requests - base) / POLLS;
    await sink.stop();
    console.log(`a day of 15-minute polls: ${POLLS} polls, ${objects} objects, ${(bytes / 1e6).toFixed(2)} MB, ${perPollRequests.toFixed(1)} requests per poll, ${(shipMs / POLLS).toFixed(1)} ms and ${(shipCpu / POLLS).toFixed(1)} ms CPU per poll shipped`);

    // The poll's own cost with the sink shipping in the background (nudged after each commit), and without.
    const measure = async (withSink: boolean) => {
      const root = path.join(work, `cost-${String(withSink)}`);
      const bg = withSink ? new S3Sink({ root, settings: s3Settings(cluster.endpoint, cluster, 'bench', `cost-${Date.now()}`), logger }) : null;
      if (bg) {
        await bg.shipNow();
        bg.start();
      }
      let pollMs = 0;
      const c = process.cpuUsage();
      for (let i = 0; i < POLLS; i++) {
        const t0 = performance.now();
        await writePoll(root, new Date(dayStart + i * 900_000), 'complete', 13);
        pollMs += performance.now() - t0;
        bg?.nudge();
        await new Promise((r) => setTimeout(r, 50)); // polls are minutes apart: let the sink's pass run between them
      }
      const processCpu = cpuMs(c);
      await bg?.stop();
      return { pollMs: pollMs / POLLS, cpuMs: processCpu / POLLS };
    };
    const without1 = await measure(false);
    const with1 = await measure(true);
    console.log(`the poll (commit of 2 x 13 films) without the sink: ${without1.pollMs.toFixed(1)} ms, process CPU ${without1.cpuMs.toFixed(1)} ms per poll; with the sink shipping beside it: ${with1.pollMs.toFixed(1)} ms, process CPU ${with1.cpuMs.toFixed(1)} ms per poll (its passes included)`);
    admin.destroy();
  } finally {
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

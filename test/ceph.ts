// A one-host Ceph cluster with radosgw on 127.0.0.1, for the S3 tests: a real S3 implementation
// that honours conditional writes (If-None-Match, If-Match). One monitor, one OSD on memstore (no
// disk, 1 GB cap), no manager (not needed by radosgw; it would cost ~300 MB), auth off, and every
// file under one temp folder. Debian's ceph-mon, ceph-osd, radosgw and ceph-common packages are
// installed by `npm test`'s set-up (scripts/pretest.mjs). Started once per test file.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Cluster {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function cephInstalled(): boolean {
  return ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
}

export async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mc-ceph-'));
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const fsid = randomUUID();
  for (const d of ['run', 'log', 'mon/ceph-a', 'osd/ceph-0']) mkdirSync(path.join(dir, d), { recursive: true });
  const conf = path.join(dir, 'ceph.conf');
  // `ms * mode = crc`: with auth off, radosgw's monitor client otherwise offers no connection mode
  // and every attempt fails with -13 (seen with Debian's 16.2.15).
  writeFileSync(conf, `[global]
fsid = ${fsid}
mon host = 127.0.0.1:${monPort}
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms cluster mode = crc
ms service mode = crc
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd objectstore = memstore
memstore device bytes = 1073741824
osd crush chooseleaf type = 0
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
osd memory target = 268435456
run dir = ${dir}/run
log file = ${dir}/log/$name.log
admin socket = ${dir}/run/$name.asok
mon data = ${dir}/mon/$cluster-$id
osd data = ${dir}/osd/$cluster-$id
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
`);
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, ['-c', conf, ...args], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error?.message || ''}`);
    return r.stdout;
  };
  const daemon = (cmd: string, args: string[]) => {
    const child = spawn(cmd, ['-c', conf, '-f', ...args], { stdio: 'ignore' });
    children.push(child);
  };
  try {
    const r = spawnSync('monmaptool', ['--create', '--add', 'a', `127.0.0.1:${monPort}`, '--fsid', fsid, path.join(dir, 'monmap')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`monmaptool failed: ${r.stderr}`);
    run('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', path.join(dir, 'monmap')]);
    daemon('ceph-mon', ['-i', 'a']);
    run('ceph', ['--connect-timeout', '30', 'mon', 'stat']);
    const id = run('ceph', ['osd', 'create']).trim();
    run('ceph-osd', ['--mkfs', '-i', id]);
    daemon('ceph-osd', ['-i', id]);
    daemon('radosgw', ['-n', 'client.rgw.a']);
    const accessKeyId = `AK${randomUUID().replace(/-/g, '').slice(0, 18).toUpperCase()}`;
    const secretAccessKey = randomUUID().replace(/-/g, '');
    run('radosgw-admin', ['user', 'create', '--uid=tests', '--display-name=tests', `--access-key=${accessKeyId}`, `--secret=${secretAccessKey}`]);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const up = await fetch(endpoint).then((res) => res.status < 500, () => false);
      if (up) break;
      if (Date.now() > deadline) throw new Error('radosgw did not answer within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { endpoint, accessKeyId, secretAccessKey, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

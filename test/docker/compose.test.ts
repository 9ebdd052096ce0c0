// `docker compose up` as a user runs it, on a real Docker engine (test/docker/engine.ts starts a
// private one when none runs): the image built from a copy of this checkout, the stack up and
// healthy, polls committed into ./data and read back by DuckDB, ./logs/current.log growing, a cron
// edit applied live and an invalid one rejected while polling goes on, a clean `docker compose stop`
// (every container exit 0, nothing staged or partial), and a second `up` after the README's
// `npm run demo` ran on the host as root (files owned by root: the store must still be written).
// All of it under the stack's least privilege and limits, which docker inspect shows on the
// running containers: read-only root, no capabilities, no-new-privileges, non-root, memory and
// process limits, rotated container logs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../daemon-helpers.js';
import { query, table } from '../duckdb.js';
import { baseImage, ensureBaseImage, must, run, startEngine, type Engine } from './engine.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const IMAGE = 'movies-collector:local';
/** Upper bounds against a hung step only (a shared 2-core machine): never a claim about speed. */
const STEP_LIMIT_MS = 10 * 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, diagnose: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + STEP_LIMIT_MS;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(500);
  }
  assert.fail(`gave up waiting for ${what}\n${await diagnose()}`);
}

/** The files a user's clone has: tracked ones plus new ones not ignored (this checkout's work). */
async function copyCheckout(to: string): Promise<void> {
  const files = (await must('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT })).split('\0').filter((f) => f !== '');
  for (const file of files) {
    if (!existsSync(path.join(ROOT, file))) continue; // deleted in the work tree
    mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    cpSync(path.join(ROOT, file), path.join(to, file));
  }
}

/** Committed polls: run ids of the poll files in `runs` (file names; DuckDB reads the rows below). Closed days are compacted only after a day ends. */
function committedRuns(data: string): string[] {
  const runs = path.join(data, 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs).flatMap((dt) => readdirSync(path.join(runs, dt)).filter((r) => /^\d{8}T.*\.parquet$/.test(r)).map((r) => r.replace(/\.parquet$/, ''))).sort();
}

interface LogLine {
  message: string;
  [key: string]: unknown;
}
function logLines(logs: string): LogLine[] {
  const file = path.join(logs, 'current.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LogLine);
}

interface PsEntry {
  Service: string;
  State: string;
  Health: string;
  ExitCode: number;
}
/** What `docker inspect` says of a container, the parts this check reads. */
interface Inspected {
  Config: { User: string; Labels: Record<string, string> };
  State: { Status: string; OOMKilled: boolean };
  HostConfig: {
    ReadonlyRootfs: boolean;
    CapDrop: string[] | null;
    CapAdd: string[] | null;
    SecurityOpt: string[] | null;
    Memory: number;
    MemorySwap: number;
    PidsLimit: number | null;
    LogConfig: { Type: string; Config: Record<string, string> };
    Tmpfs: Record<string, string> | null;
  };
}

/** The service's settings as compose resolves them (defaults from the file, or .env / the environment). */
interface ResolvedService {
  mem_limit?: string | number;
  memswap_limit?: string | number;
  pids_limit?: number;
}

function parsePs(out: string): PsEntry[] {
  const text = out.trim();
  if (text === '') return [];
  // Compose 2.21+ prints one JSON object per line; older ones a JSON array.
  return text.startsWith('[') ? (JSON.parse(text) as PsEntry[]) : text.split('\n').map((l) => JSON.parse(l) as PsEntry);
}

test('docker compose up, as a user runs it, on a real Docker engine', async (t) => {
  const work = path.join('/tmp', `mc-compose-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  await copyCheckout(work);
  const data = path.join(work, 'data');
  const logs = path.join(work, 'logs');
  const configFile = path.join(work, 'config', 'config.json');
  const port = await freePort();
  const engine: Engine = await startEngine();
  // A project of its own on an engine it shares with a developer's containers.
  const compose = { cwd: work, env: { ...engine.env, HEALTH_HOST_PORT: String(port), ...(engine.owned ? {} : { COMPOSE_PROJECT_NAME: `mc-e2e-${process.pid}` }) } };
  if (engine.owned) {
    // The private engine leaves the host's routing alone (no forwarding, no masquerading), so its
    // containers reach no registry: the build (npm ci) runs on the host's network. Compose reads this
    // file beside the user's own; the stack itself runs on compose's bridge network as users run it.
    writeFileSync(path.join(work, 'docker-compose.override.yml'), 'services:\n  collector:\n    build:\n      context: .\n      network: host\n  s3:\n    build:\n      context: .\n      dockerfile: docker/s3rver.Dockerfile\n      network: host\n');
  }
  t.after(async () => {
    await run('docker', ['compose', '--profile', 's3', 'down', '--remove-orphans', '--volumes', '--timeout', '30'], compose);
    await engine.stop();
    rmSync(work, { recursive: true, force: true });
  });
  const dc = (...args: string[]) => must('docker', ['compose', ...args], compose);
  const diagnose = async () => {
    const ps = await run('docker', ['compose', 'ps', '-a'], compose);
    const out = await run('docker', ['compose', 'logs', '--no-color', '--tail', '40'], compose);
    return `${ps.stdout}\n${out.stdout.slice(-6000)}${out.stderr.slice(-2000)}`;
  };
  const setCron = (cron: string) => {
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as { schedule: { cron: string } };
    config.schedule.cron = cron;
    writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
  };
  const healthz = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { status: res.status, body: (await res.json()) as { status: string } };
  };
  const newRunAfter = (before: number) => waitFor(`a poll committed after the ${before} before it`, () => {
    const runs = committedRuns(data);
    return runs.length > before ? runs : undefined;
  }, diagnose);
  // The user's edit before the first start: a poll every 5 seconds rather than every 15 minutes.
  setCron('*/5 * * * * *');

  await t.test('the base image: the official one, or the offline stand-in under its name', async () => {
    const image = baseImage(readFileSync(path.join(work, 'Dockerfile'), 'utf8'));
    const source = await ensureBaseImage(engine, image, path.join(ROOT, 'test', 'docker', 'standin-base.sh'));
    t.diagnostic(`base image ${image}: ${source}`);
  });

  await t.test('docker compose build: the image builds (once: only collector has a build section)', async () => {
    let started = Date.now();
    const out = await run('docker', ['compose', 'build', '--progress', 'plain'], compose);
    assert.equal(out.code, 0, out.stderr.slice(-4000));
    t.diagnostic(`cold build: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    started = Date.now();
    await dc('build');
    t.diagnostic(`warm build (nothing changed): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const size = Number((await must('docker', ['image', 'inspect', IMAGE, '--format', '{{.Size}}'], compose)).trim());
    t.diagnostic(`image size: ${(size / 1e6).toFixed(0)} MB`);
  });

  await t.test('docker compose up -d --wait: the collector becomes healthy and polls into ./data', async () => {
    const started = Date.now();
    await dc('up', '-d', '--wait', '--wait-timeout', String(STEP_LIMIT_MS / 1000));
    t.diagnostic(`up to healthy: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const ps = parsePs(await dc('ps', '--format', 'json'));
    assert.equal(ps.find((s) => s.Service === 'collector')?.Health, 'healthy');
    assert.equal(ps.find((s) => s.Service === 'mock-provider')?.State, 'running');
    assert.equal((await healthz()).status, 200, 'the published health port answers');
    await newRunAfter(0);
    // Read as users read it: from ./data, only committed polls, filtered in SQL.
    const rows = await query(`SELECT provider, count(*)::INTEGER AS n, min(price_cents)::INTEGER AS low FROM ${table(data, 'movies')} m
      SEMI JOIN ${table(data, 'runs')} r USING (run) WHERE m.title LIKE 'Star Wars%' GROUP BY provider ORDER BY provider`);
    assert.deepEqual(rows.map((r) => r.provider), ['cinemaworld', 'filmworld']);
    for (const r of rows) assert.ok((r.n as number) > 0 && (r.low as number) > 0, JSON.stringify(r));
    // Written by the image's user, uid 1000 (a Linux engine's bind mounts keep the container's ids).
    if (process.platform === 'linux') assert.equal(statSync(path.join(data, 'runs')).uid, 1000);
  });

  await t.test('least privilege and limits: docker inspect shows them on every container; writes outside the volumes and /tmp fail', async () => {
    const ids = (await dc('ps', '-a', '-q')).trim().split('\n');
    const containers = JSON.parse(await must('docker', ['inspect', ...ids], compose)) as Inspected[];
    const byService = new Map(containers.map((c) => [c.Config.Labels['com.docker.compose.service'] ?? '', c]));
    assert.deepEqual([...byService.keys()].sort(), ['collector', 'mock-provider', 'volume-permissions']);
    const resolved = (JSON.parse(await dc('config', '--format', 'json')) as { services: Record<string, ResolvedService> }).services;
    for (const [service, c] of byService) {
      const h = c.HostConfig;
      assert.equal(h.ReadonlyRootfs, true, `${service}: read-only root filesystem`);
      assert.deepEqual(h.CapDrop, ['ALL'], `${service}: every capability dropped`);
      assert.deepEqual(h.SecurityOpt, ['no-new-privileges:true'], service);
      assert.equal(h.LogConfig.Type, 'json-file', service);
      assert.match(h.LogConfig.Config['max-size'] ?? '', /^\d+[kmg]$/, `${service}: container log rotated by size`);
      assert.ok(Number(h.LogConfig.Config['max-file']) >= 2, `${service}: and its files capped`);
      if (service === 'volume-permissions') {
        // The one-shot chown: root, with what chown needs in folders of any mode, and it has exited.
        assert.equal(c.Config.User, 'root');
        assert.deepEqual((h.CapAdd ?? []).map((cap) => cap.replace(/^CAP_/, '')).sort(), ['CHOWN', 'DAC_READ_SEARCH']);
        assert.equal(c.State.Status, 'exited');
        continue;
      }
      assert.equal(c.Config.User, '1000:1000', `${service}: the image's non-root user`);
      assert.deepEqual(h.CapAdd ?? [], [], `${service}: no capability added back`);
      assert.equal(c.State.Status, 'running');
      const want = resolved[service] ?? {};
      assert.ok(h.Memory > 0 && h.Memory === Number(want.mem_limit), `${service}: memory limit ${h.Memory}, compose says ${want.mem_limit}`);
      assert.equal(h.MemorySwap, h.Memory, `${service}: no swap beyond the memory limit`);
      assert.ok((h.PidsLimit ?? 0) > 0 && h.PidsLimit === want.pids_limit, `${service}: pids limit ${h.PidsLimit}, compose says ${want.pids_limit}`);
      assert.deepEqual(Object.keys(h.Tmpfs ?? {}), service === 'collector' ? ['/tmp'] : [], `${service}: tmpfs only where needed`);
    }
    t.diagnostic(`limits: collector ${byService.get('collector')?.HostConfig.Memory} B / ${byService.get('collector')?.HostConfig.PidsLimit} pids, mock-provider ${byService.get('mock-provider')?.HostConfig.Memory} B / ${byService.get('mock-provider')?.HostConfig.PidsLimit} pids`);
    // From inside, even as root (exec -u root): the root filesystem refuses writes, the process has no
    // capability and cannot gain one; /tmp (collector) and the volumes are writable.
    const probe = 'for d in / /app /app/dist /etc /home/node /usr/local/bin; do touch "$d/.mc-probe" 2>&1 && echo "wrote $d"; done; ' +
      'grep -E "^(CapEff|CapPrm|NoNewPrivs):" /proc/self/status';
    for (const service of ['collector', 'mock-provider']) {
      const out = await dc('exec', '-T', '-u', 'root', service, 'sh', '-c', probe);
      assert.doesNotMatch(out, /^wrote /m, `${service}: a write outside the volumes succeeded:\n${out}`);
      assert.equal(out.match(/Read-only file system/g)?.length, 6, out);
      assert.match(out, /^CapEff:\s+0+$/m, out);
      assert.match(out, /^CapPrm:\s+0+$/m, out);
      assert.match(out, /^NoNewPrivs:\s+1$/m, out);
    }
    const writable = await dc('exec', '-T', 'collector', 'sh', '-c', 'for d in /tmp /data /logs; do touch "$d/.mc-probe" && rm "$d/.mc-probe" && echo "wrote $d"; done');
    assert.deepEqual(writable.trim().split('\n'), ['wrote /tmp', 'wrote /data', 'wrote /logs']);
    // The limits come from .env (or the environment): a user with a bigger catalogue raises them there.
    const raised = JSON.parse(await must('docker', ['compose', 'config', '--format', 'json'], { ...compose, env: { ...compose.env, COLLECTOR_MEM_LIMIT: '2g', COLLECTOR_PIDS_LIMIT: '300' } })) as { services: Record<string, ResolvedService> };
    assert.equal(Number(raised.services.collector?.mem_limit), 2 * 1024 ** 3);
    assert.equal(Number(raised.services.collector?.memswap_limit), 2 * 1024 ** 3);
    assert.equal(raised.services.collector?.pids_limit, 300);
  });

  await t.test('the published port serves the live report: / and /api/report after the first committed poll, on 127.0.0.1 only', async () => {
    assert.equal((await dc('port', 'collector', '8080')).trim(), `127.0.0.1:${port}`, 'published on the loopback address by default');
    const report = await waitFor('/api/report to answer 200', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/report`);
      return res.status === 200 ? ((await res.json()) as { best_prices: Array<{ title: string; cheapest: string }> }) : undefined;
    }, diagnose);
    assert.ok(report.best_prices.some((f) => f.title.startsWith('Star Wars') && f.cheapest !== ''), JSON.stringify(report.best_prices[0]));
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /^default-src 'none'/);
    assert.match(await page.text(), /<title>movies-collector: live report<\/title>/);
  });

  await t.test('./logs/current.log grows with each poll', async () => {
    const size = statSync(path.join(logs, 'current.log')).size;
    const before = committedRuns(data).length;
    await newRunAfter(before);
    await waitFor('current.log to grow', () => (statSync(path.join(logs, 'current.log')).size > size ? true : undefined), diagnose);
    assert.ok(logLines(logs).some((l) => /^poll (complete|partial):/.test(l.message)));
    // Docker's own (rotated) copy of the console lines still answers `docker compose logs`.
    // (Compose 2.26 starts each line with an erase-line escape even with --no-color: read from the '{'.)
    const containerLog = await dc('logs', '--no-color', '--no-log-prefix', 'collector');
    const consoleLines = containerLog.split('\n').filter((l) => l.includes('{')).map((l) => JSON.parse(l.slice(l.indexOf('{'))) as LogLine);
    assert.ok(consoleLines.some((l) => /^poll (complete|partial):/.test(l.message)), containerLog.slice(-2000));
  });

  await t.test('a cron edit in ./config/config.json is applied and logged; an invalid one is rejected and polling goes on', async () => {
    setCron('*/3 * * * * *');
    const changed = await waitFor('config reload: schedule changed', () => logLines(logs).find((l) => l.message === 'config reload: schedule changed' && String(l.to).startsWith('*/3 ')), diagnose);
    assert.match(String(changed.from), /^\*\/5 /);
    setCron('61 * * * *');
    const rejected = await waitFor('config reload rejected', () => logLines(logs).find((l) => l.message.startsWith('config reload rejected')), diagnose);
    assert.match(rejected.message, /schedule\.cron/);
    const before = committedRuns(data).length;
    await newRunAfter(before);
    assert.equal((await healthz()).status, 200);
    setCron('*/5 * * * * *'); // the user fixes the typo
    await waitFor('the fixed file reloaded', () => logLines(logs).find((l) => l.message === 'config reload: schedule changed' && String(l.to).startsWith('*/5 ')), diagnose);
  });

  await t.test('docker compose stop: every container exits 0, nothing staged or partial is left', async () => {
    await dc('stop');
    const ps = parsePs(await dc('ps', '-a', '--format', 'json'));
    assert.deepEqual(ps.map((s) => s.Service).sort(), ['collector', 'mock-provider', 'volume-permissions']);
    for (const s of ps) assert.equal(s.ExitCode, 0, `${s.Service} exited ${s.ExitCode}`);
    const staging = path.join(data, '_staging');
    assert.deepEqual(existsSync(staging) ? readdirSync(staging) : [], [], 'no staged poll');
    assert.deepEqual(readdirSync(data, { recursive: true, encoding: 'utf8' }).filter((f) => !f.endsWith('.parquet') && !/(^|\/)(movies|rejects|price_changes|schema_changes|runs|_staging)(\/dt=[^/]+(\/provider=[^/]+)?)?$/.test(f))
      .filter((f) => !f.startsWith('.') && f !== '_schema' && f !== '_schema/shape.json'), [], 'only table folders and Parquet files');
    // Every movies/rejects row belongs to a committed poll; DuckDB reads every file whole.
    const orphans = await query(`SELECT DISTINCT run FROM ${table(data, 'movies')} EXCEPT SELECT run FROM ${table(data, 'runs')}`);
    assert.deepEqual(orphans, []);
    const counted = await query(`SELECT count(DISTINCT run)::INTEGER AS n FROM ${table(data, 'runs')}`);
    assert.equal(counted[0]?.n, committedRuns(data).length);
    assert.ok(logLines(logs).some((l) => l.message === 'daemon stopped'), 'the daemon logged its clean stop');
  });

  await t.test('npm run demo on the host (as root) and then docker compose up again: the stack still writes its store', async () => {
    // The README's first command, in the same folder, as this (root) user: its files stay root's.
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules'));
    const before = committedRuns(data).length;
    const demo = spawn('npm', ['run', 'demo'], { cwd: work, detached: true, stdio: 'ignore', env: { ...process.env, HEALTH_PORT: '0', SCHEDULE_CRON: '*/2 * * * * *' } });
    const demoExit = once(demo, 'exit');
    try {
      await newRunAfter(before);
    } finally {
      process.kill(-(demo.pid as number), 'SIGINT'); // Ctrl-C reaches the whole process group
      await demoExit;
    }
    const demoRuns = committedRuns(data).length;
    const uid = process.getuid?.() ?? 0; // root on CI: the case of defect 1
    assert.ok(readdirSync(path.join(data, 'runs'), { recursive: true, encoding: 'utf8' }).some((f) => statSync(path.join(data, 'runs', f)).uid === uid), 'the demo left files of this user');
    // As a user whose umask is 077 would leave them: folders only their owner may enter. The one-shot
    // chown has CAP_DAC_READ_SEARCH for these (with CAP_CHOWN alone it fails and the collector never starts).
    for (const f of readdirSync(data, { recursive: true, encoding: 'utf8' })) {
      const st = statSync(path.join(data, f));
      if (st.isDirectory() && st.uid === uid) chmodSync(path.join(data, f), 0o700);
    }
    await dc('up', '-d', '--wait', '--wait-timeout', String(STEP_LIMIT_MS / 1000));
    const runs = await newRunAfter(demoRuns);
    const latest = runs.at(-1) as string;
    const rows = await query(`SELECT count(*)::INTEGER AS n FROM ${table(data, 'runs')} WHERE run = '${latest}' AND status IN ('complete', 'partial')`);
    assert.ok((rows[0]?.n as number) > 0, `poll ${latest} committed by the container`);
    const health = await healthz();
    assert.equal(health.status, 200, JSON.stringify(health.body));
    await dc('stop');
    for (const s of parsePs(await dc('ps', '-a', '--format', 'json'))) assert.equal(s.ExitCode, 0, `${s.Service} exited ${s.ExitCode}`);
  });
  await t.test('the S3 profile as the README gives it: a local s3rver, the collector ships its polls there', async () => {
    if (!existsSync(path.join(work, '.env'))) cpSync(path.join(work, '.env.example'), path.join(work, '.env')); // the README's first step
    await dc('--env-file', '.env', '--env-file', '.env.s3', '--profile', 's3', 'up', '-d', '--build', '--wait', '--wait-timeout', String(STEP_LIMIT_MS / 1000));
    const shipped = await waitFor('/healthz to show objects shipped to the s3 service', async () => {
      const body = (await healthz()).body as { s3?: { shippedObjects: number; state: string; target: string } };
      return body.s3 && body.s3.shippedObjects > 0 && body.s3.state !== 'refused' ? body.s3 : undefined;
    }, diagnose);
    assert.match(shipped.target, /movies/);
    await dc('--profile', 's3', 'stop');
    for (const s of parsePs(await dc('--profile', 's3', 'ps', '-a', '--format', 'json'))) {
      // s3rver (a third-party server for trying) does not catch SIGTERM: 143 is its stop by the signal.
      if (s.Service === 's3') assert.ok([0, 143].includes(s.ExitCode), `s3 exited ${s.ExitCode}`);
      else assert.equal(s.ExitCode, 0, `${s.Service} exited ${s.ExitCode}`);
    }
  });
});

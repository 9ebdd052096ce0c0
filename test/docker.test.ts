// The Docker files, checked without a Docker engine: the compose file and the Dockerfile parsed
// and held to what the README promises, and the image's entry command run as the image would
// (its environment, /data and /logs mapped to temporary folders, a non-root user).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { startMockProvider } from '../src/mock/server.js';
import { freePort } from './daemon-helpers.js';
import { tempDir } from './helpers.js';
import { uid1000 } from './other-user.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string;
  instructions: Instruction[];
}

/** Dockerfile → stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') {
      const [, from = '', name = ''] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ from, name, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

const dockerfile = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const runtime = dockerfile.at(-1) as Stage;
const instr = (op: string) => runtime.instructions.filter((i) => i.op === op);
const jsonArgs = (op: string) => JSON.parse(instr(op).at(-1)?.args ?? 'null') as string[];
/** ENV KEY=VALUE pairs of the runtime stage. */
const imageEnv = Object.fromEntries(instr('ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])));

interface ComposeService {
  image?: string;
  build?: unknown;
  pull_policy?: string;
  profiles?: string[];
  entrypoint?: string[];
  command?: string[];
  user?: string;
  init?: boolean;
  restart?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  stop_grace_period?: string;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  read_only?: boolean;
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  tmpfs?: string[];
  mem_limit?: string;
  memswap_limit?: string;
  pids_limit?: string | number;
  logging?: { driver?: string; options?: Record<string, string> };
}
const compose = parseYaml(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
/** What `docker compose up` starts: the services of no profile (`--profile s3` adds the local S3 server). */
const defaultServices = Object.fromEntries(Object.entries(compose.services).filter(([, s]) => s.profiles === undefined));
const collector = compose.services.collector as ComposeService;
const mockService = compose.services['mock-provider'] as ComposeService;

/** "${NAME:-default}" → default */
const composeDefault = (value: string | undefined) => /^\$\{\w+:-(.*)\}$/.exec(value ?? '')?.[1] ?? value;
const seconds = (duration: string) => {
  const m = /^(\d+)(ms|s|m)$/.exec(duration);
  assert.ok(m, `duration ${duration}`);
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 } as Record<string, number>)[m[2] ?? 's']!;
};

test('Dockerfile: multi-stage on a pinned Node 24 slim tag, non-root, entrypoint, health check without curl, no secrets', () => {
  assert.equal(dockerfile.length, 2);
  assert.deepEqual(dockerfile.map((s) => s.name), ['build', 'runtime']);
  for (const stage of dockerfile) assert.match(stage.from, /^node:24\.\d+\.\d+-[a-z]+-slim$/, 'pinned to an exact Node 24 release');
  assert.ok(dockerfile[0]?.instructions.some((i) => i.op === 'RUN' && /npm ci/.test(i.args)), 'build stage installs with dev dependencies');
  assert.ok(dockerfile[0]?.instructions.some((i) => i.op === 'RUN' && /npm prune --omit=dev/.test(i.args)));
  const copies = instr('COPY').map((i) => i.args);
  assert.ok(copies.every((c) => !/\btest\b|\bbench\b/.test(c)), 'no tests in the runtime image');
  assert.ok(copies.some((c) => c.includes('--from=build') && c.includes('dist/src')));
  assert.equal(instr('USER').at(-1)?.args, 'node');
  assert.deepEqual(jsonArgs('ENTRYPOINT'), ['movies-collector']);
  assert.deepEqual(jsonArgs('CMD'), ['start']);
  assert.equal(imageEnv.DATA_DIR, '/data');
  assert.equal(imageEnv.LOG_DIR, '/logs');
  const health = instr('HEALTHCHECK').at(-1)?.args ?? '';
  assert.match(health, /CMD \["node", "-e", .*\/healthz/);
  assert.doesNotMatch(health, /curl|wget/);
  for (const i of [...instr('ENV'), ...instr('ARG')]) assert.doesNotMatch(i.args, /TOKEN|SECRET|PASSWORD/i, 'no secrets baked in');
});

test('Dockerfile: no # syntax= directive (BuildKit would fetch that frontend image from Docker Hub: offline builds fail)', () => {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  assert.doesNotMatch(text, /^#\s*syntax\s*=/im);
});

test('compose: the image is built once (by collector), the others run it without pulling; collector alone starts no simulator', () => {
  const building = Object.entries(defaultServices).filter(([, s]) => s.build !== undefined).map(([name]) => name);
  assert.deepEqual(building, ['collector'], 'two builds of one image run two npm ci at once');
  for (const [name, s] of Object.entries(defaultServices)) {
    assert.equal(s.image, 'movies-collector:local', name);
    if (name !== 'collector') assert.equal(s.pull_policy, 'never', `${name} must not try to pull the local image`);
  }
  // `docker compose up -d collector` (README, real API) starts what collector depends on.
  assert.deepEqual(Object.keys(collector.depends_on ?? {}), ['volume-permissions']);
  // Files another user left on the host (npm run demo as root) are handed over too, not only the two folders.
  const perms = compose.services['volume-permissions'] as ComposeService;
  assert.match(perms.entrypoint?.join(' ') ?? '', /chown -R|find \/data \/logs .*-exec chown/);
});

test('README: says Compose v2, the collector-only command it gives, and ends its Docker section with the page', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Run it with Docker');
  assert.ok(start >= 0, 'the README has a "Run it with Docker" section');
  const ops = readme.slice(start, readme.indexOf('\n## ', start + 1));
  assert.match(ops, /open http:\/\/localhost:8080\/\.?\s*$/);
  assert.match(ops, /Compose v2/);
  assert.match(ops, /docker compose up -d collector/);
  assert.match(ops, /chown -R 1000:1000 data logs/);
});

test('.dockerignore keeps data, logs, tests and node_modules out of the build context', () => {
  const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const entry of ['node_modules', 'data', 'logs', 'test', '.env', '.git']) assert.ok(ignored.includes(entry), entry);
});

test('compose: collector and mock-provider as the README promises', () => {
  assert.deepEqual(Object.keys(defaultServices).sort(), ['collector', 'mock-provider', 'volume-permissions']);
  // The optional local S3 server: its own image, only with `--profile s3`, never pulled.
  const s3 = compose.services.s3 as ComposeService;
  assert.deepEqual(s3.profiles, ['s3']);
  assert.equal(s3.pull_policy, 'never');
  assert.notEqual(s3.image, 'movies-collector:local');
  assert.equal(collector.restart, 'unless-stopped');
  assert.equal(collector.init, true);
  assert.deepEqual(collector.command, ['start']);
  assert.ok(collector.volumes?.includes('./data:/data'));
  assert.ok(collector.volumes?.includes('./logs:/logs'));
  assert.ok(collector.volumes?.includes('./config:/app/config:ro'), 'config mounted read-only, as a folder so edits that replace the file are seen');
  assert.equal(collector.environment?.CONFIG_FILE, '/app/config/config.json');
  assert.equal(collector.environment?.SCHEDULE_CRON, undefined, 'the cron expression is the config file\'s: env would override it');
  assert.match(collector.healthcheck?.test?.join(' ') ?? '', /^CMD node -e .*\/healthz/);
  // The grace period outlasts the daemon's own (SHUTDOWN_GRACE_MS) so a poll can finish and commit.
  assert.ok(seconds(collector.stop_grace_period ?? '10s') > Number(collector.environment?.SHUTDOWN_GRACE_MS) / 1000 + 5);
  // Out of the box the collector talks to the mock provider, with the mock's token.
  const base = new URL(composeDefault(collector.environment?.PROVIDER_BASE_URL) ?? '');
  assert.equal(base.hostname, 'mock-provider');
  const mockArgs = mockService.command ?? [];
  assert.equal(mockArgs[0], 'mock-provider');
  assert.equal(base.port, mockArgs[mockArgs.indexOf('--port') + 1]);
  assert.equal(mockArgs[mockArgs.indexOf('--host') + 1], '0.0.0.0');
  assert.ok(!mockArgs.includes('--token'));
  assert.equal(composeDefault(collector.environment?.API_TOKEN), 'mock-token');
  // The simulator has no /healthz: its own check asks its stats page (`docker compose up --wait` needs one).
  assert.match(mockService.healthcheck?.test?.join(' ') ?? '', /^CMD node -e .*127\.0\.0\.1:8090\/__mock\/stats/);
  // The bind-mounted folders are handed to the image's user before the collector starts.
  const perms = compose.services['volume-permissions'] as ComposeService;
  assert.equal(perms.user, 'root');
  assert.equal(collector.depends_on?.['volume-permissions']?.condition, 'service_completed_successfully');
  const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  assert.match(example, /^PROVIDER_BASE_URL=http:\/\/mock-provider:8090\/api\/$/m);
  assert.match(example, /^API_TOKEN=mock-token$/m);
});

test('compose: every service read-only, without capabilities or privilege gains, logs rotated; limits from .env', () => {
  const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  for (const [name, s] of Object.entries(compose.services)) {
    assert.equal(s.read_only, true, `${name}: read-only root filesystem`);
    assert.deepEqual(s.cap_drop, ['ALL'], name);
    assert.deepEqual(s.security_opt, ['no-new-privileges:true'], name);
    assert.equal(s.logging?.driver, 'json-file', `${name}: \`docker compose logs\` reads json-file`);
    assert.match(s.logging?.options?.['max-size'] ?? '', /^\d+[kmg]$/, name);
    assert.match(s.logging?.options?.['max-file'] ?? '', /^\d+$/, name);
    if (name === 'volume-permissions') {
      // The one-shot chown runs as root with exactly what chown needs (docs/operations.md), nothing else.
      assert.deepEqual(s.cap_add, ['CHOWN', 'DAC_READ_SEARCH']);
      assert.equal(s.restart, 'no');
      continue;
    }
    assert.equal(s.user, '1000:1000', `${name}: the image's non-root user`);
    assert.equal(s.cap_add, undefined, name);
    // Memory (with no swap beyond it) and process limits, each a variable .env.example documents.
    for (const key of ['mem_limit', 'memswap_limit', 'pids_limit'] as const) {
      const [, variable = '', fallback = ''] = /^\$\{(\w+):-(\w+)\}$/.exec(String(s[key])) ?? [];
      assert.ok(variable !== '', `${name}.${key} comes from .env: ${String(s[key])}`);
      assert.match(example, new RegExp(`^${variable}=${fallback}$`, 'm'), `.env.example gives ${variable} its default`);
    }
    assert.equal(s.memswap_limit, s.mem_limit, `${name}: no swap beyond the memory limit`);
  }
  assert.deepEqual(collector.tmpfs?.map((t) => t.split(':')[0]), ['/tmp'], 'the collector writes only /tmp outside its volumes');
  assert.equal(mockService.tmpfs, undefined, 'the simulator writes nothing');
});

test('image emulation: the entry command with the image\'s env, as uid 1000, writes data and logs where compose mounts them', async (t) => {
  const mock = await startMockProvider({ failRate: 0.1, seed: 5 });
  t.after(() => mock.close());
  // The container's filesystem: /data, /logs and /app/config mapped into a temporary root.
  const root = tempDir(t, 'mc-image-');
  const dirs = { data: path.join(root, 'data'), logs: path.join(root, 'logs'), config: path.join(root, 'app', 'config') };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  cpSync(path.join(ROOT, 'config', 'config.json'), path.join(dirs.config, 'config.json'));
  const cli = path.join(ROOT, 'dist', 'src', 'cli.js');
  // As the image's uid 1000 where this machine lets that user reach Node and the checkout.
  const user = uid1000(t);
  const asUser = 'node' in user ? { uid: user.uid, gid: user.gid } : {};
  if (!('node' in user)) t.diagnostic(`${user.why}: running as the current user`);
  if (asUser.uid !== undefined) for (const dir of [root, dirs.data, dirs.logs]) chownSync(dir, 1000, 1000);

  const healthPort = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...imageEnv,
    DATA_DIR: dirs.data,
    LOG_DIR: dirs.logs,
    CONFIG_FILE: path.join(dirs.config, 'config.json'),
    HEALTH_PORT: String(healthPort),
    // What compose sets, with the mock's address in place of the service name.
    PROVIDER_BASE_URL: mock.url,
    API_TOKEN: composeDefault(collector.environment?.API_TOKEN) ?? '',
    SHUTDOWN_GRACE_MS: collector.environment?.SHUTDOWN_GRACE_MS ?? '',
    RUN_ON_START: 'missed',
  };
  const entry = [...jsonArgs('ENTRYPOINT'), ...jsonArgs('CMD')];
  assert.deepEqual(entry, ['movies-collector', 'start']);
  // The image links movies-collector to dist/src/cli.js; run that file with the same arguments.
  const child = spawn('node' in user ? user.node : process.execPath, [cli, ...entry.slice(1)], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'], ...asUser });
  let stderr = '';
  child.stderr.setEncoding('utf8'); // whole characters, even when one spans two chunks
  child.stderr.on('data', (d: string) => (stderr += d));
  t.after(() => child.kill('SIGKILL'));

  // The store is empty, so the daemon polls at start; wait for the commit.
  const runsDir = path.join(dirs.data, 'runs');
  for (let i = 0; i < 100 && !existsSync(runsDir); i++) await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(existsSync(runsDir), `a poll was committed under DATA_DIR: ${stderr}`);

  // The image's HEALTHCHECK command, run as the image would run it.
  const healthCmd = JSON.parse(/CMD (\[.*\])$/.exec(instr('HEALTHCHECK').at(-1)?.args ?? '')?.[1] ?? '[]') as string[];
  const probe = spawnSync(process.execPath, healthCmd.slice(1), { env: { ...env }, encoding: 'utf8' });
  assert.equal(probe.status, 0, probe.stderr);

  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, stderr);
  assert.ok(existsSync(path.join(dirs.logs, 'current.log')), 'logs land in LOG_DIR');
  if (asUser.uid !== undefined) {
    assert.equal(statSync(path.join(dirs.logs, 'current.log')).uid, 1000, 'written by the non-root user');
    assert.equal(statSync(runsDir).uid, 1000);
  }
});

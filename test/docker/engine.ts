// A Docker engine for the end-to-end check: the one already running (DOCKER_HOST or the default
// socket) when there is one, else a private dockerd (Debian's docker.io, as root) with its data,
// exec state and socket under a temporary folder, stopped and removed afterwards. Also the base
// image: the official one when present or pullable, else the offline stand-in (standin-base.sh).
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** Where the stand-in base and the Compose v2 plugins are kept between runs (scripts/pretest.mjs fills it). */
export const CACHE_DIR = process.env.MOVIES_COLLECTOR_CACHE ?? '/var/cache/movies-collector';
export const PLUGINS_DIR = path.join(CACHE_DIR, 'cli-plugins');

export interface Engine {
  /** Environment for every docker / docker compose command. */
  env: NodeJS.ProcessEnv;
  /** True when this check started the engine (and so owns everything in it). */
  owned: boolean;
  stop(): Promise<void>;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (async: the event loop keeps serving the test's HTTP and timers). */
export async function run(cmd: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8'); // whole characters, even when one spans two chunks
  child.stdout?.on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8'); // whole characters, even when one spans two chunks
  child.stderr?.on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** Runs a command that must succeed; its output in the error otherwise. */
export async function must(cmd: string, args: string[], options: SpawnOptions = {}): Promise<string> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-4000)}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function engineAnswers(env: NodeJS.ProcessEnv): boolean {
  return spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { env, stdio: 'ignore' }).status === 0;
}

function composeV2(env: NodeJS.ProcessEnv): boolean {
  return spawnSync('docker', ['compose', 'version'], { env, stdio: 'ignore' }).status === 0;
}

/**
 * A client config folder whose cli-plugins are the cached Compose v2 and buildx, when the machine's
 * docker has no `compose` of its own. Only then: a developer's own config (credentials) is kept.
 */
function withPlugins(env: NodeJS.ProcessEnv, tmp: string): NodeJS.ProcessEnv {
  if (composeV2(env)) return env;
  if (!existsSync(path.join(PLUGINS_DIR, 'docker-compose'))) {
    throw new Error(`Docker Compose v2 is missing: run npm test as root (scripts/pretest.mjs puts it in ${PLUGINS_DIR}), or install docker-compose-plugin`);
  }
  const config = path.join(tmp, 'docker-config');
  mkdirSync(config, { recursive: true });
  symlinkSync(PLUGINS_DIR, path.join(config, 'cli-plugins'));
  return { ...env, DOCKER_CONFIG: config };
}

export async function startEngine(): Promise<Engine> {
  const tmp = mkdtempSync('/tmp/mc-docker-'); // short: a unix socket path is limited to 107 bytes
  if (engineAnswers(process.env)) {
    return { env: withPlugins({ ...process.env }, tmp), owned: false, stop: async () => rmSync(tmp, { recursive: true, force: true }) };
  }
  if (process.getuid?.() !== 0) throw new Error('no Docker engine answers and this check can start one only as root: start Docker, or run npm test as root');
  const socket = path.join(tmp, 'docker.sock');
  const log = path.join(tmp, 'dockerd.log');
  // The flags of the trial on these machines: no iptables or forwarding changes to the host.
  const dockerd = spawn('sh', ['-c', `exec dockerd "$@" >"${log}" 2>&1`, 'dockerd',
    '--data-root', path.join(tmp, 'root'), '--exec-root', path.join(tmp, 'exec'), '--pidfile', path.join(tmp, 'dockerd.pid'),
    '--host', `unix://${socket}`, '--storage-driver', 'overlay2',
    '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false'], { stdio: 'ignore' });
  const exited = once(dockerd, 'exit');
  const env = withPlugins({ ...process.env, DOCKER_HOST: `unix://${socket}` }, tmp);
  const stop = async () => {
    if (dockerd.exitCode === null && dockerd.signalCode === null) {
      dockerd.kill('SIGTERM');
      await exited;
    }
    // Whatever dockerd left mounted under its folders (overlay layers, netns) goes before the folder.
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(tmp + '/'));
    for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
  };
  for (let i = 0; i < 600; i++) {
    if (dockerd.exitCode !== null) break;
    if (existsSync(socket) && engineAnswers(env)) return { env, owned: true, stop };
    await sleep(100);
  }
  const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
  await stop();
  throw new Error(`dockerd did not start:\n${tail}`);
}

/** The base image the Dockerfile names, e.g. node:24.21.0-bookworm-slim. */
export function baseImage(dockerfile: string): string {
  const from = /^FROM\s+(\S+)/im.exec(dockerfile)?.[1];
  if (!from) throw new Error('the Dockerfile has no FROM');
  return from;
}

/**
 * Makes `image` available: already there, pulled, or the stand-in imported under its name.
 * Returns which of those it was.
 */
export async function ensureBaseImage(engine: Engine, image: string, standinScript: string): Promise<'present' | 'pulled' | 'stand-in'> {
  const opts = { env: engine.env };
  if ((await run('docker', ['image', 'inspect', image], opts)).code === 0) return 'present';
  if ((await run('docker', ['pull', '--quiet', image], opts)).code === 0) return 'pulled';
  const [, nodeVersion = ''] = /^node:(\d+\.\d+\.\d+)-bookworm-slim$/.exec(image) ?? [];
  if (!nodeVersion) throw new Error(`${image} cannot be pulled and the stand-in only imitates node:<version>-bookworm-slim`);
  const tarball = path.join(CACHE_DIR, `node-${nodeVersion}-bookworm-slim.standin.tar`);
  if (!existsSync(tarball)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    await must('bash', [standinScript, tarball, nodeVersion, STANDIN_NPM_VERSION]);
  }
  // The official image's environment, and (stand-in only) the proxy's CA for npm inside the build.
  const changes = ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `ENV NODE_VERSION=${nodeVersion}`, 'CMD ["node"]'];
  if (hostExtraCas().length > 0) changes.push('ENV NODE_EXTRA_CA_CERTS=/usr/local/share/standin-extra-ca.pem');
  await must('docker', ['import', ...changes.flatMap((c) => ['--change', c]), tarball, image], opts);
  return 'stand-in';
}

/** npm CLI put into the stand-in (Node 24 ships npm 11). */
export const STANDIN_NPM_VERSION = '11.21.2';

function hostExtraCas(): string[] {
  const dir = '/usr/local/share/ca-certificates';
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.crt')) : [];
}

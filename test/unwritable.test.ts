// A store folder the daemon cannot write (left by another user: the README's `npm run demo` as
// root, then the container as uid 1000) fails every poll and no retry fixes it: /healthz must say
// failing at once, not after health.maxConsecutiveFailures polls, and the log must name the folder
// and the fix. The real daemon, as uid 1000 where the tests run as root, wherever Node is installed
// (other-user.ts); as another user, in a folder made read-only.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { freePort } from './daemon-helpers.js';
import { CLI, cleanEnv, tempDir } from './helpers.js';
import { uid1000 } from './other-user.js';

test('daemon: a store folder owned by another user makes /healthz fail at once, and the log names the folder and chown -R', async (t) => {
  const mock = await startMockProvider({ seed: 3 });
  t.after(() => mock.close());
  const root = tempDir(t, 'mc-unwritable-');
  const data = path.join(root, 'data');
  const logs = path.join(root, 'logs');
  const stale = path.join(data, 'movies', 'dt=2026-11-24');
  mkdirSync(stale, { recursive: true });
  mkdirSync(logs);
  const user = uid1000(t);
  const as1000 = 'node' in user ? user : null;
  // Root with its capabilities writes into a read-only folder: where uid 1000 cannot run the CLI
  // (a checkout other users cannot read), root runs it with every capability dropped (setpriv,
  // util-linux), so the folder's mode binds it as it binds any user.
  const withoutCapabilities = !as1000 && process.getuid?.() === 0 ? ['/usr/bin/setpriv', '--bounding-set=-all', '--inh-caps=-all', '--'] : [];
  if (as1000) {
    // The container's user owns the folders, the host's root owns what the demo left.
    for (const dir of [root, data, logs]) chownSync(dir, as1000.uid, as1000.gid);
  } else {
    chmodSync(stale, 0o555);
    t.after(() => existsSync(stale) && chmodSync(stale, 0o755));
  }
  const healthPort = await freePort();
  const [command = process.execPath, ...args] = [...withoutCapabilities, as1000?.node ?? process.execPath, CLI, 'start'];
  const child = spawn(command, args, {
    cwd: root,
    // A schedule that never comes during the test: no poll has failed when /healthz is asked.
    env: cleanEnv({ API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: data, LOG_DIR: logs, HEALTH_PORT: String(healthPort), HEALTH_HOST: '127.0.0.1', SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'never' }),
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(as1000 ? { uid: as1000.uid, gid: as1000.gid } : {}),
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.setEncoding('utf8'); // whole characters, even when one spans two chunks
  child.stderr.on('data', (d: string) => (stderr += d));
  interface Health { status?: string; consecutiveFailures?: number; problem?: string | null }
  let health: { status: number; body: Health } | null = null;
  while (health === null && child.exitCode === null) {
    try {
      const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
      health = { status: res.status, body: (await res.json()) as Health };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100)); // not listening yet
    }
  }
  assert.ok(health, `the daemon answered /healthz: ${stderr}`);
  assert.equal(health.status, 503, JSON.stringify(health.body));
  assert.equal(health.body.status, 'failing');
  assert.equal(health.body.consecutiveFailures, 0, 'failing before any poll failed');
  const folder = as1000 ? path.join(data, 'movies') : stale;
  assert.ok(health.body.problem?.includes(folder), health.body.problem ?? '');
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, stderr);
  const line = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; message: string }).find((l) => l.level === 'error' && l.message.includes(folder));
  assert.ok(line, `an error line names ${folder}: ${stderr}`);
  if (as1000) assert.match(line.message, /chown -R 1000:1000 data logs/);
});

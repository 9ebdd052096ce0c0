// check-config checks what start checks (issue 11, item 14): the store and log folders, the health
// address; and start blames health.host, not health.port, for a host it cannot listen on.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from './daemon-helpers.js';
import { hasStackTrace, runCli, tempDir } from './helpers.js';

/** A name no resolver answers (RFC 6761 reserves .invalid), and an address no interface of this machine has (TEST-NET-1; only bound, never sent to). */
const UNRESOLVABLE = 'collector-health.invalid';
const NOT_LOCAL = '192.0.2.1';

function baseEnv(dir: string): Record<string, string> {
  return { API_TOKEN: 'preflight-token', DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), HEALTH_HOST: '127.0.0.1', RUN_ON_START: 'never', SCHEDULE_CRON: '0 0 1 1 *' };
}

function assertOneConfigLine(result: { code: number | null; stderr: string }, setting: string, ...mention: string[]): void {
  assert.equal(result.code, 78, result.stderr);
  const lines = result.stderr.trim().split('\n').filter((l) => l.startsWith('config error: '));
  assert.equal(lines.length, 1, result.stderr);
  assert.ok(lines[0]?.startsWith(`config error: ${setting}: `), `blames ${setting}: ${lines[0]}`);
  for (const text of mention) assert.ok(lines[0]?.includes(text), `mentions ${text}: ${lines[0]}`);
  assert.equal(hasStackTrace(result.stderr), false);
}

test('check-config refuses what start refuses: DATA_DIR or LOG_DIR at a file, a health host that does not resolve or is not local', async (t) => {
  const dir = tempDir(t);
  const aFile = path.join(dir, 'a-file');
  writeFileSync(aFile, '');
  const port = String(await freePort());
  const cases: Array<[Record<string, string>, string, string[]]> = [
    [{ DATA_DIR: aFile }, 'store.dir', ['DATA_DIR', aFile]],
    [{ DATA_DIR: path.join(aFile, 'data') }, 'store.dir', ['DATA_DIR']],
    [{ LOG_DIR: path.join(aFile, 'logs') }, 'log.dir', ['LOG_DIR']],
    [{ HEALTH_HOST: UNRESOLVABLE, HEALTH_PORT: port }, 'health.host', ['HEALTH_HOST', UNRESOLVABLE]],
    [{ HEALTH_HOST: NOT_LOCAL, HEALTH_PORT: port }, 'health.host', ['HEALTH_HOST', 'EADDRNOTAVAIL']],
  ];
  for (const [env, setting, mention] of cases) {
    const checked = await runCli(['check-config'], { cwd: dir, env: { ...baseEnv(dir), ...env } });
    assertOneConfigLine(checked, setting, ...mention);
    assert.equal(checked.stdout, '');
    // start refuses the same, blaming the same setting.
    const started = await runCli(['start'], { cwd: dir, env: { ...baseEnv(dir), HEALTH_PORT: port, ...env } });
    assertOneConfigLine({ code: started.code, stderr: started.stderr.split('\n').filter((l) => !l.startsWith('{')).join('\n') }, setting);
  }
});

test('check-config creates no folder, and a health port in use (a running daemon) is a note, not an error', async (t) => {
  const dir = tempDir(t);
  const env = baseEnv(dir);
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const busy = (server.address() as net.AddressInfo).port;
  const result = await runCli(['check-config'], { cwd: dir, env: { ...env, HEALTH_PORT: String(busy) } });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(result.stderr.includes(`warning: health.port: ${busy} on 127.0.0.1 is in use right now`), result.stderr);
  assert.equal(existsSync(env.DATA_DIR ?? ''), false, 'check-config made no store folder');
  assert.equal(existsSync(env.LOG_DIR ?? ''), false, 'check-config made no log folder');
  // With the endpoint off (port 0) the host is not used, by start or check-config.
  const off = await runCli(['check-config'], { cwd: dir, env: { ...env, HEALTH_PORT: '0', HEALTH_HOST: UNRESOLVABLE } });
  assert.equal(off.code, 0, off.stderr);
});

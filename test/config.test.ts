// Configuration: the real CLI's exit codes and messages, and the loader's precedence.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/settings.js';
import { ConfigError } from '../src/runtime/errors.js';
import { hasStackTrace, runCli, tempDir } from './helpers.js';

const TOKEN = 'tok-Secret-123';

/** check-config in a fresh folder (no config/config.json) with a writable log dir. */
async function checkConfig(t: Parameters<typeof tempDir>[0], env: Record<string, string>, args: string[] = []) {
  const cwd = tempDir(t);
  return runCli(['check-config', ...args], { cwd, env: { LOG_DIR: path.join(cwd, 'logs'), ...env } });
}

function assertConfigError(result: { code: number | null; stderr: string; stdout: string }, ...mustMention: string[]) {
  assert.equal(result.code, 78, `expected exit 78, got ${result.code}: ${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  for (const text of mustMention) {
    assert.ok(lines.some((l) => l.startsWith('config error: ') && l.includes(text)), `no line mentions ${text}: ${result.stderr}`);
  }
  assert.equal(hasStackTrace(result.stderr), false, 'no stack trace');
  assert.equal(result.stdout, '', 'nothing printed to stdout on error');
}

test('an out-of-range cron expression exits 78 naming schedule.cron and the value', async (t) => {
  const result = await checkConfig(t, { SCHEDULE_CRON: '61 * * * *', API_TOKEN: TOKEN });
  assertConfigError(result, 'schedule.cron', '61 * * * *', 'expected a cron expression');
});

test('a cron expression with seconds is accepted; seven fields are not', async (t) => {
  const ok = await checkConfig(t, { SCHEDULE_CRON: '*/2 * * * * *', API_TOKEN: TOKEN });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).schedule.cron, '*/2 * * * * *');
  const bad = await checkConfig(t, { SCHEDULE_CRON: '* * * * * * *', API_TOKEN: TOKEN });
  assertConfigError(bad, 'schedule.cron');
});

test('a base URL with a query or fragment exits 78 naming api.baseUrl (the provider paths would land inside the query)', async (t) => {
  for (const url of ['http://127.0.0.1:9/api/?k=v', 'http://127.0.0.1:9/api/#frag']) {
    const result = await checkConfig(t, { PROVIDER_BASE_URL: url, API_TOKEN: TOKEN });
    assertConfigError(result, 'api.baseUrl', 'without a query');
  }
});

test('a bad timezone exits 78 naming schedule.timezone', async (t) => {
  const result = await checkConfig(t, { SCHEDULE_TIMEZONE: 'Mars/Olympus_Mons', API_TOKEN: TOKEN });
  assertConfigError(result, 'schedule.timezone', 'IANA time zone');
});

test('an unknown key in the config file exits 78 naming it', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ schedule: { crn: '* * * * *' } }));
  const result = await checkConfig(t, { API_TOKEN: TOKEN, CONFIG_FILE: file });
  assertConfigError(result, 'schedule.crn: unknown setting');
});

test('a missing token exits 78 and says where a token can come from', async (t) => {
  const result = await checkConfig(t, {});
  assertConfigError(result, 'api.token', 'API_TOKEN_FILE');
});

test('every problem gets its own line', async (t) => {
  const result = await checkConfig(t, { SCHEDULE_CRON: 'nope', HTTP_RETRIES: '12abc', LOG_MAX_SIZE: '20mb', API_TOKEN: TOKEN });
  assertConfigError(result, 'schedule.cron', 'http.retries', 'log.maxSize');
  assert.equal(result.stderr.trim().split('\n').length, 3);
});

test('a config file that is not JSON, or missing, is one clear line', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'broken.json');
  writeFileSync(file, '{ "schedule": ');
  assertConfigError(await checkConfig(t, { API_TOKEN: TOKEN }, ['--config', file]), 'is not valid JSON');
  assertConfigError(await checkConfig(t, { API_TOKEN: TOKEN }, ['--config', path.join(dir, 'absent.json')]), 'not found');
});

test('a token file is read and trimmed, and check-config never prints the token', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'token');
  writeFileSync(file, `  ${TOKEN}\n`);
  const result = await checkConfig(t, { API_TOKEN_FILE: file });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).api.token, '[redacted]');
  assert.ok(!result.stdout.includes(TOKEN) && !result.stderr.includes(TOKEN));
  assert.equal(loadConfig({ env: { API_TOKEN_FILE: file }, cwd: dir }).settings.api.token, TOKEN);
  assertConfigError(await checkConfig(t, { API_TOKEN_FILE: path.join(dir, 'nope') }), 'api.tokenFile', 'ENOENT');
});

test('env overrides the config file, and flags override env', async (t) => {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'config'));
  writeFileSync(path.join(dir, 'config', 'config.json'), JSON.stringify({ schedule: { cron: '0 * * * *' }, store: { dir: '/from-file' }, http: { retries: 2 } }));
  const fileOnly = loadConfig({ env: {}, cwd: dir }).settings;
  assert.equal(fileOnly.schedule.cron, '0 * * * *');
  assert.equal(fileOnly.http.retries, 2);

  const withEnv = loadConfig({ env: { SCHEDULE_CRON: '*/5 * * * *', DATA_DIR: '/from-env' }, cwd: dir }).settings;
  assert.equal(withEnv.schedule.cron, '*/5 * * * *');
  assert.equal(withEnv.store.dir, '/from-env');
  assert.equal(withEnv.http.retries, 2, 'untouched file values stay');

  const withFlag = loadConfig({ env: { DATA_DIR: '/from-env' }, cwd: dir, overrides: { 'store.dir': '/from-flag' } }).settings;
  assert.equal(withFlag.store.dir, '/from-flag');

  const cli = await runCli(['check-config'], { cwd: dir, env: { API_TOKEN: TOKEN, HTTP_RETRIES: '7', LOG_DIR: path.join(dir, 'logs') } });
  assert.equal(cli.code, 0, cli.stderr);
  const shown = JSON.parse(cli.stdout);
  assert.equal(shown.http.retries, 7);
  assert.equal(shown.schedule.cron, '0 * * * *');
  assert.match(cli.stderr, /config file: .*config\.json/);
});

test("the prototype's --apikey x-access-token=<token> form sets the token", async (t) => {
  const result = await checkConfig(t, {}, ['--apikey', `x-access-token=${TOKEN}`]);
  assert.equal(result.code, 0, result.stderr);
  const shown = JSON.parse(result.stdout);
  assert.equal(shown.api.tokenHeader, 'x-access-token');
  assert.equal(shown.api.token, '[redacted]');
  assert.ok(!result.stdout.includes(TOKEN));
  const loaded = loadConfig({ env: {}, cwd: tempDir(t), apikey: `x-custom=${TOKEN}` }).settings;
  assert.deepEqual([loaded.api.tokenHeader, loaded.api.token], ['x-custom', TOKEN]);
  assertConfigError(await checkConfig(t, {}, ['--apikey', 'no-equals-sign']), '--apikey', 'HEADER=TOKEN');
});

test('provider names must be safe for paths', () => {
  assert.throws(
    () => loadConfig({ env: {}, cwd: '/nonexistent', overrides: { providers: ['cinemaworld', '../etc'] } }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.includes('providers') && p.includes('safe for a path')),
  );
});

test('an unwritable log folder exits 78 naming log.dir', async (t) => {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'a-file'), '');
  const result = await checkConfig(t, { API_TOKEN: TOKEN, LOG_DIR: path.join(dir, 'a-file', 'logs') });
  assertConfigError(result, 'log.dir', 'LOG_DIR');
});

test('a flag the CLI rejects is a configuration error: exit 78 with one line, not 1 (a failed poll)', async (t) => {
  const cwd = tempDir(t);
  const cases: Array<[string[], RegExp]> = [
    [['poll', '--format', 'json'], /^error: unknown option '--format'\n$/],
    [['mock-provider', '--port', 'x'], /^error: option '--port <n>' argument 'x' is invalid\. expected a whole number from 0 to 65535\n$/],
    [['bogus'], /^error: unknown command 'bogus'\n$/],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args, { cwd });
    assert.equal(result.code, 78, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.equal(hasStackTrace(result.stderr), false);
  }
  const help = await runCli(['poll', '--help'], { cwd });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: movies-collector poll/);
});

test('report --since refuses a duration past any date and a day that does not exist: exit 78, one line', async (t) => {
  const dir = tempDir(t);
  for (const bad of ['999999999d', '2026-02-31', 'yesterday']) {
    const r = await runCli(['report', '--since', bad], { cwd: dir, env: { DATA_DIR: path.join(dir, 'data') } });
    assert.equal(r.code, 78, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /^error: option '--since <when>' argument '.*' is invalid\. expected a duration like 7d or 24h, or a real date like 2026-11-01\n$/);
  }
});

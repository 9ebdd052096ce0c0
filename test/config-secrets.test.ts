// Secrets in configuration (issue 11, items 11 and 13): no message quotes the config file's text, no
// piece of the token reaches a line, URL userinfo is hidden, a token file others can read is a warning.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import winston from 'winston';
import { createLogger } from '../src/log/log.js';
import { startMockProvider } from '../src/mock/server.js';
import { MIN_SECRET_FRAGMENT, redactText } from '../src/runtime/redact.js';
import { isMessage, startDaemon } from './daemon-helpers.js';
import { hasStackTrace, runCli, tempDir } from './helpers.js';

const TOKEN = 'CFGTOKEN-SECRET-123';
const ROTATED = 'CFGTOKEN-ROTATED-4567';

/** The first run of MIN_SECRET_FRAGMENT or more of the secret's characters found in the text, if any. */
function leakedFragment(text: string, secret: string): string | null {
  for (let i = 0; i + MIN_SECRET_FRAGMENT <= secret.length; i++) {
    const piece = secret.slice(i, i + MIN_SECRET_FRAGMENT);
    if (text.includes(piece)) return piece;
  }
  return null;
}

function assertNoFragment(text: string, ...secrets: string[]): void {
  for (const secret of secrets) {
    const piece = leakedFragment(text, secret);
    assert.equal(piece, null, `a piece of the token (${piece}) got through:\n${text}`);
  }
}

/** Config files with a typo beside the token, and where the JSON error is (line, column). */
const BROKEN: Array<{ name: string; text: (token: string) => string; at: RegExp }> = [
  { name: 'doubled comma', text: (tok) => `{"api": {"token": "${tok}" ,,}}`, at: /line 1, column \d+/ },
  { name: 'trailing comma', text: (tok) => `{"api": {"token": "${tok}",}}`, at: /line 1, column \d+/ },
  { name: 'missing opening quote', text: (tok) => `{"api": {"token": ${tok}"}}`, at: /line 1, column 19\b/ },
  { name: 'missing closing quote', text: (tok) => `{"api": {"token": "${tok}}}`, at: /line 1, column 19\b/ },
  { name: 'truncated file', text: (tok) => `{"api": {"token": "${tok}"`, at: /ends early.*line 1, column \d+/ },
  { name: 'error on a later line', text: (tok) => `{\n  "api": {\n    "token": ${tok}\n  }\n}\n`, at: /line 3, column 14\b/ },
];

test('check-config: a typo beside the token in the config file is one line with its position and no piece of the token', async (t) => {
  const dir = tempDir(t);
  for (const shape of BROKEN) {
    const file = path.join(dir, `${shape.name.replace(/ /g, '-')}.json`);
    writeFileSync(file, shape.text(TOKEN));
    const result = await runCli(['check-config', '--config', file], { cwd: dir, env: { LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' } });
    assert.equal(result.code, 78, `${shape.name}: ${result.stderr}`);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${shape.name}: one line: ${result.stderr}`);
    assert.ok(lines[0]?.startsWith('config error: config file: ') && lines[0].includes(file), `${shape.name}: names the file: ${lines[0]}`);
    assert.match(lines[0] ?? '', shape.at, shape.name);
    assertNoFragment(result.stderr + result.stdout, TOKEN);
    assert.equal(hasStackTrace(result.stderr), false);
  }
  // A file of the wrong shape is described by kind, not quoted.
  for (const text of [`{"api": "${TOKEN}"}`, `"${TOKEN}"`]) {
    const file = path.join(dir, 'shape.json');
    writeFileSync(file, text);
    const result = await runCli(['check-config', '--config', file], { cwd: dir, env: { LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' } });
    assert.equal(result.code, 78, result.stderr);
    assert.match(result.stderr, /got a string|holds a string/);
    assertNoFragment(result.stderr, TOKEN);
  }
});

test('check-config: a known token is hidden, whole or in pieces, in a value quoted by an error', async (t) => {
  const dir = tempDir(t);
  // The token pasted into the wrong setting, and a piece of it in another.
  const result = await runCli(['check-config'], {
    cwd: dir,
    env: { API_TOKEN: TOKEN, SCHEDULE_CRON: TOKEN, SCHEDULE_TIMEZONE: TOKEN.slice(0, 10), LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' },
  });
  assert.equal(result.code, 78, result.stderr);
  assert.match(result.stderr, /schedule\.cron: .*\[redacted\]/);
  assert.match(result.stderr, /schedule\.timezone: .*\[redacted\]/);
  assertNoFragment(result.stderr, TOKEN);
});

test('the daemon: a config edit with a typo beside a new token is rejected in a line with its position and no piece of either token', async (t) => {
  const mock = await startMockProvider({ port: 0, token: TOKEN });
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const file = path.join(cwd, 'config', 'config.json');
  mkdirSync(path.dirname(file));
  // Edits land by rename, as editors save: the daemon never sees half a file.
  const save = (text: string) => {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  save(JSON.stringify({ api: { token: TOKEN }, schedule: { cron: '0 0 1 1 *', runOnStart: 'never' } }));
  // API_TOKEN empty = unset: the token comes from the file.
  const daemon = await startDaemon(t, mock, cwd, { API_TOKEN: '' });
  await daemon.waitFor(isMessage(/^daemon started/));
  const rejected = isMessage(/^config reload rejected/);
  for (const [i, shape] of BROKEN.entries()) {
    save(shape.text(ROTATED)); // the token rotated, and a typo made while at it: the daemon does not know this token
    await daemon.waitForCount(rejected, i + 1);
    const line = daemon.lines.filter(rejected)[i];
    assert.match(String(line?.message), shape.at, `${shape.name}: ${line?.message}`);
  }
  assert.equal(await daemon.stop(), 0);
  const logged = readFileSync(path.join(cwd, 'logs', 'current.log'), 'utf8');
  assert.equal(logged.split('\n').filter((l) => l.includes('config reload rejected')).length, BROKEN.length);
  assertNoFragment(logged, TOKEN, ROTATED);
  assertNoFragment(daemon.lines.map((l) => JSON.stringify(l)).join('\n'), TOKEN, ROTATED);
});

test('the logger hides any 6+ character piece of the token (prefix, suffix, middle) and URL userinfo', async (t) => {
  const dir = tempDir(t);
  const { logger, close } = createLogger({ dir, level: 'info', maxFiles: '3', maxSize: '20m', secrets: [TOKEN], consoleFormat: 'json' });
  for (const transport of logger.transports) {
    if (transport instanceof winston.transports.Console) transport.silent = true;
  }
  logger.error(`Unexpected token 'C', ..."{"token": ${TOKEN.slice(0, 10)}"... is not valid JSON`);
  logger.warn('pieces in meta', { tail: `..."${TOKEN.slice(-7)}" ,,}}"`, middle: `x${TOKEN.slice(4, 15)}y`, whole: TOKEN });
  logger.error('an error', new Error(`bad value ${TOKEN.slice(2, 2 + MIN_SECRET_FRAGMENT)}`));
  logger.info('base URL http://user:s3cr3t-pass@provider.example/api/', { url: 'https://only-user@provider.example/api/x' });
  await close();
  const text = readFileSync(path.join(dir, 'current.log'), 'utf8');
  assertNoFragment(text, TOKEN);
  assert.ok(!text.includes('s3cr3t') && !text.includes('only-user'), text);
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  assert.equal(lines[0]?.message, `Unexpected token 'C', ..."{"token": [redacted]"... is not valid JSON`);
  assert.equal(lines[1]?.whole, '[redacted]');
  assert.equal(lines[1]?.middle, 'x[redacted]y');
  assert.equal(lines[3]?.message, 'base URL http://[redacted]@provider.example/api/');
  assert.equal(lines[3]?.url, 'https://[redacted]@provider.example/api/x');
  // The documented limit: a piece shorter than MIN_SECRET_FRAGMENT is left (it would hide common words).
  assert.equal(redactText(`x ${TOKEN.slice(0, MIN_SECRET_FRAGMENT - 1)} y`, [TOKEN]), `x ${TOKEN.slice(0, MIN_SECRET_FRAGMENT - 1)} y`);
});

test('check-config hides user:password in the base URL', async (t) => {
  const dir = tempDir(t);
  const result = await runCli(['check-config'], {
    cwd: dir,
    env: { API_TOKEN: TOKEN, PROVIDER_BASE_URL: 'http://collector:pa55w0rd@127.0.0.1:9/api/', LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).api.baseUrl, 'http://[redacted]@127.0.0.1:9/api/');
  assert.ok(!(result.stdout + result.stderr).includes('pa55w0rd') && !(result.stdout + result.stderr).includes('collector:'));
  // An invalid URL is quoted by its error line: the userinfo is hidden there too.
  const bad = await runCli(['check-config'], {
    cwd: dir,
    env: { API_TOKEN: TOKEN, PROVIDER_BASE_URL: 'ftp://collector:pa55w0rd@127.0.0.1/api/', LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' },
  });
  assert.equal(bad.code, 78, bad.stderr);
  assert.match(bad.stderr, /api\.baseUrl: .*ftp:\/\/\[redacted\]@127\.0\.0\.1/);
  assert.ok(!bad.stderr.includes('pa55w0rd'));
});

test('check-config hides the token pasted into other settings, and userinfo in every form the URL parser accepts', async (t) => {
  const dir = tempDir(t);
  const base = { API_TOKEN: TOKEN, LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' };
  const pasted = await runCli(['check-config'], {
    cwd: dir,
    env: { ...base, PROVIDER_BASE_URL: `http://127.0.0.1:9/api/${TOKEN}/`, DATA_DIR: path.join(dir, `d-${TOKEN}`), API_TOKEN_HEADER: `x-${TOKEN.slice(0, 8)}` },
  });
  assert.equal(pasted.code, 0, pasted.stderr);
  assertNoFragment(pasted.stdout + pasted.stderr, TOKEN);
  // In a query the base URL is refused (the provider paths would land in it): the error hides the token too.
  const inQuery = await runCli(['check-config'], { cwd: dir, env: { ...base, PROVIDER_BASE_URL: `http://127.0.0.1:9/api/?key=${TOKEN}` } });
  assert.equal(inQuery.code, 78, inQuery.stderr);
  assert.match(inQuery.stderr, /api\.baseUrl: .*without a query/);
  assertNoFragment(inQuery.stdout + inQuery.stderr, TOKEN);
  for (const [url, password] of [['http://user:p@ss@127.0.0.1:9/api/', 'p@ss'], ['http:/\\user:pa55word@127.0.0.1:9/api/', 'pa55word'], ['http:user:pa55word@127.0.0.1:9/api/', 'pa55word']] as const) {
    const r = await runCli(['check-config'], { cwd: dir, env: { ...base, PROVIDER_BASE_URL: url } });
    assert.ok(r.code === 0 || r.code === 78, r.stderr);
    assert.ok(!(r.stdout + r.stderr).includes(password) && !(r.stdout + r.stderr).includes('ss@'), `${url}: ${r.stdout}${r.stderr}`);
  }
});

test('a token file other users can read is a warning naming the file and chmod 600 (check-config, poll, start); group-readable is not', async (t) => {
  const mock = await startMockProvider({ port: 0, token: TOKEN });
  t.after(() => mock.close());
  const dir = tempDir(t);
  const tokenFile = path.join(dir, 'api_token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const env = { API_TOKEN_FILE: tokenFile, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' };
  const warning = `api.tokenFile: "${tokenFile}" is readable by other users (mode 0644); run chmod 600 ${tokenFile}`;

  chmodSync(tokenFile, 0o644);
  const checked = await runCli(['check-config'], { cwd: dir, env });
  assert.equal(checked.code, 0, checked.stderr);
  assert.ok(checked.stderr.split('\n').includes(`warning: ${warning}`), checked.stderr);

  const polled = await runCli(['poll'], { cwd: dir, env });
  assert.equal(polled.code, 0, polled.stderr);
  const logged = readFileSync(path.join(dir, 'logs', 'current.log'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { level: string; message: string });
  assert.ok(logged.some((l) => l.level === 'warn' && l.message === warning), 'poll logs the warning');

  const daemon = await startDaemon(t, mock, dir, { API_TOKEN: '', API_TOKEN_FILE: tokenFile, RUN_ON_START: 'never' });
  await daemon.waitFor(isMessage(/^daemon started/)); // its signal handlers are in place
  assert.equal(daemon.count((l) => l.level === 'warn' && l.message === warning), 1, 'start logs the warning');
  assert.equal(await daemon.stop(), 0);

  for (const mode of [0o640, 0o600]) {
    chmodSync(tokenFile, mode);
    const quiet = await runCli(['check-config'], { cwd: dir, env });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.ok(!quiet.stderr.includes('warning:'), `mode ${mode.toString(8)}: ${quiet.stderr}`);
  }
});

test('API_TOKEN with a trailing newline (an .env or echo mistake) is trimmed, as API_TOKEN_FILE is', async (t) => {
  const mock = await startMockProvider({ port: 0, token: TOKEN });
  t.after(() => mock.close());
  const dir = tempDir(t);
  const result = await runCli(['poll'], { cwd: dir, env: { API_TOKEN: `${TOKEN}\n`, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' } });
  assert.equal(result.code, 0, result.stdout + result.stderr);
});

// Logging: JSON lines on disk behind current.log, the token never written, rotation by size,
// every line flushed by close().
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import winston from 'winston';
import { repairLogAudit } from '../src/log/audit.js';
import { CURRENT_LOG, createLogger, type Logger } from '../src/log/log.js';
import { tempDir } from './helpers.js';

const TOKEN = 'tok/with+odd=chars';

function logLines(dir: string): Array<Record<string, unknown>> {
  return readdirSync(dir)
    .filter((f) => /^collector-.*\.log$/.test(f))
    .flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n'))
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Console output would flood the test output; the file transport is what is under test. */
function quietConsole(logger: Logger): void {
  for (const transport of logger.transports) {
    if (transport instanceof winston.transports.Console) transport.silent = true;
  }
}

test('JSON lines land in log.dir behind a current.log link, with the token redacted everywhere', async (t) => {
  const dir = tempDir(t);
  const { logger, close } = createLogger({ dir, level: 'info', maxFiles: '3', maxSize: '20m', secrets: [TOKEN, null], consoleFormat: 'json' });
  quietConsole(logger);
  logger.info(`token in the message ${TOKEN}`);
  logger.warn('token in meta', { url: `http://h/api?t=${encodeURIComponent(TOKEN)}`, nested: { headers: { 'x-access-token': TOKEN } } });
  logger.error('request failed', new Error(`401 for token ${TOKEN}`));
  logger.debug('below the level: not written');
  await close();

  assert.match(readlinkSync(path.join(dir, CURRENT_LOG)), /collector-\d{4}-\d{2}-\d{2}\.log$/);
  const text = readFileSync(path.join(dir, CURRENT_LOG), 'utf8');
  assert.ok(!text.includes(TOKEN) && !text.includes(encodeURIComponent(TOKEN)), text);
  const lines = logLines(dir);
  assert.equal(lines.length, 3);
  assert.deepEqual(lines.map((l) => l.level), ['info', 'warn', 'error']);
  assert.equal(lines[0]?.message, 'token in the message [redacted]');
  assert.equal((lines[1]?.nested as { headers: Record<string, string> }).headers['x-access-token'], '[redacted]');
  assert.equal(lines[1]?.url, 'http://h/api?t=[redacted]');
  assert.match(String(lines[2]?.message), /401 for token \[redacted\]/);
  assert.match(String(lines[2]?.stack), /^Error: .*\[redacted\]/);
  for (const line of lines) assert.ok(typeof line.timestamp === 'string');
});

test('a tiny maxSize makes the files rotate', async (t) => {
  const dir = tempDir(t);
  const { logger, close } = createLogger({ dir, level: 'info', maxFiles: '50', maxSize: '1k', secrets: [], consoleFormat: 'json' });
  quietConsole(logger);
  for (let i = 0; i < 60; i++) logger.info(`line ${i} ${'x'.repeat(80)}`);
  await close();
  const files = readdirSync(dir).filter((f) => f.startsWith('collector-'));
  assert.ok(files.length >= 3, `expected several rotated files, got ${files.join(', ')}`);
});

test('close() flushes every line before it resolves', async (t) => {
  const dir = tempDir(t);
  const { logger, close } = createLogger({ dir, level: 'info', maxFiles: '3', maxSize: '20m', secrets: [], consoleFormat: 'json' });
  quietConsole(logger);
  for (let i = 0; i < 5000; i++) logger.info('burst', { i });
  await close();
  const lines = logLines(dir);
  assert.equal(lines.length, 5000);
  assert.equal(lines.at(-1)?.i, 4999);
});

test('close() resolves when nothing was ever written (a quiet level)', async (t) => {
  const dir = tempDir(t);
  const { logger, close } = createLogger({ dir, level: 'error', maxFiles: '3', maxSize: '20m', secrets: [], consoleFormat: 'json' });
  logger.info('filtered out');
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the file stream open
  const outcome = await Promise.race([close().then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 5000, 'hung'))]);
  assert.equal(outcome, 'closed');
});

test('an audit file cut short (a crash or a full disk during its rewrite) is rebuilt, so old log files are still pruned', async (t) => {
  const dir = tempDir(t);
  // Five days of old logs (gzipped, as rotation leaves them), and the audit left empty by a failed writeFileSync.
  const old = ['2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05'].map((day, i) => {
    const file = path.join(dir, `collector-${day}.log.gz`);
    writeFileSync(file, 'old');
    const when = new Date(Date.UTC(2026, 9, 1 + i));
    utimesSync(file, when, when);
    return path.basename(file);
  });
  writeFileSync(path.join(dir, '.audit.json'), '');
  const { logger, close } = createLogger({ dir, level: 'info', maxFiles: '3', maxSize: '20m', secrets: [], consoleFormat: 'json' });
  quietConsole(logger);
  logger.info('a new day');
  await close();

  const audit = JSON.parse(readFileSync(path.join(dir, '.audit.json'), 'utf8')) as { files: Array<{ name: string }> };
  const today = readlinkSync(path.join(dir, CURRENT_LOG));
  assert.deepEqual(audit.files.map((f) => path.basename(f.name)), ['collector-2026-10-04.log', 'collector-2026-10-05.log', today]);
  // maxFiles 3: the three oldest are gone, the two newest and today's file are kept.
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('collector-')).sort(), [...old.slice(3), today].sort());
  assert.ok(logLines(dir).some((l) => /^log\.dir: the log audit \.audit\.json was unreadable: .*; rebuilt it from 5 log files/.test(String(l.message))));
});

test('a restart on a new day prunes the old gzipped files too (the library prunes before anyone listens)', async (t) => {
  const dir = tempDir(t);
  const old = ['2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04'].map((day, i) => {
    const file = path.join(dir, `collector-${day}.log.gz`);
    writeFileSync(file, 'old');
    const when = new Date(Date.UTC(2026, 9, 1 + i));
    utimesSync(file, when, when);
    return path.basename(file);
  });
  // A valid audit listing them, as the library's own rotation leaves it.
  repairLogAudit(path.join(dir, '.audit.json'), /^collector-.*\.log(\.\d+)?(\.gz)?$/, '3');
  const { logger, close } = createLogger({ dir, level: 'info', maxFiles: '3', maxSize: '20m', secrets: [], consoleFormat: 'json' });
  quietConsole(logger);
  await close();
  const today = readlinkSync(path.join(dir, CURRENT_LOG));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('collector-')).sort(), [...old.slice(2), today].sort());
});

// `movies-collector alerts` and `alerts test [DESTINATION]` against a real receiver; config errors
// in the alerts section are one line each and never quote a destination's URL.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SIGNATURE_HEADER } from '../src/alerts/destinations.js';
import { startReceiver, verifySignature } from './alerts-receiver.js';
import { hasStackTrace, runCli, tempDir } from './helpers.js';

const SECRET_PATH = 'T0AAA/B0BBB/q7Zr9XkP2mW4vN8s';

function env(cwd: string, receiverUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: path.join(cwd, 'data'), LOG_DIR: path.join(cwd, 'logs'), HEALTH_PORT: '0',
    ALERT_RULES: JSON.stringify([{ name: 'drop', type: 'price-drop', percent: 10 }]),
    ALERT_DESTINATIONS: JSON.stringify([{ name: 'team', type: 'slack', url: `${receiverUrl}/services/${SECRET_PATH}` }, { name: 'gone', type: 'webhook', url: `${receiverUrl}/missing` }]),
    ALERT_TIMEOUT_MS: '3000',
    ...extra,
  };
}

test('alerts lists rules and destinations redacted; alerts test delivers (exit 0) or names the failure (exit 1)', async (t) => {
  const receiver = await startReceiver(t, ['ok', 'not-found']);
  const cwd = tempDir(t);
  const list = await runCli(['alerts'], { cwd, env: env(cwd, receiver.url) });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /drop: price-drop percent=10 -> team, gone/);
  assert.match(list.stdout, /team: slack http:\/\/127\.0\.0\.1:\d+\/\[redacted\]/);

  const sent = await runCli(['alerts', 'test', 'team'], { cwd, env: env(cwd, receiver.url) });
  assert.equal(sent.code, 0, sent.stdout + sent.stderr);
  assert.match(sent.stdout, /team \(slack http:\/\/127\.0\.0\.1:\d+\/\[redacted\]\): delivered \(HTTP 200\)/);
  assert.equal(receiver.received.length, 1);
  const body = JSON.parse(receiver.received[0]?.body ?? '{}') as { text: string; blocks: unknown[] };
  assert.match(body.text, /test alert/);
  assert.ok(Array.isArray(body.blocks) && body.blocks.length > 0);
  assert.equal(receiver.received[0]?.path, `/services/${SECRET_PATH}`);

  const failed = await runCli(['alerts', 'test', 'gone'], { cwd, env: env(cwd, receiver.url) });
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /gone \(webhook .*\): not delivered: HTTP 404/);

  const unknown = await runCli(['alerts', 'test', 'nope'], { cwd, env: env(cwd, receiver.url) });
  assert.equal(unknown.code, 78);
  assert.match(unknown.stderr, /no destination named "nope"; expected one of team, gone/);
  for (const r of [list, sent, failed, unknown]) assert.ok(!`${r.stdout}${r.stderr}`.includes('q7Zr9XkP2mW4vN8s'));
});

test('a bad alerts setting is a config error (78) naming it, without a stack trace or the URL', async (t) => {
  const cwd = tempDir(t);
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ ALERT_RULES: '[{"name":"x","type":"price-drop"}]' }, /alerts\.rules.*a price-drop rule needs "percent" or "amount"/],
    [{ ALERT_RULES: '[{"name":"x","type":"sometimes"}]' }, /alerts\.rules.*"type" must be one of price-drop/],
    [{ ALERT_DESTINATIONS: '[{"name":"d","type":"webhook","url":"ftp://q7Zr9XkP2mW4vN8s"}]' }, /alerts\.destinations/],
    [{ ALERT_RULES: '[{"name":"x","type":"listing","destinations":["nowhere"]}]' }, /alerts\.rules x: destination "nowhere" is not in alerts\.destinations/],
    [{ ALERT_DESTINATIONS: '[{"name":"d","type":"webhook","urlFile":"/nonexistent/url"}]' }, /urlFile: cannot read "\/nonexistent\/url" \(ENOENT\)/],
    [{ ALERT_RULES: '[{"name":"x","type":"schema-change","kinds":["baseline"]}]' }, /alerts\.rules.*"kinds" must be a non-empty list of new-field, missing-field, type-change/],
    [{ ALERT_RULES: '[{"name":"x","type":"schema-change","providers":"filmworld"}]' }, /alerts\.rules.*"providers" must be a non-empty list of provider names/],
    [{ ALERT_RULES: '[{"name":"x","type":"listing","kinds":["new-field"]}]' }, /alerts\.rules.*"kinds" applies to schema-change rules only/],
  ];
  for (const [extra, expected] of cases) {
    const r = await runCli(['check-config'], { cwd, env: { ...env(cwd, 'http://127.0.0.1:9'), API_TOKEN: 'tok-123456', ALERT_RULES: '[]', ALERT_DESTINATIONS: '[]', ...extra } });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, expected);
    assert.ok(!hasStackTrace(r.stderr));
    assert.ok(!r.stderr.includes('q7Zr9XkP2mW4vN8s'), r.stderr);
  }
});

test('urlFile and secretFile (Docker secrets): alerts test sends to the URL in the file, signed with the key in the file', async (t) => {
  const receiver = await startReceiver(t);
  const cwd = tempDir(t);
  writeFileSync(path.join(cwd, 'url'), `${receiver.url}/from-file-Wx7Qp2Lm\n`, { mode: 0o600 });
  writeFileSync(path.join(cwd, 'key'), 'file-key-8Hd3Ks0q\n', { mode: 0o600 });
  const r = await runCli(['alerts', 'test'], { cwd, env: env(cwd, receiver.url, { ALERT_DESTINATIONS: JSON.stringify([{ name: 'hook', type: 'webhook', urlFile: 'url', secretFile: 'key' }]) }) });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(receiver.received[0]?.path, '/from-file-Wx7Qp2Lm', 'the trailing newline of the file is trimmed');
  assert.ok(verifySignature('file-key-8Hd3Ks0q', receiver.received[0]?.body ?? '', receiver.received[0]?.headers[SIGNATURE_HEADER] as string | undefined));
  const list = await runCli(['alerts'], { cwd, env: env(cwd, receiver.url, { ALERT_DESTINATIONS: JSON.stringify([{ name: 'hook', type: 'webhook', urlFile: 'url', secretFile: 'key' }]) }) });
  assert.match(list.stdout, /hook: webhook http:\/\/127\.0\.0\.1:\d+\/\[redacted\] \(signed\)/);
  for (const out of [r.stdout, r.stderr, list.stdout, list.stderr]) assert.ok(!out.includes('Wx7Qp2Lm') && !out.includes('8Hd3Ks0q'));
});

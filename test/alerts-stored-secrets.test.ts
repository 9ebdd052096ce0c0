// A provider's text holding a destination's secrets (the webhook URL's secret path segments, the
// signing secret) is stored redacted, like the API token: in `movies` (values and raw body), the
// `alerts` table, the outbox and the rule state; the product's own words around them stay.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isMessage, startDaemon } from './daemon-helpers.js';
import { startReceiver } from './alerts-receiver.js';
import { query, table } from './duckdb.js';
import { tempDir } from './helpers.js';
import { startUpstream } from './scripted-upstream.js';

const TOKEN = 'tok-5a4b3c2d1e0f';
const HOOK_PATH = 'hooks/T0SECRET9/B0SECRET7/xoxSecretPathPart42';
const SIGNING = 'signing-key-5f1e9a7c3b';
const TITLES: Record<string, string> = {
  s1: 'Film xoxSecretPathPart42', // a path segment of the webhook URL
  s2: `Film ${SIGNING}`, // the signing secret
  s3: 'Film 5f1e9a7c3b', // a piece of it
  s4: `Film https://hooks.example/${HOOK_PATH}`,
  w1: 'Film of Secret Movies and Webhook Hooks', // the product's own words, and a 5-letter URL segment
};
const SECRETS = ['xoxSecretPathPart42', 'T0SECRET9', 'B0SECRET7', SIGNING, '5f1e9a7c3b', TOKEN];

test('destination secrets in provider text are stored redacted (movies, alerts table, outbox, rule state); plain words stay', async (t) => {
  const upstream = await startUpstream(({ path: p }) => {
    if (p === '/api/echo/movies') return { body: JSON.stringify({ Movies: Object.keys(TITLES).map((ID) => ({ ID, Title: TITLES[ID] })) }) };
    const id = /^\/api\/echo\/movie\/(\w+)$/.exec(p)?.[1] ?? '';
    return TITLES[id] ? { body: JSON.stringify({ ID: id, Title: TITLES[id], Year: '2001', Price: '5.5' }) } : { status: 404, body: '{}' };
  });
  t.after(() => upstream.close());
  const receiver = await startReceiver(t);
  const cwd = tempDir(t);
  writeFileSync(path.join(cwd, 'c.json'), JSON.stringify({ providers: ['echo'] }));
  const d = await startDaemon(t, { url: upstream.url, token: TOKEN }, cwd, {
    CONFIG_FILE: path.join(cwd, 'c.json'), SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'always',
    ALERT_RULES: JSON.stringify([{ name: 'cheap', type: 'target-price', film: 'Film', price: 10 }]),
    ALERT_DESTINATIONS: JSON.stringify([{ name: 'hook', type: 'webhook', url: `${receiver.url}/${HOOK_PATH}`, secret: SIGNING }]),
  });
  await d.waitForCount(isMessage(/^alert delivered to hook/), Object.keys(TITLES).length, 30_000);
  assert.equal(await d.stop(), 0);

  const movies = await query(`SELECT provider_movie_id AS id, title, raw FROM ${table(d.data, 'movies')} ORDER BY id`);
  assert.equal(movies.length, Object.keys(TITLES).length);
  assert.equal(movies.find((m) => m.id === 'w1')?.title, TITLES.w1, 'plain words are kept');
  assert.equal(movies.find((m) => m.id === 's1')?.title, 'Film [redacted]');
  const alerts = await query(`SELECT title, message FROM read_parquet('${d.data}/alerts/**/*.parquet', hive_partitioning = true)`);
  assert.equal(alerts.length, Object.keys(TITLES).length);
  assert.ok(alerts.some((a) => a.title === TITLES.w1), JSON.stringify(alerts));

  const stored = [JSON.stringify(movies), JSON.stringify(alerts)];
  for (const entry of readdirSync(d.data, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) stored.push(readFileSync(path.join(entry.parentPath, entry.name), 'latin1'));
  }
  for (const secret of SECRETS) assert.ok(!stored.some((s) => s.includes(secret)), `${secret} is stored`);
  assert.ok(stored.some((s) => s.includes('Secret Movies and Webhook Hooks')), 'the plain title is stored as is');
});

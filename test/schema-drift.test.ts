// Schema drift end to end: the real CLI polls the simulator (and a scripted provider of our own)
// over HTTP while their answers change shape; schema_changes is read back with DuckDB.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider, type MockProvider } from '../src/mock/server.js';
import type { MockDrift } from '../src/mock/drift.js';
import { query } from './duckdb.js';
import { runCli, tempDir, type CliResult } from './helpers.js';
import { film, startScriptedProvider } from './scripted-provider.js';

interface Ctx {
  after(fn: () => unknown): void;
}

interface Upstream {
  url: string;
  token: string;
}

async function mockFor(t: Ctx): Promise<MockProvider> {
  const mock = await startMockProvider();
  t.after(() => mock.close());
  return mock;
}

function poll(upstream: Upstream, dir: string, env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(['poll'], {
    cwd: dir,
    env: { API_TOKEN: upstream.token, PROVIDER_BASE_URL: upstream.url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), ...env },
  });
}

type Change = { provider: string; source: string; path: string; kind: string; old_type: string | null; new_type: string; action: string; share: number; example: string | null };

/** Every change row (baseline rows left out), read by DuckDB from the table's root. */
async function changes(dir: string): Promise<Change[]> {
  const root = path.join(dir, 'data', 'schema_changes');
  if (!existsSync(root)) return [];
  return (await query(`SELECT provider, source, path, kind, old_type, new_type, action, share, example
    FROM read_parquet('${root}/**/*.parquet', hive_partitioning = true) WHERE kind <> 'baseline' ORDER BY provider, source, path, kind, new_type`)) as Change[];
}

const baselineCount = async (dir: string): Promise<number> =>
  Number((await query(`SELECT count(*) AS n FROM read_parquet('${path.join(dir, 'data', 'schema_changes')}/**/*.parquet') WHERE kind = 'baseline'`))[0]?.n);

// current.log is a link to the dated file: read once.
const logText = (dir: string): string => readdirSync(path.join(dir, 'logs')).filter((f) => f !== 'current.log').map((f) => readFileSync(path.join(dir, 'logs', f), 'utf8')).join('');
/** A poll that committed with some films rejected (exit 2), as an unparseable price makes it. */
const PARTIAL = 2;

const summary = (rows: Change[]) => rows.map((r) => `${r.provider} ${r.source} ${r.path} ${r.kind} ${r.old_type ?? '-'}→${r.new_type}`);

test('the simulator changes shape mid-run: each change is recorded once, logged once, and no poll without a change records any', async (t) => {
  const mock = await mockFor(t);
  const dir = tempDir(t);
  assert.equal((await poll(mock, dir)).code, 0);
  assert.equal((await poll(mock, dir)).code, 0);
  assert.deepEqual(await changes(dir), [], 'two polls of the same shape: no change');
  assert.ok((await baselineCount(dir)) > 40, 'the first poll established each provider\'s shape');

  const drifts: MockDrift[] = ['new-field', 'renamed-field', 'price-text', 'null-half', 'ratings-array', 'list-field'];
  mock.configure({ drift: drifts });
  assert.equal((await poll(mock, dir)).code, PARTIAL);
  assert.equal((await poll(mock, dir)).code, PARTIAL); // the same shapes again: nothing new
  const expected = (provider: string, films: number) => [
    `${provider} detail Currency new-field -→string`,
    `${provider} detail Plot missing-field string→missing`,
    `${provider} detail Price type-change string:numeric→string`,
    `${provider} detail Rated type-change string→null`,
    `${provider} detail Ratings new-field -→array`,
    `${provider} detail Synopsis new-field -→string`,
    `${provider} list Movies[].Price new-field -→string`,
  ].map((line) => ({ line, films }));
  const rows = await changes(dir);
  assert.deepEqual(summary(rows), [...expected('cinemaworld', 7), ...expected('filmworld', 6)].map((e) => e.line));
  const rated = rows.find((r) => r.provider === 'cinemaworld' && r.path === 'Rated');
  assert.equal(rated?.share, 4 / 7, 'null in half the films (every other one): its share of the answers');
  assert.equal(rows.find((r) => r.path === 'Price')?.example?.startsWith('"$'), true);

  // The array becomes an object: one type change, its new inner fields are not changes of their own.
  mock.configure({ drift: [...drifts.filter((d) => d !== 'ratings-array'), 'ratings-object'] });
  await poll(mock, dir);
  await poll(mock, dir);
  const after = summary(await changes(dir)).filter((line) => line.includes('Ratings'));
  assert.deepEqual(after, [
    'cinemaworld detail Ratings new-field -→array', 'cinemaworld detail Ratings type-change array→object',
    'filmworld detail Ratings new-field -→array', 'filmworld detail Ratings type-change array→object',
  ]);

  const lines = logText(dir).split('\n').filter((l) => l.includes('"schema change: '));
  assert.equal(lines.length, 16, `one log line per change:\n${lines.join('\n')}`);
  assert.match(lines.find((l) => l.includes('detail field Price')) ?? '', /cinemaworld detail field Price changed type \(string:numeric → string\) in 100% of 7 answers/);
});

/** A scripted provider serving cinemaworld only, and a config naming only it. */
async function scripted(t: Ctx, films: Record<string, Record<string, unknown>>, token?: string) {
  const upstream = await startScriptedProvider({ cinemaworld: films }, token);
  t.after(() => upstream.close());
  const dir = tempDir(t);
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ providers: ['cinemaworld'] }));
  const run = (env: Record<string, string> = {}) => runCli(['poll', '--config', config], {
    cwd: dir, env: { API_TOKEN: upstream.token, PROVIDER_BASE_URL: upstream.url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), ...env },
  });
  return { upstream, dir, run };
}

const ids = ['cw0000001', 'cw0000002', 'cw0000003', 'cw0000004'];
const catalogue = (make: (id: string, i: number) => Record<string, unknown>) => Object.fromEntries(ids.map((id, i) => [id, make(id, i)]));

test('shapes that only look new are not changes: key order, a null already seen, Unicode in values', async (t) => {
  const base = (id: string, i: number) => film(id, { Rated: i === 0 ? null : 'PG' });
  const { upstream, dir, run } = await scripted(t, catalogue(base));
  assert.equal((await run()).code, 0);
  // The same fields in reverse order, the null now in another film, titles and plots in other scripts.
  upstream.set('cinemaworld', catalogue((id, i) => {
    const body = base(id, i);
    body.Rated = i === 2 ? null : 'R';
    body.Title = ['Amélie 🎬', '東京物語', 'Ｆｉｌｍ ｆｕｌｌｗｉｄｔｈ', 'Ωmega \u0000'][i];
    body.Plot = '\u202eevil\u202c رواية';
    return Object.fromEntries(Object.entries(body).reverse());
  }));
  const second = await run();
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(await changes(dir), []);
  assert.ok((await baselineCount(dir)) > 15);
});

test('a hostile fixture: a price as "$12.50", a field null for half the films, an array turning into an object, nested changes', async (t) => {
  const base = (id: string) => film(id, { Ratings: [{ Source: 'IMDb', Value: '8/10' }], Meta: { box: { office: '1,000' } } });
  const { upstream, dir, run } = await scripted(t, catalogue(base));
  assert.equal((await run()).code, 0);
  upstream.set('cinemaworld', catalogue((id, i) => ({
    ...base(id), Price: '$12.50', Director: i % 2 === 0 ? null : 'Someone', Ratings: { Source: 'IMDb', Value: 8 }, Meta: { box: { office: 1000 } },
  })));
  assert.equal((await run()).code, PARTIAL); // "$12.50" is no price: each film is rejected, as before
  assert.equal((await run()).code, PARTIAL);
  assert.deepEqual(summary(await changes(dir)), [
    'cinemaworld detail Director type-change string→null',
    'cinemaworld detail Meta.box.office type-change string:numeric→number',
    'cinemaworld detail Price type-change string:numeric→string',
    'cinemaworld detail Ratings type-change array→object',
  ]);
  const director = (await changes(dir)).find((r) => r.path === 'Director');
  assert.equal(director?.share, 0.5);
});

test('policies: reject-record sends the films to rejects with the reason; fail-provider fails the provider until the policy accepts the change', async (t) => {
  const { upstream, dir, run } = await scripted(t, catalogue((id) => film(id)));
  assert.equal((await run()).code, 0);
  upstream.set('cinemaworld', catalogue((id, i) => film(id, i < 2 ? { Currency: 'USD' } : {})));

  // reject-record on extra fields: the two films holding the new field go to rejects.
  const rejected = await run({ SCHEMA_POLICY_EXTRA: 'reject-record' });
  assert.equal(rejected.code, PARTIAL, rejected.stderr);
  const rejects = await query(`SELECT provider_movie_id, reason FROM read_parquet('${dir}/data/rejects/**/*.parquet') ORDER BY 1`);
  assert.deepEqual(rejects.map((r) => r.provider_movie_id), ['cw0000001', 'cw0000002']);
  assert.match(String(rejects[0]?.reason), /^schema change: detail field Currency is new \(string, e\.g\. "USD"\); schema\.policy\.extra is reject-record$/);
  const movies = async () => query(`SELECT run, count(*)::INT AS n FROM read_parquet('${dir}/data/movies/**/*.parquet') GROUP BY 1 ORDER BY 1`);
  assert.deepEqual((await movies()).map((r) => r.n), [4, 2]);

  // fail-provider: the provider's poll fails with one line, and nothing of its answers is stored.
  const failed = await run({ SCHEMA_POLICY_EXTRA: 'fail-provider' });
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /schema change: detail field Currency is new .*schema\.policy\.extra is fail-provider: this provider's poll failed; accept the change with schema\.policy set to record/);
  assert.doesNotMatch(failed.stderr, /\n\s+at /, 'no stack trace');
  const runs = await query(`SELECT status, error FROM read_parquet('${dir}/data/runs/**/*.parquet') ORDER BY run`);
  assert.equal(runs.at(-1)?.status, 'failed');
  assert.equal((await movies()).length, 2, 'the failed poll stored no movie');

  // record (the default): the change is accepted; still one row for it.
  const accepted = await run();
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.deepEqual((await movies()).map((r) => r.n), [4, 2, 4]);
  const rows = await changes(dir);
  assert.deepEqual(rows.map((r) => `${r.path} ${r.kind} ${r.action}`), ['Currency new-field reject-record']);
});

test('a bad schema.policy is a configuration error: exit 78, one line naming the setting', async (t) => {
  const dir = tempDir(t);
  const result = await runCli(['check-config'], { cwd: dir, env: { API_TOKEN: 'x', SCHEMA_POLICY_REQUIRED: 'ignore', DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs') } });
  assert.equal(result.code, 78);
  assert.match(result.stderr, /schema\.policy\.required/);
  assert.match(result.stderr, /record, reject-record, fail-provider|record.*reject-record.*fail-provider/);
});

test('restart, lost cache, SIGKILL in the commit that records a change: no duplicate and no missed change', async (t) => {
  const mock = await mockFor(t);
  const dir = tempDir(t);
  assert.equal((await poll(mock, dir)).code, 0);
  mock.configure({ drift: ['new-field'] });
  // Killed before the poll is ready: nothing committed, the change is seen again by the next poll.
  const early = await poll(mock, dir, { MOVIES_COLLECTOR_TEST_KILL_AT: 'file-written' });
  assert.equal(early.signal, 'SIGKILL');
  assert.deepEqual(await changes(dir), []);
  // Killed after schema_changes is renamed into place but before runs: recovery rolls it forward,
  // the cache was never written, the next poll reads the row back from the table.
  const late = await poll(mock, dir, { MOVIES_COLLECTOR_TEST_KILL_AT: 'renamed:schema_changes' });
  assert.equal(late.signal, 'SIGKILL');
  assert.equal((await poll(mock, dir)).code, 0);
  assert.deepEqual(summary(await changes(dir)), ['cinemaworld detail Currency new-field -→string', 'filmworld detail Currency new-field -→string']);

  // The cache lost (or corrupt): rebuilt from the table, still no duplicate.
  rmSync(path.join(dir, 'data', '_schema'), { recursive: true });
  mock.configure({ drift: ['new-field', 'price-text'] });
  assert.equal((await poll(mock, dir)).code, PARTIAL);
  writeFileSync(path.join(dir, 'data', '_schema', 'shape.json'), '{"version":1,"run":');
  assert.equal((await poll(mock, dir)).code, PARTIAL);
  assert.deepEqual(summary(await changes(dir)), [
    'cinemaworld detail Currency new-field -→string', 'cinemaworld detail Price type-change string:numeric→string',
    'filmworld detail Currency new-field -→string', 'filmworld detail Price type-change string:numeric→string',
  ]);
  assert.ok(readdirSync(path.join(dir, 'data', '_schema')).some((f) => f.startsWith('shape.json.corrupt-')), 'the corrupt cache is set aside');
});

test('a store upgraded from 0.2/0.3 (no schema_changes): the shape comes from its stored answers, so a change across the upgrade is seen', async (t) => {
  const mock = await mockFor(t);
  const dir = tempDir(t);
  cpSync(new URL('../../test/fixtures/store-0.2.0', import.meta.url), path.join(dir, 'data'), { recursive: true });
  mock.configure({ drift: ['new-field'] });
  const first = await poll(mock, dir);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(summary(await changes(dir)), ['cinemaworld detail Currency new-field -→string', 'filmworld detail Currency new-field -→string']);
  assert.equal((await poll(mock, dir)).code, 0);
  assert.equal((await changes(dir)).length, 2, 'no duplicate after the upgrade');
});

test('the token and configured secrets echoed in a new field\'s name or value reach no output', async (t) => {
  const token = 'tok-Zq81vX3mP0aa';
  const { upstream, dir, run } = await scripted(t, catalogue((id) => film(id)), token);
  const signing = 'sign-Qv7Lm2Xk9Pq';
  // A configured secret (an alert destination's signing secret) is redacted like the token.
  const env = { ALERT_DESTINATIONS: JSON.stringify([{ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: signing }]) };
  assert.equal((await run(env)).code, 0);
  upstream.set('cinemaworld', catalogue((id) => film(id, { [`x_${token}`]: `echo ${token}`, [signing]: signing, Nested: { [token]: { deep: token } } })));
  const second = await run(env);
  assert.equal(second.code, 0, second.stderr);
  const third = await run(env);
  const rows = await changes(dir);
  assert.ok(rows.length >= 3, summary(rows).join('\n'));
  const outputs = [second.stdout, second.stderr, third.stdout, third.stderr, logText(dir), JSON.stringify(rows), readFileSync(path.join(dir, 'data', '_schema', 'shape.json'), 'utf8')];
  for (const text of outputs) {
    assert.ok(!text.includes(token), `the token leaked: ${text.slice(0, 300)}`);
    assert.ok(!text.includes(signing), `the signing secret leaked: ${text.slice(0, 300)}`);
  }
  assert.equal((await changes(dir)).length, rows.length, 'a redacted path is not new again at the next poll');
});

test('schema_changes under the compaction and retention rules: a closed day is one file, rows unchanged, the shape rebuilt from it', async (t) => {
  const mock = await mockFor(t);
  const dir = tempDir(t);
  const data = path.join(dir, 'data');
  assert.equal((await poll(mock, dir)).code, 0);
  mock.configure({ drift: ['new-field'] });
  assert.equal((await poll(mock, dir)).code, 0);
  const before = await changes(dir);
  // Move every table's day to a closed day (as if these polls ran on 2 January), then compact.
  const today = readdirSync(path.join(data, 'runs'))[0] ?? '';
  for (const table of ['movies', 'rejects', 'price_changes', 'schema_changes', 'runs']) {
    cpSync(path.join(data, table, today), path.join(data, table, 'dt=2026-01-02'), { recursive: true });
    rmSync(path.join(data, table, today), { recursive: true });
  }
  const compacted = await runCli(['compact'], { cwd: dir, env: { API_TOKEN: mock.token, DATA_DIR: data, LOG_DIR: path.join(dir, 'logs') } });
  assert.equal(compacted.code, 0, compacted.stderr);
  const files = readdirSync(path.join(data, 'schema_changes', 'dt=2026-01-02'));
  assert.equal(files.length, 1);
  assert.match(files[0] ?? '', /^compacted-/);
  assert.deepEqual(await changes(dir), before);
  // The cache lost: rebuilt from the compacted file, no change recorded twice.
  rmSync(path.join(data, '_schema'), { recursive: true });
  assert.equal((await poll(mock, dir)).code, 0);
  assert.deepEqual(await changes(dir), before);
  // Retention removes the old day like the others'.
  assert.equal((await poll(mock, dir, { RETENTION_DAYS: '30' })).code, 0);
  assert.equal(existsSync(path.join(data, 'schema_changes', 'dt=2026-01-02')), false);
  assert.equal(existsSync(path.join(data, 'runs', 'dt=2026-01-02')), false);
});

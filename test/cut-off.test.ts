// 200 answers whose body never arrives whole, for real over TCP: the connection closed (FIN or
// RST) mid-body with Content-Length or chunked framing, for the list call and for detail calls.
// Each is retried like a 5xx; a body cut every time ends as a failure saying "cut off". A body
// that ends with the connection (no framing) and does not parse is retried too, then rejected.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { query, table } from './duckdb.js';
import { runCli, tempDir } from './helpers.js';
import { startUpstream, type Ending, type Framing } from './scripted-upstream.js';

const TOKEN = 'cut-off-test-token';
const CUTS: Array<[Framing, Ending]> = [['length', 'fin'], ['length', 'rst'], ['chunked', 'fin'], ['chunked', 'rst']];
/** Attempts cut before a whole answer; below http.retries (2), so these films are collected. */
const FIRST_CUTS = 2;

const detail = (id: string) => JSON.stringify({ ID: id, Title: `Film ${id}`, Year: '2001', Price: '10.5', Plot: 'p'.repeat(2000) });
const list = (ids: string[]) => JSON.stringify({ Movies: ids.map((ID) => ({ ID, Title: `Film ${ID}`, Poster: 'x'.repeat(200) })) });

test('a 200 body cut short (FIN or RST; Content-Length, chunked or no framing) is retried; one cut every time fails saying "cut off"', async (t) => {
  const upstream = await startUpstream(({ path: p, attempt, headers }) => {
    if (headers['x-access-token'] !== TOKEN) return { status: 401, body: '{}' };
    const [, provider = '', call = '', id = ''] = /^\/api\/([^/]+)\/(movies|movie\/(.+))$/.exec(p) ?? [];
    const [framing, ending, dead] = provider.split('-') as [Framing, Ending, string?];
    const cut = (times: number) => (attempt <= times ? { framing, cut: ending } : { framing });
    if (call === 'movies') return { body: list(['ok', 'flaky', 'broken']), ...cut(dead ? Infinity : FIRST_CUTS) };
    if (id === 'ok') return { body: detail(id), framing };
    return { body: detail(id), ...cut(id === 'broken' ? Infinity : FIRST_CUTS) };
  });
  t.after(() => upstream.close());
  const live = [...CUTS.map(([f, e]) => `${f}-${e}`), 'close-fin'];
  const dead = CUTS.map(([f, e]) => `${f}-${e}-dead`);
  const cwd = tempDir(t);
  writeFileSync(path.join(cwd, 'c.json'), JSON.stringify({ providers: [...live, ...dead], http: { retries: 2 } }));
  const run = await runCli(['poll'], { cwd, env: { API_TOKEN: TOKEN, PROVIDER_BASE_URL: upstream.url, CONFIG_FILE: path.join(cwd, 'c.json'), HEALTH_PORT: '0' } });
  assert.equal(run.code, 2, run.stdout + run.stderr);

  const data = path.join(cwd, 'data');
  const runs = new Map(
    (await query(`SELECT provider, status, listed, fetched, failed, rejected, retries, responses, error FROM ${table(data, 'runs')}`)).map((r) => [String(r.provider), r]),
  );
  for (const [framing, ending] of CUTS) {
    const provider = `${framing}-${ending}`;
    const r = runs.get(provider);
    assert.ok(r, provider);
    // list: 2 cuts then whole; ok: whole; flaky: 2 cuts then whole; broken: cut on all 3 attempts.
    assert.deepEqual([r.status, r.listed, r.fetched, r.failed, r.retries, r.error], ['partial', 3, 2, 1, 6, null], provider);
    const responses = JSON.parse(String(r.responses)) as Record<string, number>;
    assert.equal(responses['200'], 3, `${provider}: only whole answers count as "200": ${String(r.responses)}`);
    if (ending === 'fin') assert.equal(responses['200:cut-off'], 7, `${provider}: ${String(r.responses)}`);
    // An RST that lands before the client read the head is a plain ECONNRESET (retried before too).
    else assert.equal((responses['200:cut-off'] ?? 0) + (responses.ECONNRESET ?? 0), 7, `${provider}: ${String(r.responses)}`);
    const failedLine = run.stderr.split('\n').find((l) => l.includes('detail call failed after retries') && l.includes(`"provider":"${provider}"`));
    assert.match(String(failedLine), /"id":"broken".*body cut off/, `${provider}: ${String(failedLine)}`);

    const gone = runs.get(`${provider}-dead`);
    assert.ok(gone, `${provider}-dead`);
    assert.deepEqual([gone.status, gone.listed, gone.retries], ['failed', 0, 2], `${provider}-dead`);
    assert.match(String(gone.error), /^list call failed: body cut off: the connection closed before the whole HTTP 200 answer arrived/);
  }

  const movies = await query(
    `SELECT provider, provider_movie_id AS id, title, json_valid(raw) AS whole FROM ${table(data, 'movies')} WHERE provider NOT LIKE 'close%' ORDER BY provider, id`,
  );
  assert.deepEqual(
    movies.map((m) => `${String(m.provider)}/${String(m.id)}/${String(m.title)}/${String(m.whole)}`),
    CUTS.flatMap(([f, e]) => [`${f}-${e}/flaky/Film flaky/true`, `${f}-${e}/ok/Film ok/true`]).sort(),
    'films cut short twice are committed whole; the one cut every time is not',
  );

  // No framing: the close is the body's end, so the client gets a "complete" 200 that is not JSON.
  const close = runs.get('close-fin');
  assert.ok(close);
  assert.deepEqual([close.listed, close.fetched, close.failed, close.rejected, close.retries], [3, 3, 0, 1, 6]);
  assert.deepEqual(JSON.parse(String(close.responses)), { 200: 3, '200:bad-json': 7 });
  const closeMovies = await query(`SELECT provider_movie_id AS id FROM ${table(data, 'movies')} WHERE provider = 'close-fin' ORDER BY id`);
  assert.deepEqual(closeMovies.map((m) => m.id), ['flaky', 'ok']);
  const rejects = await query(`SELECT provider_movie_id AS id, reason, raw FROM ${table(data, 'rejects')} WHERE provider = 'close-fin'`);
  assert.equal(rejects.length, 1);
  assert.equal(rejects[0]?.id, 'broken');
  assert.match(String(rejects[0]?.reason), /^malformed JSON/);
  assert.equal(rejects[0]?.raw, detail('broken').slice(0, Math.floor(detail('broken').length / 2)), 'the reject keeps the body as received');
});

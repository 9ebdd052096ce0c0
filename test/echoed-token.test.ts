// An upstream that echoes the access token back (in detail bodies, list entries, a redirect's
// Location, a JSON-escaped value, its URL-encoded form): nothing committed may hold it. Every
// Parquet file is searched byte for byte and, decoded, by DuckDB.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { query, table } from './duckdb.js';
import { runCli, tempDir } from './helpers.js';
import { startUpstream } from './scripted-upstream.js';

const TOKEN = 'Echo/Tok3n+7f2a=';
const ENCODED = encodeURIComponent(TOKEN);
/** The token as a JSON string would escape it: a text search of the raw body does not see it, a parser does. */
const ESCAPED = [...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile() && e.name.endsWith('.parquet')).map((e) => path.join(e.parentPath, e.name));

test('a token the upstream echoes is replaced before anything is stored (bodies, list entries, reasons, errors)', async (t) => {
  const upstream = await startUpstream(({ path: p, headers }) => {
    if (headers['x-access-token'] !== TOKEN) return { status: 401, body: '{}' };
    switch (p) {
      case '/api/echo/movies':
        return { body: JSON.stringify({ Movies: [{ ID: 'e1', Title: `List ${TOKEN}` }, { ID: 'e2' }, { ID: 'e3' }, { ID: 'e4' }, { ID: `x${TOKEN}`, Poster: `?t=${ENCODED}` }] }) };
      case '/api/echo/movie/e1':
        return {
          body: `{"ID":"e1","Title":"Film ${TOKEN}","Plot":"plot ${TOKEN}","Poster":"https://img/?t=${ENCODED}","Director":"${ESCAPED}","Echo":"${TOKEN}","Price":"1.5"}`,
        };
      case '/api/echo/movie/e2':
        return { body: JSON.stringify({ ID: TOKEN, Title: 'Film e2', Price: '2' }) }; // a reason quotes the ID
      case '/api/echo/movie/e3':
        return { body: JSON.stringify({ ID: 'e3', Title: 'Film e3', Price: TOKEN }) }; // and the price
      case '/api/echo/movie/e4':
        return { status: 500, body: JSON.stringify({ Message: `denied for ${TOKEN}` }) };
      case '/api/bounce/movies':
        return { status: 302, headers: { location: `http://127.0.0.1:9/steal?token=${ENCODED}&raw=${TOKEN}` }, body: '' };
      case '/api/garbled/movies':
        return { body: `oops ${TOKEN}` }; // V8's JSON.parse message quotes the body's first characters
      default:
        return { status: 404, body: '{}' };
    }
  });
  t.after(() => upstream.close());
  const cwd = tempDir(t);
  writeFileSync(path.join(cwd, 'c.json'), JSON.stringify({ providers: ['echo', 'bounce', 'garbled'], http: { retries: 1 } }));
  const run = await runCli(['poll'], { cwd, env: { API_TOKEN: TOKEN, PROVIDER_BASE_URL: upstream.url, CONFIG_FILE: path.join(cwd, 'c.json'), HEALTH_PORT: '0' } });
  assert.equal(run.code, 2, run.stdout + run.stderr);
  const data = path.join(cwd, 'data');

  // Where it would have been: replaced, the rest of each value kept.
  const [film] = await query(`SELECT title, plot, poster, director, raw FROM ${table(data, 'movies')} WHERE provider_movie_id = 'e1'`);
  assert.deepEqual([film?.title, film?.plot, film?.poster, film?.director], ['Film [redacted]', 'plot [redacted]', 'https://img/?t=[redacted]', '[redacted]']);
  assert.equal((JSON.parse(String(film?.raw)) as { Echo: string }).Echo, '[redacted]');
  const reasons = await query(`SELECT provider_movie_id AS id, reason, raw FROM ${table(data, 'rejects')} ORDER BY reason`);
  assert.ok(reasons.some((r) => /^ID: "\[redacted\]" does not match the requested "e2"/.test(String(r.reason))), JSON.stringify(reasons));
  assert.ok(reasons.some((r) => /^Price: "\[redacted\]" is not a decimal amount/.test(String(r.reason))), JSON.stringify(reasons));
  assert.ok(reasons.some((r) => /^list entry ID: "x\[redacted\]" is not a safe ID/.test(String(r.reason))), JSON.stringify(reasons));
  const errors = await query(`SELECT provider, error FROM ${table(data, 'runs')} WHERE status = 'failed' ORDER BY provider`);
  assert.match(String(errors[0]?.error), /^list call failed: HTTP 302: redirect to http:\/\/127\.0\.0\.1:9\/steal\?token=\[redacted\]&raw=\[redacted\] refused/);
  assert.match(String(errors[1]?.error), /^malformed list JSON: .*"oops \[reda/);

  // Nowhere at all: every committed file, as bytes and as DuckDB reads it.
  const parquet = files(data);
  assert.ok(parquet.length >= 3, parquet.join(', '));
  for (const file of parquet) {
    const bytes = readFileSync(file);
    for (const secret of [TOKEN, ENCODED]) assert.ok(!bytes.includes(secret), `${file} holds the token's bytes`);
    const [hit] = await query(
      `SELECT count(*)::INT AS n FROM read_parquet('${file}', hive_partitioning = false) t WHERE contains(t::VARCHAR, '${TOKEN}') OR contains(t::VARCHAR, '${ENCODED}')`,
    );
    assert.equal(hit?.n, 0, `${file} holds the token`);
  }
  for (const log of readdirSync(path.join(cwd, 'logs')).filter((f) => f.endsWith('.log'))) {
    assert.ok(!readFileSync(path.join(cwd, 'logs', log), 'utf8').includes(TOKEN), `log ${log}`);
  }
  assert.ok(!run.stderr.includes(TOKEN) && !run.stdout.includes(TOKEN));
});

// Issue 19, items 1-3: upstreams that echo the token in forms a plain text search misses (upper
// case, fullwidth, percent-encoded byte by byte in either hex case, JSON \u escapes inside and
// outside valid JSON, pieces of it), in titles of films whose film_key falls back to the title,
// in error bodies, list bodies and redirects. The token must reach no Parquet byte or value, no
// log line, no CLI output (poll's stdout included) and no HTTP answer of the daemon: not whole,
// not in 6+ character pieces, not in any of those forms.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pollDone, startDaemon } from './daemon-helpers.js';
import { query } from './duckdb.js';
import { runCli, tempDir } from './helpers.js';
import { startUpstream } from './scripted-upstream.js';

/** Lower case, so that case folding (film_key's title fallback) rebuilds it exactly from an upper-cased echo. */
const TOKEN = 'q7zx/vw+k3-rt=m9';
const hex = (c: string, upper: boolean) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`;
const PCT_LOWER = [...TOKEN].map((c) => hex(c, false)).join('');
const PCT_UPPER = [...TOKEN].map((c) => hex(c, true)).join('');
const ESC = (upper: boolean) => [...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`).join('');
const FULLWIDTH = [...TOKEN].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('');
/** Every form looked for, and every 6-character piece of the token, in either case. */
const FORMS = [TOKEN, TOKEN.toUpperCase(), FULLWIDTH, PCT_LOWER, PCT_UPPER, ESC(false), ESC(true)];

function leak(text: string): string | null {
  const lower = text.toLowerCase();
  for (const form of FORMS) if (lower.includes(form.toLowerCase())) return form;
  for (let i = 0; i + 6 <= TOKEN.length; i++) if (lower.includes(TOKEN.slice(i, i + 6))) return TOKEN.slice(i, i + 6);
  return null;
}
const assertClean = (text: string, where: string) => assert.equal(leak(text), null, `${where} holds the token:\n${text.slice(0, 4000)}`);

const filesUnder = (dir: string, ext: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile() && e.name.endsWith(ext)).map((e) => path.join(e.parentPath, e.name));

const detail = (id: string, fields: Record<string, string>) => JSON.stringify({ ID: id, Title: `Film ${id}`, Year: '2001', Price: '3.5', ...fields });

function script({ path: p, headers }: { path: string; headers: Record<string, string> }) {
  if (headers['x-access-token'] !== TOKEN) return { status: 401, body: '{}' };
  switch (p) {
    case '/api/echo/movies':
      return { body: JSON.stringify({ Movies: ['e1', 'e2', 'e3', 'e4', 'e5', 'e6'].map((ID) => ({ ID })) }) };
    case '/api/echo/movie/e1': // no shared-digits ID: film_key falls back to the title, lower-cased
      return { body: detail('e1', { Title: TOKEN.toUpperCase() }) };
    case '/api/echo/movie/e2': // NFKC folds fullwidth forms to ASCII
      return { body: detail('e2', { Title: FULLWIDTH, Plot: `said ${TOKEN.toUpperCase()}` }) };
    case '/api/echo/movie/e3':
      return { body: detail('e3', { Plot: `lower ${PCT_LOWER}`, Poster: `https://img.invalid/?t=${PCT_UPPER}` }) };
    case '/api/echo/movie/e4': // \u escapes in a body that is not JSON: kept in rejects.raw
      return { body: `<html>not json ${ESC(false)} and ${ESC(true)}</html>` };
    case '/api/echo/movie/e5': // \/ and \u escapes in valid JSON
      return { body: `{"ID":"e5","Title":"${TOKEN.replace('/', '\\/')}","Director":"${ESC(true)}","Year":"2001","Price":"1"}` };
    case '/api/echo/movie/e6': // a piece of the token where the ID should be: the reason quotes it
      return { body: detail(TOKEN.slice(2, 12), {}) };
    case '/api/garbled/movies': // a list that does not parse: the parser's message quotes its start
      return { body: `${TOKEN.slice(0, 10)} is not a list` };
    case '/api/bounce/movies':
      return { status: 302, headers: { location: `http://127.0.0.1:9/steal?a=${PCT_LOWER}&b=${PCT_UPPER}` }, body: '' };
    default:
      return { status: 404, body: '{}' };
  }
}

test('an upstream echoing the token in folded, encoded and partial forms leaves no trace of it anywhere', { timeout: 120_000 }, async (t) => {
  const upstream = await startUpstream(script);
  t.after(() => upstream.close());
  const cwd = tempDir(t);
  const config = path.join(cwd, 'c.json');
  writeFileSync(config, JSON.stringify({ providers: ['echo', 'garbled', 'bounce'], http: { retries: 1 } }));
  const env = { API_TOKEN: TOKEN, PROVIDER_BASE_URL: upstream.url, CONFIG_FILE: config, HEALTH_PORT: '0' };
  const poll = await runCli(['poll'], { cwd, env });
  assert.equal(poll.code, 2, poll.stdout + poll.stderr);
  assertClean(poll.stdout, 'poll stdout');
  assertClean(poll.stderr, 'poll stderr');
  assert.match(poll.stdout, /garbled: malformed list JSON/, 'the error lines are still printed');

  const data = path.join(cwd, 'data');
  const films = await query(`SELECT provider_movie_id AS id, film_key, title FROM read_parquet('${data}/movies/**/*.parquet', hive_partitioning = true) ORDER BY id`);
  assert.deepEqual(films.filter((f) => f.id === 'e1' || f.id === 'e2'), [
    { id: 'e1', film_key: 'id:echo:e1', title: '[redacted]' },
    { id: 'e2', film_key: 'id:echo:e2', title: '[redacted]' },
  ]);
  for (const file of filesUnder(data, '.parquet')) {
    assertClean(readFileSync(file).toString('latin1'), `${file} (bytes)`);
    const rows = await query(`SELECT t::VARCHAR AS row FROM read_parquet('${file}', hive_partitioning = false) t`);
    assertClean(rows.map((r) => String(r.row)).join('\n'), `${file} (values)`);
  }
  for (const format of ['json', 'table', 'csv']) {
    const report = await runCli(['report', '--format', format, '--since', '2000-01-01'], { cwd, env });
    assert.equal(report.code, 0, report.stderr);
    assertClean(report.stdout + report.stderr, `report --format ${format}`);
  }

  // The daemon on the same upstream: every route it answers.
  const daemonDir = tempDir(t);
  const daemon = await startDaemon(t, { url: upstream.url, token: TOKEN }, daemonDir, { CONFIG_FILE: config, RUN_ON_START: 'always', SCHEDULE_CRON: '0 0 1 1 *' });
  await daemon.waitFor(pollDone, 60_000);
  for (const route of ['/', '/api/report', '/api/report?section=health&since=2000-01-01', '/api/charts', '/api/status', '/healthz', '/metrics']) {
    let res = await fetch(`http://127.0.0.1:${daemon.healthPort}${route}`);
    for (let i = 0; i < 50 && res.status === 503 && route.startsWith('/api/report'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      res = await fetch(`http://127.0.0.1:${daemon.healthPort}${route}`);
    }
    assertClean(await res.text(), `GET ${route}`);
  }
  assert.equal(await daemon.stop(), 0);
  assertClean(daemon.lines.map((l) => JSON.stringify(l)).join('\n'), 'the daemon\'s console log');
  for (const dir of [cwd, daemonDir]) {
    for (const log of filesUnder(path.join(dir, 'logs'), '.log')) assertClean(readFileSync(log, 'utf8'), log);
  }
});

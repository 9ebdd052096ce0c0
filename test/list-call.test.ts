// The list call: its own body cap (a list of every film is far larger than one film's detail),
// and a failed poll's one line naming the real cause, not always "the network".
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { query, table } from './duckdb.js';
import { hasStackTrace, runCli, tempDir, type CliResult } from './helpers.js';
import { startUpstream, type Reply, type Request } from './scripted-upstream.js';

const TOKEN = 'list-call-test-token';
const detail = (id: string) => JSON.stringify({ ID: id, Title: `Film ${id}`, Year: '1977', Price: '12.5' });

async function poll(t: { after(fn: () => unknown): void }, script: (req: Request) => Reply, providers: string[], env: Record<string, string> = {}): Promise<CliResult & { data: string }> {
  const upstream = await startUpstream(script);
  t.after(() => upstream.close());
  const cwd = tempDir(t);
  writeFileSync(path.join(cwd, 'c.json'), JSON.stringify({ providers }));
  const run = await runCli(['poll'], { cwd, env: { API_TOKEN: TOKEN, PROVIDER_BASE_URL: upstream.url, CONFIG_FILE: path.join(cwd, 'c.json'), HEALTH_PORT: '0', HTTP_RETRIES: '1', ...env } });
  return { ...run, data: path.join(cwd, 'data') };
}

/** The one "poll failed" line; exactly one, no stack trace. */
function failureLine(run: CliResult): string {
  const lines = run.stderr.split('\n').filter((l) => l.startsWith('poll failed'));
  assert.equal(lines.length, 1, run.stderr);
  assert.ok(!hasStackTrace(run.stderr), run.stderr);
  return lines[0] ?? '';
}

test('a list that is not a movie list (not JSON, or no "Movies"): exit 1, the line says so, not "the network"', async (t) => {
  const run = await poll(t, ({ path: p }) => ({ body: p.startsWith('/api/garbled/') ? '<html>maintenance</html>' : '{"Message":"hello"}' }), ['garbled', 'nomovies']);
  assert.equal(run.code, 1, run.stderr);
  const line = failureLine(run);
  assert.match(line, /garbled: malformed list JSON: .*; nomovies: list body has no "Movies" array\)/);
  assert.match(line, /the provider answered something that is not a movie list: check that PROVIDER_BASE_URL points at the movie API$/);
  assert.doesNotMatch(line, /and the network/);
  const runs = await query(`SELECT provider, status, responses FROM ${table(run.data, 'runs')} WHERE provider = 'garbled'`);
  assert.deepEqual(JSON.parse(String(runs[0]?.responses)), { '200:bad-json': 2 }, 'a list that does not parse was retried');
});

test('a list over http.maxListBodyBytes, and one cut off every time: one line naming the setting and the cut', async (t) => {
  const big = JSON.stringify({ Movies: Array.from({ length: 100 }, (_, i) => ({ ID: `b${i}`, Title: 'A title' })) });
  const small = JSON.stringify({ Movies: [{ ID: 'c1' }] });
  const run = await poll(t, ({ path: p }) => (p.startsWith('/api/cut/') ? { body: small, cut: 'fin' } : { body: big }), ['huge', 'cut'], { HTTP_MAX_LIST_BODY_BYTES: '1000' });
  assert.equal(run.code, 1, run.stderr);
  const line = failureLine(run);
  assert.match(line, /huge: list call failed: maxContentLength size of 1000 exceeded \(http\.maxListBodyBytes\)/);
  assert.match(line, /cut: list call failed: body cut off/);
  assert.match(line, /the list is larger than http\.maxListBodyBytes allows: raise HTTP_MAX_LIST_BODY_BYTES/);
  assert.match(line, /the connection kept closing mid-answer/);
  assert.doesNotMatch(line, /PROVIDER_BASE_URL and the network/);
});

const FILMS = 100_000;

test(`a ${FILMS.toLocaleString('en-US')}-entry list (over 15 MB, past the 10 MiB detail cap) is accepted with the default settings`, async (t) => {
  // Realistic entries (~200 bytes, as the real API's); five distinct IDs, so that the poll makes
  // five detail calls rather than 100,000: the list's size is what this is about.
  const entry = (i: number) => ({
    Title: 'Star Wars: Episode IV - A New Hope', Year: '1977', ID: `w${i % 5}`, Type: 'movie',
    Poster: 'https://m.media-amazon.com/images/M/MV5BOTIyMDY2NGQtOGJjNi00OTk4LWFhMDgtYmE3M2NiYzM0YTVmXkEyXkFqcGdeQXVyNTU1NTcwOTk@._V1_SX300.jpg',
  });
  const list = JSON.stringify({ Movies: Array.from({ length: FILMS }, (_, i) => entry(i)) });
  assert.ok(list.length > 15_000_000, `the list is ${list.length} bytes`);
  const run = await poll(t, ({ path: p }) => ({ body: p === '/api/wide/movies' ? list : detail(p.slice('/api/wide/movie/'.length)) }), ['wide']);
  assert.equal(run.code, 0, run.stderr);
  const [runs] = await query(`SELECT status, listed, fetched, responses FROM ${table(run.data, 'runs')}`);
  assert.deepEqual([runs?.status, runs?.listed, runs?.fetched], ['complete', 5, 5]);
  assert.match(run.stderr, /"duplicates":99995,.*"list has duplicate IDs/);
  const [movies] = await query(`SELECT count(*)::INT AS n FROM ${table(run.data, 'movies')} WHERE title = 'Film w3'`);
  assert.equal(movies?.n, 1);
});

// No value in an answer may cost more than itself: out-of-range numbers, placeholder dates and
// empty fields become one reject or one warning, never a failed commit. Scripted providers over
// real HTTP, the real CLI and runPoll, the store read back by DuckDB.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import winston from 'winston';
import { loadConfig } from '../src/config/settings.js';
import { runPoll } from '../src/poll/poll.js';
import { query, table } from './duckdb.js';
import { pollDone, startDaemon } from './daemon-helpers.js';
import { runCli, tempDir } from './helpers.js';
import { film, startScriptedProvider, type ScriptedProvider } from './scripted-provider.js';

interface Ctx {
  after(fn: () => unknown): void;
}

async function provider(t: Ctx, films: Record<string, Record<string, unknown>>): Promise<ScriptedProvider> {
  const p = await startScriptedProvider(films);
  t.after(() => p.close());
  return p;
}

function pollCli(t: Ctx, p: ScriptedProvider, providers: string[], dir = tempDir(t)) {
  return runCli(['poll'], {
    cwd: dir,
    env: { API_TOKEN: p.token, PROVIDER_BASE_URL: p.url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), HTTP_RETRIES: '0', CONFIG_FILE: writeConfig(dir, providers) },
  }).then((r) => ({ ...r, data: path.join(dir, 'data') }));
}

/** A config file naming the providers to poll. */
function writeConfig(dir: string, providers: string[]): string {
  const file = path.join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ providers }));
  return file;
}

test('a price beyond INT64 cents is one reject naming Price; every other film is committed (partial, exit 2)', async (t) => {
  const p = await provider(t, {
    cinemaworld: {
      cw1: film('cw1'),
      cw2: film('cw2', { Price: '99999999999999999999' }), // 10^22 cents: no INT64 holds it
      cw3: film('cw3', { Price: '92233720368547758.07' }), // exactly INT64_MAX cents: fits
    },
  });
  const run = await pollCli(t, p, ['cinemaworld']);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stdout, /cinemaworld\s+partial\s+3\s+3\s+0\s+1/);
  assert.doesNotMatch(run.stderr, /cannot write the store/);
  const movies = await query(`SELECT provider_movie_id AS id, price_cents FROM ${table(run.data, 'movies')} ORDER BY 1`);
  assert.deepEqual(movies, [{ id: 'cw1', price_cents: 1250n }, { id: 'cw3', price_cents: 2n ** 63n - 1n }]);
  const rejects = await query(`SELECT provider_movie_id AS id, reason FROM ${table(run.data, 'rejects')}`);
  assert.equal(rejects.length, 1);
  assert.equal(rejects[0]?.id, 'cw2');
  assert.match(String(rejects[0]?.reason), /^Price: "99999999999999999999" is out of range; expected at most 92,233,720,368,547,758\.07$/);
});

test('values that are not values: out of range or placeholders become null with a warning naming the field', async (t) => {
  const p = await provider(t, {
    cinemaworld: {
      cw1: film('cw1', { Votes: '9,999,999,999,999,999,999,999', Year: '0000', Released: '01 Jan 0001', Rating: '11', Runtime: '99999 min' }),
      cw2: film('cw2', { Year: '', Metascore: '101', Rating: '10' }),
      cw3: film('cw3', { Votes: '9223372036854775807', Released: '01 Jan 1870', Year: '2200' }),
    },
  });
  const run = await pollCli(t, p, ['cinemaworld']);
  assert.equal(run.code, 0, run.stderr);
  const rows = await query(`SELECT provider_movie_id AS id, year, released, rating, votes, metascore, runtime_minutes AS runtime, warnings FROM ${table(run.data, 'movies')} ORDER BY 1`);
  const [one, two, three] = rows;
  assert.deepEqual({ ...one, warnings: undefined }, { id: 'cw1', year: null, released: null, rating: null, votes: null, metascore: 51, runtime: 99999, warnings: undefined });
  assert.deepEqual((one?.warnings as string[]).map((w) => w.split(':')[0]).sort(), ['Rating', 'Released', 'Votes', 'Year']);
  assert.match((one?.warnings as string[]).join('\n'), /Released: "01 Jan 0001" is not a date like "25 May 1977" from 1870 to 2200/);
  assert.deepEqual({ ...two, warnings: undefined }, { id: 'cw2', year: null, released: new Date(Date.UTC(1999, 4, 19)), rating: 10, votes: 1234n, metascore: null, runtime: 136, warnings: undefined });
  assert.deepEqual(two?.warnings, ['Year: empty string, stored as null', 'Metascore: "101" is not a score from 0 to 100']);
  // The edges of each range are kept faithfully.
  assert.equal(three?.votes, 2n ** 63n - 1n);
  assert.deepEqual(three?.released, new Date(Date.UTC(1870, 0, 1)));
  assert.equal(three?.year, 2200);
  assert.deepEqual(three?.warnings, []);
});

// Any JSON value in any field of a detail answer: the poll still commits, and every listed film is
// either a movie row or a reject row.
const FIELDS = ['Title', 'Year', 'Rated', 'Released', 'Runtime', 'Genre', 'Director', 'Writer', 'Actors', 'Plot', 'Language', 'Country', 'Awards', 'Poster', 'Metascore', 'Rating', 'Votes', 'Type', 'Price'];
const hostileValue = fc.oneof(
  fc.jsonValue(),
  fc.string({ unit: 'binary' }),
  fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
  fc.bigInt({ min: 0n, max: 10n ** 30n }).map((n) => n.toLocaleString('en-US')),
  fc.constantFrom('', 'N/A', '0000', '01 Jan 0001', '31 Dec 9999', '99999 min', '1e308', '-1', 'NaN', 'Infinity', '10.0001', '\uFFFD', '😀', '\u0000'),
);
const hostileFilm = fc.record(Object.fromEntries(FIELDS.map((f) => [f, hostileValue])) as Record<string, fc.Arbitrary<unknown>>, { requiredKeys: [] });

test('property: random JSON values in every field never make runPoll fail to commit', async (t) => {
  const p = await provider(t, {});
  const dir = tempDir(t);
  const data = path.join(dir, 'data');
  const { settings } = loadConfig({ env: { API_TOKEN: p.token, PROVIDER_BASE_URL: p.url, DATA_DIR: data, HTTP_RETRIES: '0' }, cwd: dir });
  settings.providers = ['cinemaworld'];
  const logger = winston.createLogger({ silent: true });
  let polls = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(hostileFilm, { minLength: 1, maxLength: 6 }), async (bodies) => {
      const films = Object.fromEntries(bodies.map((b, i) => [`cw${i}`, { ...film(`cw${i}`), ...b, ID: `cw${i}` }]));
      p.set('cinemaworld', films);
      const summary = await runPoll({ settings, logger }); // throws if the commit fails
      polls++;
      assert.notEqual(summary.status, 'failed');
      assert.equal(summary.movies + summary.rejects, bodies.length);
      const [counts] = await query(
        `SELECT (SELECT count(*) FROM ${table(data, 'movies')} WHERE run = '${summary.runId}')::INT AS movies,
                (SELECT count(*) FROM ${table(data, 'rejects')} WHERE run = '${summary.runId}')::INT AS rejects`,
      );
      assert.deepEqual(counts, { movies: summary.movies, rejects: summary.rejects });
    }),
    { numRuns: 40, seed: 11 },
  );
  assert.equal(polls, 40);
});

test('every table glob of the README answers (0 rows) on a store whose polls all failed or had no rejects', async (t) => {
  const p = await provider(t, { cinemaworld: { cw1: film('cw1') } });
  const dir = tempDir(t);
  const good = await pollCli(t, p, ['cinemaworld'], dir);
  assert.equal(good.code, 0, good.stderr);
  const [rejects] = await query(`SELECT count(*)::INT AS n FROM read_parquet('${good.data}/rejects/**/*.parquet', hive_partitioning = true)`);
  assert.equal(rejects?.n, 0, 'a store that never had a reject still answers the rejects glob');

  const failedDir = tempDir(t);
  const failed = await runCli(['poll'], {
    cwd: failedDir,
    env: { API_TOKEN: 'wrong', PROVIDER_BASE_URL: p.url, DATA_DIR: path.join(failedDir, 'data'), LOG_DIR: path.join(failedDir, 'logs'), CONFIG_FILE: writeConfig(failedDir, ['cinemaworld']) },
  });
  assert.equal(failed.code, 1, failed.stderr);
  for (const name of ['movies', 'rejects', 'runs'] as const) {
    const [row] = await query(`SELECT count(*)::INT AS n FROM ${table(path.join(failedDir, 'data'), name)}`);
    assert.equal(row?.n, name === 'runs' ? 1 : 0, name);
  }
});

test('a poll whose only flaw is one rejected film is partial: the poll exits 2 and /healthz shows what is missing', async (t) => {
  const p = await provider(t, { cinemaworld: { cw1: film('cw1'), cw2: film('cw2', { Price: 'free' }) } });
  const dir = tempDir(t);
  const run = await pollCli(t, p, ['cinemaworld'], dir);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /poll partial: cinemaworld partial 1\/2/);

  const d = await startDaemon(t, p, dir, { SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'always', CONFIG_FILE: writeConfig(dir, ['cinemaworld']) });
  await d.waitFor(pollDone);
  const health = (await (await fetch(`http://127.0.0.1:${d.healthPort}/healthz`)).json()) as { status: string; lastPoll: { status: string; movies: number; missing: number } };
  assert.equal(health.status, 'ok', 'a partial poll is not a failing daemon');
  assert.deepEqual([health.lastPoll.status, health.lastPoll.movies, health.lastPoll.missing], ['partial', 1, 1]);
  assert.equal(await d.stop(), 0);
});

test('one film a provider always gets wrong costs only itself: that provider\'s other prices stay current', async (t) => {
  const p = await provider(t, {
    cinemaworld: { cw0000001: film('cw0000001', { Price: '5' }), cw0000002: film('cw0000002', { Price: 'N/A' }) },
    filmworld: { fw0000001: film('fw0000001', { Price: '20' }) },
  });
  const dir = tempDir(t);
  for (let i = 0; i < 2; i++) assert.equal((await pollCli(t, p, ['cinemaworld', 'filmworld'], dir)).code, 2);
  const report = await runCli(['report', '--format', 'json'], { cwd: dir, env: { DATA_DIR: path.join(dir, 'data') } });
  assert.equal(report.code, 0, report.stderr);
  const json = JSON.parse(report.stdout) as { best_prices: Array<{ film_key: string; prices: Record<string, string>; cheapest: string }>; cheapest_film: { provider: string } };
  assert.deepEqual(json.best_prices.map((f) => [f.film_key, f.prices, f.cheapest]), [['tt0000001', { cinemaworld: '5.00', filmworld: '20.00' }, 'cinemaworld']]);
  assert.equal(json.cheapest_film.provider, 'cinemaworld');
});

test('a failure line quoting provider text shows its control characters instead of obeying them', async (t) => {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('\u001b]0;PWNED\u0007\u001b[2J not a list'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const dir = tempDir(t);
  const { port } = server.address() as { port: number };
  const run = await runCli(['poll'], {
    cwd: dir,
    env: { API_TOKEN: 't0ken', PROVIDER_BASE_URL: `http://127.0.0.1:${port}/api/`, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), HTTP_RETRIES: '0', CONFIG_FILE: writeConfig(dir, ['cinemaworld']) },
  });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^poll failed: /m);
  assert.doesNotMatch(run.stdout + run.stderr, /[\u0007\u001b]/); // eslint-disable-line no-control-regex -- the point
});

// Second hostile pass on the streaming writer: a poll killed while rows already sit in its staged
// files, a disk that fills in the middle of streaming, SIGTERM of the daemon mid-poll, and providers
// with 0, 1 and 9,000 films of hostile values. Real processes, a real tmpfs, read back with DuckDB
// and hyparquet.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { startMockProvider } from '../src/mock/server.js';
import { query, table } from './duckdb.js';
import { pollDone, startDaemon } from './daemon-helpers.js';
import { cliEnv, fill, inspectStore, mountTmpfs, spawnCli } from './faults.js';
import { hasStackTrace, runCli, tempDir } from './helpers.js';
import { film, startScriptedProvider } from './scripted-provider.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every staged part file under DATA_DIR/_staging, with its size. */
function stagedFiles(data: string): Array<{ file: string; size: number }> {
  const out: Array<{ file: string; size: number }> = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.parquet')) {
        try {
          out.push({ file: p, size: statSync(p).size });
        } catch {
          // removed meanwhile
        }
      }
    }
  };
  walk(path.join(data, '_staging'));
  return out;
}

const stagingEntries = (data: string) => (existsSync(path.join(data, '_staging')) ? readdirSync(path.join(data, '_staging')) : []);

test('SIGKILL of `poll` after a row group of movies reached its staged file: the next poll discards the staging, no partial file, DuckDB reads the store', async (t) => {
  const mock = await startMockProvider({ movies: 6000, latencyMs: 1, seed: 3 });
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const data = path.join(cwd, 'data');
  const env = cliEnv(mock, cwd);
  const child = spawnCli(['poll'], env, cwd);
  // A full row group (4,096 rows) is written while the poll runs: wait for one, then kill.
  for (;;) {
    assert.equal(child.exitCode, null, `the poll ended before a row group was staged: ${child.output().slice(-400)}`);
    if (stagedFiles(data).some((f) => f.file.includes(`${path.sep}movies${path.sep}`) && f.size > 100_000)) break;
    await sleep(50);
  }
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(stagingEntries(data).length, 1, 'the killed poll left its staging');

  const after = await runCli(['poll'], { cwd, env, timeoutMs: 180_000 });
  assert.equal(after.code, 0, after.stderr.slice(-500));
  assert.match(after.stderr + after.stdout, /recovery: discarded what a crash left in staging/);
  assert.deepEqual(stagingEntries(data), []);
  const state = await inspectStore(data);
  assert.deepEqual(state.partialFiles, []);
  assert.deepEqual(state.orphans, [], 'no table holds a file of the killed poll');
  assert.deepEqual(state.problems, []);
  assert.equal(state.committed.size, 1, 'only the second poll is committed');
  const [row] = await query(`SELECT count(*)::INT AS n, count(DISTINCT run)::INT AS runs FROM ${table(data, 'movies')} WHERE provider IN ('cinemaworld', 'filmworld')`);
  assert.deepEqual(row, { n: 12000, runs: 1 });
});

test('the disk fills in the middle of streaming (earlier row groups fit): one clear line, exit 1, staging removed, earlier polls intact, then polls succeed again', async (t) => {
  const mock = await startMockProvider({ movies: 9000, seed: 4 });
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const data = path.join(cwd, 'data');
  const unmount = mountTmpfs(data, '64m');
  try {
    await diskFullMidStream(mock, cwd, data);
  } finally {
    unmount(); // before tempDir removes the folder
  }
});

async function diskFullMidStream(mock: { url: string; token: string }, cwd: string, data: string): Promise<void> {
  const env = cliEnv(mock, cwd);
  const first = await runCli(['poll'], { cwd, env, timeoutMs: 180_000 });
  assert.equal(first.code, 0, first.stderr.slice(-500));
  const before = await inspectStore(data);
  const movieBytes = (await query(`SELECT sum(total_compressed_size)::BIGINT AS b FROM parquet_metadata('${data}/movies/**/*.parquet')`))[0]?.b;
  // Room for about a third of a poll's movie files: the first row groups are written, a later one is not.
  const filler = fill(data, Math.floor(Number(movieBytes) / 3));
  let sawStaged = false;
  const poll = spawnCli(['poll'], env, cwd);
  while (poll.exitCode === null) {
    if (stagedFiles(data).some((f) => f.size > 50_000)) sawStaged = true;
    await sleep(20);
  }
  await new Promise((resolve) => (poll.exitCode === null ? poll.once('exit', resolve) : resolve(null)));
  const out = poll.output();
  assert.equal(poll.exitCode, 1, out.slice(-500));
  assert.ok(sawStaged, 'row groups were staged before the disk filled');
  const errorLines = out.split('\n').filter((l) => /cannot write the store/.test(l));
  assert.equal(errorLines.length >= 1, true, out.slice(-500));
  assert.match(out, /poll failed: cannot write the store at .* \(ENOSPC\): the disk is full: free space under DATA_DIR; this poll was not committed/);
  assert.equal(hasStackTrace(out), false, out.slice(-800));
  assert.deepEqual(stagingEntries(data), [], 'staging removed');
  const after = await inspectStore(data);
  assert.deepEqual(after.partialFiles, []);
  assert.deepEqual(after.orphans, []);
  assert.deepEqual([...after.committed], [...before.committed], 'earlier polls intact');
  rmSync(filler);
  const again = await runCli(['poll'], { cwd, env, timeoutMs: 180_000 });
  assert.equal(again.code, 0, again.stderr.slice(-500));
  assert.equal((await inspectStore(data)).committed.size, 2);
}

test('SIGTERM of the daemon mid-poll with a short SHUTDOWN_GRACE_MS: the poll is aborted, nothing committed, staging removed, exit 0', async (t) => {
  const mock = await startMockProvider({ movies: 6000, latencyMs: 2, seed: 5 });
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'always', SHUTDOWN_GRACE_MS: '200' });
  for (;;) {
    if (stagedFiles(d.data).some((f) => f.file.includes(`${path.sep}movies${path.sep}`) && f.size > 100_000)) break;
    assert.equal(d.count(pollDone), 0, 'the poll finished before a row group was staged');
    await sleep(50);
  }
  assert.equal(await d.stop('SIGTERM'), 0);
  assert.equal(d.count(pollDone), 0, 'no poll finished');
  assert.ok(d.lines.some((l) => /abort/i.test(l.message)), `the log says the poll was aborted: ${d.lines.slice(-5).map((l) => l.message).join(' | ')}`);
  assert.deepEqual(stagingEntries(d.data), [], 'staging removed');
  assert.deepEqual(readdirSync(d.data).filter((e) => ['movies', 'rejects', 'runs'].includes(e)), [], 'no table was created');
});

/** A film whose every field is hostile text (all still a valid film: a price and an ID). */
function hostileFilm(i: number): Record<string, unknown> {
  const nasty = ['</script><script>alert(1)</script>', '\u202Egnp.exe', '😀\u0000NUL', 'Ｆｕｌｌ\uFFFD', '"\'><svg onload=alert(1)>', 'x'.repeat(2000), '\\u0000 \\" ', '\r\n\t', '𝐌𝐚𝐭𝐡'];
  const pick = (k: number) => `${nasty[(i + k) % nasty.length]} #${i}`;
  return film(`h${i}`, {
    Title: pick(0), Year: i % 7 === 0 ? 'N/A' : String(1900 + (i % 130)), Rated: pick(1), Released: i % 5 === 0 ? 'garbage' : '01 Jan 2001', Runtime: i % 3 === 0 ? '∞ min' : '90 min',
    Genre: `${pick(2)}, ${pick(3)}`, Director: pick(4), Writer: `${pick(5)}, ${pick(6)}`, Actors: `${pick(7)}, ${pick(8)}`, Plot: pick(1), Language: pick(2), Country: pick(3),
    Poster: pick(4), Metascore: i % 4 === 0 ? '-1' : '50', Rating: i % 6 === 0 ? 'NaN' : '7.1', Votes: i % 8 === 0 ? '9,999,999,999,999' : '1,000', Type: pick(5), Price: `${(i % 500) + 0.99}`,
    Extra: { nested: [pick(6), null, i] },
  });
}

test('providers with 0, 1 and 9,000 films of hostile values: DuckDB and hyparquet read every column, counts right, no string min/max, TIMESTAMPTZ', async (t) => {
  const many = Object.fromEntries(Array.from({ length: 9000 }, (_, i) => [`h${i}`, hostileFilm(i)]));
  const upstream = await startScriptedProvider({ none: {}, one: { o1: film('o1', { Title: '<img src=x onerror=alert(1)>' }) }, many });
  t.after(() => upstream.close());
  const cwd = tempDir(t);
  const data = path.join(cwd, 'data');
  writeFileSync(path.join(cwd, 'c.json'), JSON.stringify({ providers: ['none', 'one', 'many'] }));
  const run = await runCli(['poll'], { cwd, timeoutMs: 300_000, env: { API_TOKEN: upstream.token, PROVIDER_BASE_URL: upstream.url, CONFIG_FILE: path.join(cwd, 'c.json'), DATA_DIR: data, LOG_DIR: path.join(cwd, 'logs') } });
  assert.ok(run.code === 0 || run.code === 2, run.stderr.slice(-800));

  const counts = await query(`SELECT provider, count(*)::INT AS n FROM ${table(data, 'movies')} GROUP BY 1 ORDER BY 1`);
  const [rejects] = await query(`SELECT count(*)::INT AS n FROM ${table(data, 'rejects')}`);
  const byProvider = Object.fromEntries(counts.map((r) => [r.provider, r.n]));
  assert.equal(byProvider.none, undefined, 'no movie rows for the empty provider');
  assert.equal(byProvider.one, 1);
  assert.equal(Number(byProvider.many ?? 0) + Number(rejects?.n ?? 0), 9000, 'every hostile film is a movie or a reject');
  const runs = await query(`SELECT provider, status, listed, fetched, rejected FROM ${table(data, 'runs')} ORDER BY provider`);
  assert.deepEqual(runs.map((r) => [r.provider, r.listed, r.fetched]), [['many', 9000, 9000], ['none', 0, 0], ['one', 1, 1]]);
  assert.equal(runs.find((r) => r.provider === 'none')?.status, 'complete');

  // Every column of every table, read in full (a column DuckDB cannot decode fails the query).
  for (const name of ['movies', 'rejects', 'runs'] as const) {
    const cols = await query(`DESCRIBE SELECT * FROM ${table(data, name)}`);
    for (const c of cols) {
      const [r] = await query(`SELECT count("${String(c.column_name)}")::INT AS n, max(length("${String(c.column_name)}"::VARCHAR))::INT AS l FROM ${table(data, name)}`);
      assert.ok(r, `${name}.${String(c.column_name)}`);
    }
    const times = cols.filter((c) => /(_at)$/.test(String(c.column_name)));
    assert.ok(times.length >= 2);
    for (const c of times) assert.equal(c.column_type, 'TIMESTAMP WITH TIME ZONE', `${name}.${String(c.column_name)}`);
  }
  // Text comes back byte for byte, NUL and bidi controls included.
  const [h1] = await query(`SELECT title, director, raw FROM ${table(data, 'movies')} WHERE provider = 'many' AND provider_movie_id = 'h1'`);
  assert.equal(h1?.title, '\u202Egnp.exe #1');
  const [h2] = await query(`SELECT title FROM ${table(data, 'movies')} WHERE provider = 'many' AND provider_movie_id = 'h2'`);
  assert.equal(h2?.title, '😀\u0000NUL #2');
  const stats = await query(
    `SELECT count(*)::INT AS n FROM parquet_metadata('${data}/*/**/*.parquet') WHERE type = 'BYTE_ARRAY' AND coalesce(stats_min_value, stats_max_value, stats_min, stats_max) IS NOT NULL`,
  );
  assert.equal(stats[0]?.n, 0, 'no string column chunk carries min/max');

  // hyparquet reads every file of every table.
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else files.push(path.join(dir, e.name));
    }
  };
  for (const name of ['movies', 'rejects', 'runs']) walk(path.join(data, name));
  let hyRows = 0;
  for (const f of files) {
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(f) });
    hyRows += rows.length;
    for (const r of rows) for (const k of ['polled_at', 'fetched_at', 'started_at'] as const) if (k in r) assert.ok(r[k] instanceof Date, `${f}: ${k}`);
  }
  const [all] = await query(`SELECT (SELECT count(*) FROM ${table(data, 'movies')}) + (SELECT count(*) FROM ${table(data, 'rejects')}) + (SELECT count(*) FROM ${table(data, 'runs')}) AS n`);
  assert.equal(BigInt(hyRows), BigInt(Number(all?.n)), 'hyparquet and DuckDB see the same rows');
  const hyTitles = new Set<string>();
  for (const f of files.filter((f) => f.includes(`${path.sep}movies${path.sep}`))) {
    for (const r of await parquetReadObjects({ file: await asyncBufferFromFile(f), columns: ['title'] })) hyTitles.add(String(r.title));
  }
  assert.ok(hyTitles.has('\u202Egnp.exe #1') && hyTitles.has('😀\u0000NUL #2') && hyTitles.has('<img src=x onerror=alert(1)>'));
});

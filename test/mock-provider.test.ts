// The simulator answers as webjet-api.md says, honours its fault rates and is deterministic by seed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { Catalogue } from '../src/mock/catalogue.js';
import { startMockProvider, type MockProvider } from '../src/mock/server.js';
import { CLI, cleanEnv } from './helpers.js';

const DETAIL_KEYS = ['Actors', 'Awards', 'Country', 'Director', 'Genre', 'ID', 'Language', 'Metascore', 'Plot', 'Poster', 'Price', 'Rated', 'Rating', 'Released', 'Runtime', 'Title', 'Type', 'Votes', 'Writer', 'Year'];

async function get(mock: MockProvider, path: string, token: string | null = mock.token, signal?: AbortSignal) {
  const headers: Record<string, string> = token === null ? {} : { 'x-access-token': token };
  const res = await fetch(new URL(path, mock.url), { headers, signal });
  return { status: res.status, text: await res.text() };
}

async function started(t: { after(fn: () => Promise<void>): void }, options: Parameters<typeof startMockProvider>[0] = {}) {
  const mock = await startMockProvider(options);
  t.after(() => mock.close());
  return mock;
}

test('list bodies: 7 Star Wars films on cinemaworld, 6 on filmworld, every value a string', async (t) => {
  const mock = await started(t);
  const cw = JSON.parse((await get(mock, 'cinemaworld/movies')).text) as { Movies: Array<Record<string, unknown>> };
  const fw = JSON.parse((await get(mock, 'filmworld/movies')).text) as { Movies: Array<Record<string, unknown>> };
  assert.equal(cw.Movies.length, 7);
  assert.equal(fw.Movies.length, 6);
  for (const [prefix, list] of [['cw', cw], ['fw', fw]] as const) {
    for (const movie of list.Movies) {
      assert.deepEqual(Object.keys(movie).sort(), ['ID', 'Poster', 'Title', 'Type', 'Year']);
      assert.ok(Object.values(movie).every((v) => typeof v === 'string'));
      assert.match(String(movie.ID), new RegExp(`^${prefix}\\d{7}$`));
      assert.match(String(movie.Title), /^Star Wars: Episode [IV]+ - /);
    }
  }
  const titles = (list: typeof cw) => list.Movies.map((m) => m.Title);
  assert.ok(titles(cw).includes('Star Wars: Episode VII - The Force Awakens'));
  assert.ok(!titles(fw).includes('Star Wars: Episode VII - The Force Awakens'));
  assert.ok(cw.Movies.some((m) => m.ID === 'cw0076759' && m.Year === '1977'));
});

test('detail bodies: every value a string, filmworld without Awards, same digits on both', async (t) => {
  const mock = await started(t);
  const cw = JSON.parse((await get(mock, 'cinemaworld/movie/cw0076759')).text) as Record<string, unknown>;
  const fw = JSON.parse((await get(mock, 'filmworld/movie/fw0076759')).text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(cw).sort(), DETAIL_KEYS);
  assert.deepEqual(Object.keys(fw).sort(), DETAIL_KEYS.filter((k) => k !== 'Awards'));
  assert.ok([...Object.values(cw), ...Object.values(fw)].every((v) => typeof v === 'string'));
  assert.equal(cw.Title, 'Star Wars: Episode IV - A New Hope');
  assert.equal(cw.Runtime, '121 min');
  assert.equal(cw.Votes, '915,459');
  assert.equal(cw.Price, '123.5');
  assert.equal(fw.Price, '29.5');
  assert.equal((await get(mock, 'filmworld/movie/fw2488496')).status, 404, 'Episode VII is not on filmworld');
});

test('a missing or wrong token gets 401 with the API message', async (t) => {
  const mock = await started(t, { token: 'right' });
  for (const token of [null, 'wrong']) {
    const res = await get(mock, 'cinemaworld/movies', token);
    assert.equal(res.status, 401);
    assert.deepEqual(JSON.parse(res.text), { Message: 'Authorization has been denied for this request.' });
  }
  assert.equal((await get(mock, 'cinemaworld/movies', 'right')).status, 200);
});

test('the fail rate is roughly honoured over many requests with a fixed seed', async (t) => {
  const mock = await started(t, { failRate: 0.3, seed: 42 });
  let failures = 0;
  const total = 400;
  for (let i = 0; i < total; i++) {
    const { status } = await get(mock, 'filmworld/movie/fw0080684');
    if (status === 500 || status === 503) failures++;
    else assert.equal(status, 200);
  }
  assert.ok(failures > total * 0.22 && failures < total * 0.38, `failures ${failures}/${total}`);
});

test('the hang rate leaves requests unanswered, the malformed rate breaks detail bodies', async (t) => {
  const mock = await started(t, { hangRate: 0.2, malformedRate: 0.3, seed: 7 });
  let hung = 0;
  let malformed = 0;
  const total = 200;
  for (let i = 0; i < total; i++) {
    try {
      const { text } = await get(mock, 'cinemaworld/movie/cw0086190', mock.token, AbortSignal.timeout(400));
      try {
        const body = JSON.parse(text) as Record<string, unknown>;
        if (typeof body.Title !== 'string' || typeof body.Price !== 'string') malformed++;
      } catch {
        malformed++;
      }
    } catch (err) {
      assert.equal((err as Error).name, 'TimeoutError');
      hung++;
    }
  }
  assert.ok(hung > total * 0.1 && hung < total * 0.3, `hung ${hung}/${total}`);
  const answered = total - hung;
  assert.ok(malformed > answered * 0.18 && malformed < answered * 0.42, `malformed ${malformed}/${answered}`);
  // Every hang the mock made was seen as one; on a loaded machine an answer may also come later than the timeout.
  assert.ok(hung >= mock.stats().hung && hung - mock.stats().hung <= 2, `the client saw ${hung} hangs, the mock made ${mock.stats().hung}`);
});

test('the same seed gives the same synthetic catalogue and prices; another seed does not', () => {
  const a = new Catalogue(5, 200, 0.05);
  const b = new Catalogue(5, 200, 0.05);
  const c = new Catalogue(6, 200, 0.05);
  assert.equal(a.filmsOf('cinemaworld').length, 200);
  assert.equal(a.filmsOf('filmworld').length, 200);
  const shared = a.filmsOf('cinemaworld').filter((f) => f.basePriceCents.filmworld !== undefined).length;
  assert.equal(shared, 180, '90% of films on both providers');
  assert.deepEqual(a.films, b.films);
  assert.notDeepEqual(a.films, c.films);
  const film = a.films[0]!;
  const prices = (cat: Catalogue) => [0, 1, 2, 3].map((g) => cat.priceCents('cinemaworld', film, g));
  assert.deepEqual(prices(a), prices(b));
  assert.ok(new Set(prices(a)).size > 1, 'prices drift between generations');
});

test('prices drift between polls: each list call starts a new price generation', async (t) => {
  const mock = await started(t, { priceDrift: 0.2, seed: 3 });
  const price = async () => (JSON.parse((await get(mock, 'filmworld/movie/fw0121765')).text) as { Price: string }).Price;
  const seen: string[] = [];
  for (let poll = 0; poll < 4; poll++) {
    await get(mock, 'filmworld/movies');
    seen.push(await price());
  }
  const film = mock.catalogue.find('filmworld', 'fw0121765')!;
  assert.deepEqual(seen, [1, 2, 3, 4].map((g) => String(mock.catalogue.priceCents('filmworld', film, g) / 100)));
  assert.ok(new Set(seen).size > 1);
});

test('stats report the most requests ever in flight at once', async (t) => {
  const mock = await started(t, { latencyMs: 150 });
  await Promise.all(Array.from({ length: 9 }, () => get(mock, 'cinemaworld/movies')));
  const stats = mock.stats();
  assert.equal(stats.maxInFlight, 9);
  assert.equal(stats.inFlight, 0);
  assert.equal(stats.byStatus['200'], 9);
});

test('the mock-provider command picks a free port, prints its URL, serves, and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, [CLI, 'mock-provider', '--port', '0', '--token', 'cli-token'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const url = /(http:\/\/127\.0\.0\.1:\d+\/api\/)/.exec(chunk.toString())?.[1];
  assert.ok(url, chunk.toString());
  const res = await fetch(`${url}filmworld/movies`, { headers: { 'x-access-token': 'cli-token' } });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { Movies: unknown[] }).Movies.length, 6);
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0);
});

// Normalization: every quirk of webjet-api.md, as pure functions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filmKey, normalizeDetail, parseList, parsePriceCents, parseReleased, parseVotes, type DetailInput } from '../src/records/normalize.js';
import type { MovieRecord, RejectRecord } from '../src/records/types.js';

const polledAt = new Date('2026-11-24T10:15:00Z');
const STAR_WARS = {
  Title: 'Star Wars: Episode IV - A New Hope', Year: '1977', Rated: 'PG', Released: '25 May 1977', Runtime: '121 min',
  Genre: 'Action, Adventure, Fantasy', Director: 'George Lucas', Writer: 'George Lucas',
  Actors: 'Mark Hamill, Harrison Ford, Carrie Fisher, Peter Cushing', Plot: '...', Language: 'English', Country: 'USA',
  Awards: 'Won 6 Oscars. Another 48 wins & 28 nominations.', Poster: 'https://p', Metascore: '92', Rating: '8.7',
  Votes: '915,459', ID: 'cw0076759', Type: 'movie', Price: '123.5',
};

function input(body: unknown, requestedId = 'cw0076759'): DetailInput {
  return { provider: 'cinemaworld', requestedId, body: typeof body === 'string' ? body : JSON.stringify(body), httpStatus: 200, polledAt, fetchedAt: polledAt };
}
function movie(body: unknown, requestedId?: string): MovieRecord {
  const result = normalizeDetail(input(body, requestedId));
  assert.ok(result.ok, result.ok ? '' : result.reject.reason);
  return result.movie;
}
function reject(body: unknown, requestedId?: string): RejectRecord {
  const result = normalizeDetail(input(body, requestedId));
  assert.ok(!result.ok, 'expected a reject');
  return result.reject;
}

test('the API example becomes a fully typed record, raw kept whole', () => {
  const m = movie(STAR_WARS);
  assert.equal(m.film_key, 'tt0076759');
  assert.equal(m.year, 1977);
  assert.deepEqual(m.released, new Date(Date.UTC(1977, 4, 25)));
  assert.equal(m.runtime_minutes, 121);
  assert.deepEqual(m.genres, ['Action', 'Adventure', 'Fantasy']);
  assert.deepEqual(m.actors, ['Mark Hamill', 'Harrison Ford', 'Carrie Fisher', 'Peter Cushing']);
  assert.equal(m.metascore, 92);
  assert.equal(m.rating, 8.7);
  assert.equal(m.votes, 915459n);
  assert.equal(m.price_cents, 12350n);
  assert.deepEqual(m.warnings, []);
  assert.deepEqual(JSON.parse(m.raw), STAR_WARS);
});

test('"N/A" and a missing Awards key become null; new provider fields survive in raw', () => {
  const { Awards: _awards, ...filmworld } = STAR_WARS;
  const m = movie({ ...filmworld, Metascore: 'N/A', Rated: 'N/A', BoxOffice: '$775M' });
  assert.equal(m.awards, null);
  assert.equal(m.metascore, null);
  assert.equal(m.rated, null);
  assert.deepEqual(m.warnings, []);
  assert.equal(JSON.parse(m.raw).BoxOffice, '$775M');
});

test('unparseable optional fields become null with a warning, never a crash', () => {
  const m = movie({ ...STAR_WARS, Runtime: 'two hours', Votes: 'lots', Released: '31 Feb 1977', Year: 1977, Genre: ['Action'] });
  assert.equal(m.runtime_minutes, null);
  assert.equal(m.votes, null);
  assert.equal(m.released, null);
  assert.equal(m.year, null);
  assert.equal(m.genres, null);
  assert.equal(m.warnings.length, 5);
  assert.match(m.warnings.join('\n'), /Runtime: "two hours" is not a runtime/);
  assert.match(m.warnings.join('\n'), /Year: expected a string, got a number/);
});

test('prices are exact cents', () => {
  assert.equal(parsePriceCents('123.5'), 12350n);
  assert.equal(parsePriceCents('19.99'), 1999n);
  assert.equal(parsePriceCents('0.29'), 29n);
  assert.equal(parsePriceCents('29'), 2900n);
  assert.equal(parsePriceCents('1,234.05'), 123405n);
  for (const bad of ['', 'N/A', '-1', '1.234', '12,34', '$5', '1e3']) assert.equal(parsePriceCents(bad), undefined, bad);
});

test('votes with thousands separators, dates, cross-provider keys', () => {
  assert.equal(parseVotes('915,459'), 915459n);
  assert.equal(parseVotes('1,234,567,890'), 1234567890n);
  assert.equal(parseVotes('91,54'), undefined);
  assert.deepEqual(parseReleased('1 Jan 2000'), new Date(Date.UTC(2000, 0, 1)));
  assert.equal(parseReleased('2000-01-01'), undefined);
  assert.equal(filmKey('cinemaworld', 'cw0076759'), filmKey('filmworld', 'fw0076759'));
  assert.equal(filmKey('cinemaworld', 'cw0076759'), 'tt0076759');
  assert.equal(filmKey('other', 'abc'), 'id:other:abc');
});

test('IDs of one provider whose digits agree but whose letters differ never share a film_key (issue 19, item 9)', () => {
  const ids = ['cw0000001', 'CW0000001', 'xx0000001', 'fw0000001', 'Cw0000001', 'tt0000001'];
  const keys = ids.map((id) => movie({ ...STAR_WARS, ID: id }, id).film_key);
  assert.equal(new Set(keys).size, ids.length, keys.join(' ')); // the same title and year do not make them one film either
  assert.equal(keys[0], 'tt0000001');
  assert.equal(keys[1], 'id:cinemaworld:CW0000001');
});

test('records that cannot be made valid are rejected with the reason and the raw body', () => {
  assert.match(reject('{"Title": "Star Wa').reason, /^malformed JSON/);
  assert.equal(reject('{"Title": "Star Wa').raw, '{"Title": "Star Wa');
  assert.match(reject('[1,2]').reason, /not a JSON object/);
  assert.match(reject({ ...STAR_WARS, ID: null }).reason, /^ID: expected a string, got null/);
  assert.match(reject({ ...STAR_WARS, ID: 'cw999' }).reason, /does not match the requested/);
  assert.match(reject({ ...STAR_WARS, Title: '' }).reason, /^Title/);
  assert.match(reject({ ...STAR_WARS, Price: 'free' }).reason, /^Price: "free" is not a decimal/);
  assert.match(reject({ ...STAR_WARS, Price: { amount: '1' } }).reason, /^Price: expected a string, got a object/);
  const { Price: _price, ...noPrice } = STAR_WARS;
  assert.match(reject(noPrice).reason, /^Price: expected a string, got nothing/);
});

test('the list: unsafe or missing IDs rejected, duplicates fetched once, a broken list throws', () => {
  const list = parseList(
    JSON.stringify({ Movies: [{ ID: 'cw1' }, { ID: '../../x' }, { ID: 'a?b#c' }, { Title: 'no id' }, { ID: 'cw1' }, { ID: 'cw2' }] }),
    polledAt, polledAt, 200,
  );
  assert.deepEqual(list.ids, ['cw1', 'cw2']);
  assert.equal(list.duplicates, 1);
  assert.deepEqual(list.rejects.map((r) => r.provider_movie_id), ['../../x', 'a?b#c', null]);
  assert.deepEqual(parseList('{"Movies":[]}', polledAt, polledAt, 200).ids, []);
  assert.throws(() => parseList('{"Movies":', polledAt, polledAt, 200), /malformed list JSON/);
  assert.throws(() => parseList('{"movies":[]}', polledAt, polledAt, 200), /no "Movies" array/);
});

test('a lone UTF-16 surrogate (valid JSON, not text) is stored as U+FFFD with a warning naming the field', () => {
  const m = movie(`{"ID":"cw0076759","Title":"Bad \\ud800 title","Plot":"x\\udfff","Price":"1"}`);
  assert.equal(m.title, 'Bad \uFFFD title');
  assert.equal(m.plot, 'x\uFFFD');
  assert.deepEqual(m.warnings.map((w) => w.split(':')[0]), ['Title', 'Plot']);
  assert.equal(movie({ ...STAR_WARS, Title: '😀 ok' }).warnings.length, 0, 'a surrogate pair is text');
});

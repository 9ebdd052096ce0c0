// One answer's shape (pure functions): paths, types, depth, bounds, and the parent of a path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import { exampleOf, MAX_PATHS_PER_ANSWER, parentOf, shapeOf, typeOf } from '../src/schema/shape.js';
import { absorb, ShapeTracker, type KnownShape } from '../src/schema/drift.js';
import { loadShapes } from '../src/schema/state.js';
import { writeParquetFile } from '../src/store/parquet/index.js';
import { MOVIES_SCHEMA } from '../src/store/schema.js';
import { tempDir } from './helpers.js';

const RECORD = { required: 'record', mapped: 'record', extra: 'record' } as const;

test('types: strings told apart by what they hold; JSON types otherwise', () => {
  assert.deepEqual(
    ['12.50', '915,459', '2005', '$12.50', '2005–2008', '', 'N/A', ' N/A ', '１２', 12.5, true, null, {}, []].map(typeOf),
    ['string:numeric', 'string:numeric', 'string:numeric', 'string', 'string', 'string:empty', 'string:empty', 'string:empty', 'string', 'number', 'boolean', 'null', 'object', 'array'],
  );
});

test('paths: nested objects and arrays three levels deep, odd keys quoted, deeper values seen as their parent', () => {
  const shape = shapeOf({ Title: 'x', Ratings: [{ Source: 'IMDb', Deep: { a: { b: 1 } } }], 'box.office': { 'a"b': 1 }, l1: { l2: { l3: { l4: 1 } } } });
  assert.deepEqual([...shape.fields.keys()], [
    'Title', 'Ratings', 'Ratings[]', 'Ratings[].Source', 'Ratings[].Deep', '"box.office"', '"box.office"."a\\"b"', 'l1', 'l1.l2', 'l1.l2.l3',
  ]);
  assert.deepEqual([...shape.containers], ['', 'Ratings[]', '"box.office"', 'l1', 'l1.l2']);
  for (const path of shape.fields.keys()) {
    const parent = parentOf(path);
    assert.ok(parent === null || parent === '' || shape.fields.has(parent), `${path}'s parent ${String(parent)} is a path`);
  }
  assert.equal(parentOf('"box.office"."a\\"b"'), '"box.office"');
  assert.equal(parentOf('Ratings[].Source'), 'Ratings[]');
  assert.equal(parentOf('Ratings[]'), null);
});

test('a hostile answer: 100,000 keys and 10,000 levels are read to the bound, and recorded to the bound', () => {
  const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
  let deep: unknown = 1;
  for (let i = 0; i < 10_000; i++) deep = { d: deep };
  const shape = shapeOf({ ...wide, deep });
  assert.equal(shape.fields.size, MAX_PATHS_PER_ANSWER);
  assert.equal(shape.truncated, true);
  const known: KnownShape = new Map([['Title', new Map([['string', 'record']])]]);
  const tracker = new ShapeTracker('p', 'detail', known, RECORD, (t) => t);
  for (let i = 0; i < 5; i++) tracker.add(Object.fromEntries(Array.from({ length: 1000 }, (_, j) => [`poll${i}_${j}`, j])));
  const rows = tracker.changes(new Date());
  assert.ok(rows.length <= 500, `${rows.length} rows`);
  assert.ok(tracker.untracked > 0);
  assert.ok(!rows.some((r) => r.kind === 'missing-field'), 'a truncated answer reports no field missing');
});

test('list entries under each policy: record keeps them, reject-record turns the deviating ones away, fail-provider stops the provider', async () => {
  const { SchemaCheck } = await import('../src/schema/check.js');
  const { ShapeBook } = await import('../src/schema/state.js');
  const book = new ShapeBook();
  book.fold([{ provider: 'p', source: 'list', path: 'Movies[].ID', new_type: 'string', action: 'record' }], 'r1');
  const entries = [{ ID: 'cw1' }, { ID: 'cw2', Price: '9.99' }, { ID: 3 }];
  const verdict = (extra: 'record' | 'reject-record' | 'fail-provider', required: 'record' | 'fail-provider' = 'record') => {
    const halt = new AbortController();
    const check = new SchemaCheck('p', book, { required, mapped: 'record', extra }, (t) => t, halt);
    return { ...check.inspectList(entries), halted: halt.signal.aborted, rows: check.rows(new Date()) };
  };
  const recorded = verdict('record');
  assert.deepEqual([recorded.fail, [...recorded.reject.keys()], recorded.halted], [null, [], false]);
  assert.deepEqual(recorded.rows.map((r) => `${r.path} ${r.kind} ${r.new_type} ${r.share}`), ['Movies[].ID type-change number 0.3333333333333333', 'Movies[].Price new-field string:numeric|missing 0.3333333333333333']);
  const rejected = verdict('reject-record');
  assert.deepEqual([...rejected.reject.entries()], [[1, 'schema change: list field Movies[].Price is new (string:numeric, e.g. "9.99"); schema.policy.extra is reject-record']]);
  const failed = verdict('record', 'fail-provider');
  assert.match(failed.fail ?? '', /^schema change: list field Movies\[\]\.ID changed type \(string → number, e\.g\. 3\); schema\.policy\.required is fail-provider: this provider's poll failed/);
  assert.equal(failed.halted, true);
});

const tracker = (known: KnownShape, policies: Record<'required' | 'mapped' | 'extra', 'record' | 'reject-record' | 'fail-provider'>) => new ShapeTracker('p', 'detail', known, policies, (t) => t);
const STRICT = { required: 'record', mapped: 'reject-record', extra: 'reject-record' } as const;
const shapeOfPolls = (...answers: Array<Record<string, unknown>>): KnownShape => {
  const t = tracker(new Map(), RECORD);
  for (const a of answers) t.add(a);
  const known: KnownShape = new Map();
  for (const r of t.changes(new Date())) absorb(known, r);
  return known;
};

test('an answer nested 5,000 deep is recorded with a short example; nothing throws', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 5000; i++) deep = { d: deep };
  assert.ok(exampleOf(deep).length <= 80);
  const t = tracker(shapeOfPolls({ Title: 'x' }), STRICT);
  assert.match(t.add({ Title: 'x', deep })?.reason ?? '', /deep is new \(object, e\.g\. \{"d":\{…\}\}\)/);
  assert.deepEqual(t.changes(new Date()).map((r) => `${r.path} ${r.kind} ${r.example}`)[0], 'deep new-field {"d":{…}}');
});

test('reject-record: a new field in some films turns those away, at every poll, and never the films without it', () => {
  const known = shapeOfPolls({ Title: 'a' }, { Title: 'b' });
  const answers = [{ Title: 'a', Currency: 'USD' }, { Title: 'b' }];
  const first = tracker(known, STRICT);
  assert.deepEqual(answers.map((a) => first.add(a)?.policy ?? 'kept'), ['reject-record', 'kept']);
  for (const r of first.changes(new Date())) absorb(known, r);
  const second = tracker(known, STRICT);
  assert.deepEqual(answers.map((a) => second.add(a)?.policy ?? 'kept'), ['reject-record', 'kept'], 'the film without the field is not "missing" it');
  assert.deepEqual(second.changes(new Date()), [], 'recorded once');
});

test('a change accepted under record stays accepted when the policy is strict again (a baseline row keeps it)', () => {
  const known = shapeOfPolls({ Title: 'a' });
  const strict = tracker(known, { ...STRICT, extra: 'fail-provider' });
  assert.equal(strict.add({ Title: 'a', Currency: 'USD' })?.policy, 'fail-provider');
  for (const r of strict.changes(new Date())) absorb(known, r);
  const accepting = tracker(known, RECORD);
  accepting.add({ Title: 'a', Currency: 'USD' });
  const rows = accepting.changes(new Date());
  assert.deepEqual(rows.map((r) => `${r.path} ${r.kind} ${r.new_type} ${r.action}`), ['Currency baseline string record']);
  for (const r of rows) absorb(known, r);
  assert.equal(tracker(known, { ...STRICT, extra: 'fail-provider' }).add({ Title: 'a', Currency: 'USD' }), null);
});

test('no change: "N/A" or "" where a field held text or numbers; the first elements of an array known empty', () => {
  const known = shapeOfPolls({ Metascore: '51', Plot: 'x', Tags: [] });
  const t = tracker(known, STRICT);
  assert.equal(t.add({ Metascore: 'N/A', Plot: '', Tags: ['a'] }), null);
  assert.deepEqual(t.changes(new Date()).filter((r) => r.kind !== 'baseline'), []);
  // …but text where a number was is one.
  assert.equal(tracker(known, STRICT).add({ Metascore: 'high', Plot: 'x', Tags: [] })?.policy, 'reject-record');
});

test('a store without schema rows: the shape is rebuilt from the newest movies file that has rows (a failed poll leaves an empty one)', async (t) => {
  const root = tempDir(t);
  const folder = path.join(root, 'movies', 'dt=2026-12-01', 'provider=p');
  mkdirSync(folder, { recursive: true });
  const at = new Date('2026-12-01T08:00:00Z');
  const movie = (raw: string) => ({ film_key: 'tt1', provider_movie_id: 'cw1', title: 'A', price_cents: 100n, warnings: [], polled_at: at, fetched_at: at, raw });
  await writeParquetFile(path.join(folder, '20261201T080000.000Z-aaaaaaaa.parquet'), MOVIES_SCHEMA, [movie(JSON.stringify({ ID: 'cw1', Title: 'A', Price: '1.00' }))], { run: '20261201T080000.000Z-aaaaaaaa' });
  await writeParquetFile(path.join(folder, '20261201T081500.000Z-bbbbbbbb.parquet'), MOVIES_SCHEMA, [], { run: '20261201T081500.000Z-bbbbbbbb' });
  const book = await loadShapes(root, ['p'], winston.createLogger({ silent: true }));
  assert.deepEqual(book.pending.map((r) => `${r.path} ${r.kind}`).sort(), ['ID baseline', 'Price baseline', 'Title baseline']);
});

test('answers keyed by data: a poll tracks a bounded number of paths however many distinct keys 10,000 answers hold', () => {
  const t = tracker(shapeOfPolls({ Title: 'x' }), RECORD);
  for (let i = 0; i < 10_000; i++) t.add({ Title: 'x', [`k${i}`]: { [`n${i}`]: 1 } });
  const rows = t.changes(new Date());
  assert.ok(rows.length <= 500, `${rows.length} rows`);
  assert.ok(t.untracked > 0);
});

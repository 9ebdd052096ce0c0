// Property tests (fast-check): normalization never throws and always yields a valid record or a
// reject; any config file (random JSON) loads or is a ConfigError, and through the CLI gives
// exit 0 or 78 with no stack trace.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../src/config/settings.js';
import { ConfigError } from '../src/runtime/errors.js';
import { normalizeDetail } from '../src/records/normalize.js';
import { hasStackTrace, runCli, tempDir } from './helpers.js';

const at = new Date('2026-11-24T00:00:00Z');
/** npm run torture runs ten times as many cases. */
const SCALE = process.env.TORTURE ? 10 : 1;
const FIELDS = ['Title', 'Year', 'Rated', 'Released', 'Runtime', 'Genre', 'Director', 'Writer', 'Actors', 'Plot', 'Language', 'Country', 'Awards', 'Poster', 'Metascore', 'Rating', 'Votes', 'ID', 'Type', 'Price'];
/** Detail-like objects: the real keys with strings that look almost right, or anything at all. */
const value = fc.oneof(fc.string(), fc.constantFrom('N/A', '', '121 min', '915,459', '25 May 1977', '19.99', '1,234.5', '8.7', 'cw0076759'), fc.jsonValue());
const detail = fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: FIELDS.length });
const body = fc.oneof(detail.map((d) => JSON.stringify(d)), fc.jsonValue().map((v) => JSON.stringify(v)), fc.string(), fc.string().map((s) => `{"ID":"cw1","Title":${s}`));

test('normalization never throws: a typed record or a reject with a reason and the raw body', () => {
  fc.assert(
    fc.property(body, fc.constantFrom('cw0076759', 'cw1', 'x'), (raw, id) => {
      const result = normalizeDetail({ provider: 'cinemaworld', requestedId: id, body: raw, httpStatus: 200, polledAt: at, fetchedAt: at });
      if (result.ok) {
        const m = result.movie;
        assert.equal(m.provider_movie_id, id);
        assert.ok(typeof m.title === 'string' && m.title.length > 0);
        assert.equal(typeof m.price_cents, 'bigint');
        assert.ok(m.price_cents >= 0n);
        for (const n of [m.year, m.runtime_minutes, m.metascore]) assert.ok(n === null || (Number.isInteger(n) && n >= 0 && n < 2 ** 31));
        assert.ok(m.votes === null || typeof m.votes === 'bigint');
        assert.ok(m.released === null || !Number.isNaN(m.released.getTime()));
        assert.equal(m.raw, raw);
      } else {
        assert.ok(result.reject.reason.length > 0);
        assert.equal(result.reject.raw, raw);
      }
    }),
    { numRuns: 2000 * SCALE, seed: 42 },
  );
});

test('any config file loads or is a ConfigError listing problems (never another exception)', () => {
  const config = fc.oneof(fc.jsonValue(), fc.record({ schedule: fc.dictionary(fc.constantFrom('cron', 'timezone', 'runOnStart', 'other'), fc.jsonValue()), http: fc.dictionary(fc.constantFrom('retries', 'timeoutMs', 'concurrency'), fc.jsonValue()) }, { requiredKeys: [] }));
  const dir = tempDir({ after: (fn) => process.on('exit', fn) });
  const file = path.join(dir, 'c.json');
  fc.assert(
    fc.property(config, (json) => {
      writeFileSync(file, JSON.stringify(json) ?? 'null');
      try {
        loadConfig({ env: {}, configFile: file, cwd: dir });
      } catch (err) {
        assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
        assert.ok(err.problems.length > 0 && err.problems.every((p) => p.length > 0));
      }
    }),
    { numRuns: 1000 * SCALE, seed: 7 },
  );
});

test('through the CLI, random config files give exit 0 or 78 and never a stack trace', async (t) => {
  const dir = tempDir(t);
  const samples = fc.sample(fc.oneof(fc.jsonValue(), fc.record({ schedule: fc.record({ cron: fc.oneof(fc.string(), fc.constant('*/5 * * * *')) }), log: fc.record({ level: fc.string() }) }, { requiredKeys: [] })), { numRuns: 25 * SCALE, seed: 3 });
  for (const [i, json] of samples.entries()) {
    const file = path.join(dir, `c${i}.json`);
    writeFileSync(file, JSON.stringify(json) ?? 'null');
    const r = await runCli(['check-config', '--config', file], { cwd: dir, env: { API_TOKEN: 't', LOG_DIR: path.join(dir, 'logs') } });
    assert.ok(r.code === 0 || r.code === 78, `exit ${r.code} for ${JSON.stringify(json)}: ${r.stderr}`);
    assert.equal(hasStackTrace(r.stderr), false, r.stderr);
  }
});

// The price_changes table equals what DuckDB computes from movies and runs with a window query
// (price-changes-oracle.ts), after real polls over HTTP that drift, fail, lose and regain films and
// reject answers; after compaction; after the upgrade of a store written without it; and after a
// SIGKILL at every step of a commit, a compaction and the upgrade.
import assert from 'node:assert/strict';
import { cpSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startMockProvider, type MockOptions } from '../src/mock/server.js';
import { runCli, tempDir } from './helpers.js';
import { assertChangesMatch, storedChanges } from './price-changes-oracle.js';
import { dataFiles, writeDays } from './store-fixture.js';

interface Ctx {
  after(fn: () => unknown): void;
}

/** One `poll` of a simulator started with `options`, into `dir`'s store. */
async function pollWith(t: Ctx, dir: string, options: MockOptions, env: Record<string, string> = {}) {
  const mock = await startMockProvider({ priceDrift: 0.5, ...options });
  try {
    return await runCli(['poll'], {
      cwd: dir,
      env: { API_TOKEN: options.token ?? mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), HTTP_RETRIES: '0', ...env },
    });
  } finally {
    await mock.close();
  }
}

test('polls that drift, fail, lose and regain films and reject answers: price_changes equals the window query after each commit', async (t) => {
  const dir = tempDir(t);
  const data = path.join(dir, 'data');
  const script: Array<[string, MockOptions, Record<string, string>?]> = [
    ['all 13 films', { seed: 1 }],
    ['two films fail (gone), prices drift', { seed: 2, failIds: ['cw0076759', 'fw0080684'] }],
    ['they come back', { seed: 3 }],
    ['rejects (malformed answers)', { seed: 4, malformedRate: 0.3 }],
    ['a failed poll: every film gone', { seed: 5 }, { API_TOKEN: 'wrong-token' }],
    ['after the failure', { seed: 6 }],
    ['the same prices again (no change rows but the unchanged day is kept)', { seed: 6 }],
  ];
  for (const [label, options, env] of script) {
    const result = await pollWith(t, dir, options, env);
    assert.ok([0, 1, 2].includes(result.code ?? -1), `${label}: ${result.stderr}`);
    await assertChangesMatch(data, `after "${label}"`);
  }
  const rows = await storedChanges(data);
  assert.ok(rows.some((r) => r.includes('null,null')), 'some rows say a film is no longer seen');
  assert.ok(rows.length < 13 * 7, `fewer rows than snapshots (${rows.length})`);
});

for (const step of ['file-written', 'staged', 'renamed:movies', 'renamed:rejects', 'renamed:price_changes']) {
  test(`a poll SIGKILLed at ${step}: the next poll's recovery leaves price_changes equal to the window query`, async (t) => {
    const dir = tempDir(t);
    const data = path.join(dir, 'data');
    assert.equal((await pollWith(t, dir, { seed: 1 })).code, 0);
    const killed = await pollWith(t, dir, { seed: 2 }, { MOVIES_COLLECTOR_TEST_KILL_AT: step });
    assert.equal(killed.signal, 'SIGKILL');
    await assertChangesMatch(data, `right after the kill at ${step}`);
    assert.equal((await pollWith(t, dir, { seed: 3 })).code, 0);
    await assertChangesMatch(data, `after the next poll (kill at ${step})`);
  });
}

test('the upgrade builds price_changes for a store written without them, and compaction rebuilds closed days; a SIGKILL at each step of either leaves them equal to the window query once finished', async (t) => {
  const template = path.join(tempDir(t), 'data');
  await writeDays(template, 2);
  const env = (data: string) => ({ DATA_DIR: data, LOG_DIR: path.join(path.dirname(data), 'logs') });
  for (const step of ['day-staged', 'exchanged:movies', 'exchanged:price_changes', 'exchanged:runs', '']) {
    const data = path.join(tempDir(t), 'data');
    cpSync(template, data, { recursive: true });
    if (step) {
      const killed = await runCli(['compact'], { env: { ...env(data), MOVIES_COLLECTOR_TEST_KILL_AT: step } });
      assert.equal(killed.signal, 'SIGKILL', `${step}: ${killed.stderr}`);
    }
    const finished = await runCli(['compact'], { env: env(data) });
    assert.equal(finished.code, 0, finished.stderr);
    await assertChangesMatch(data, `after compact (killed at ${step || 'no step'})`);
    assert.deepEqual(readdirSync(path.join(data, '_staging')), []);
    // Each closed day: one price_changes file per provider.
    assert.equal(dataFiles(data, 'price_changes').filter((f) => f.includes('dt=2026-11-20')).length, 2);
  }
});

test('a store written by 0.2.0: compact upgrades it and builds its price_changes', async (t) => {
  const data = path.join(tempDir(t), 'data');
  cpSync(new URL('../../test/fixtures/store-0.2.0', import.meta.url), data, { recursive: true });
  const upgraded = await runCli(['compact'], { env: { DATA_DIR: data, LOG_DIR: path.join(path.dirname(data), 'logs') } });
  assert.equal(upgraded.code, 0, upgraded.stderr);
  await assertChangesMatch(data, 'after the 0.2.0 upgrade');
  assert.ok((await storedChanges(data)).length > 0);
});

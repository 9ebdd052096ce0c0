// Compaction under SIGKILL and under a reader: a kill at any moment (at each commit step, and at
// random times) leaves a store a globbing reader reads whole, and the next `compact` finishes or
// discards the work with the same rows; a reader counting in a loop while days are swapped never
// sees another count than the committed one. The same for the upgrade of a 0.2.0 store.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { CLI, cleanEnv, runCli, tempDir } from './helpers.js';
import { assertChangesMatch } from './price-changes-oracle.js';
import { dataFiles, storeRows, writeDays, writePoll } from './store-fixture.js';

const env = (data: string, extra: Record<string, string> = {}) => ({ DATA_DIR: data, LOG_DIR: path.join(path.dirname(data), 'logs'), ...extra });
const STEPS = ['day-staged', 'exchanged:movies', 'exchanged:rejects', 'exchanged:price_changes', 'exchanged:runs'];
/** Every table but price_changes, which the stores below lack until `compact` builds them (checked against the window query instead). */
const withoutChanges = async (data: string) => ({ ...(await storeRows(data, 'duckdb')), price_changes: [] });

/** `compact` killed by SIGKILL: at a commit step (the test hook), or after `delayMs`. */
async function killedCompact(data: string, how: { step: string } | { delayMs: number }): Promise<void> {
  const child = spawn(process.execPath, [CLI, 'compact'], { env: cleanEnv(env(data, 'step' in how ? { MOVIES_COLLECTOR_TEST_KILL_AT: how.step } : {})), stdio: 'ignore' });
  const timer = 'delayMs' in how ? setTimeout(() => child.kill('SIGKILL'), how.delayMs) : undefined;
  await once(child, 'exit');
  clearTimeout(timer);
}

for (const [name, build, KILLS] of [
  ['compaction of closed days', async (data: string) => writeDays(data, 0), 30],
  ['the upgrade of a 0.2.0 store', async (data: string) => cpSync(new URL('../../test/fixtures/store-0.2.0', import.meta.url), data, { recursive: true }), 12],
] as const) {
  test(`SIGKILL during ${name}, ${KILLS} times: the store stays readable and complete, and the next compact finishes with the same rows`, async (t) => {
    const dir = tempDir(t);
    const base = path.join(dir, 'base');
    await build(base);
    const expected = await withoutChanges(base);
    let seed = 20261202;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const outcomes = new Set<string>();
    for (let i = 0; i < KILLS; i++) {
      const data = path.join(dir, `run-${i}`);
      cpSync(base, data, { recursive: true });
      const how = i < STEPS.length * 2 ? { step: STEPS[i % STEPS.length] ?? '' } : { delayMs: Math.floor(150 + random() * 1500) };
      await killedCompact(data, how);
      const staged = existsSync(path.join(data, '_staging')) ? readdirSync(path.join(data, '_staging')) : [];
      outcomes.add(staged.length > 0 ? 'work left in _staging' : 'nothing staged');
      // Right after the kill, before any recovery: each table reads whole, no row twice or missing.
      assert.deepEqual(await withoutChanges(data), expected, `after the kill (${JSON.stringify(how)}), before recovery`);
      const next = await runCli(['compact'], { env: env(data) });
      assert.equal(next.code, 0, next.stderr);
      assert.deepEqual(await withoutChanges(data), expected, `after the next compact (${JSON.stringify(how)})`);
      await assertChangesMatch(data, `after the next compact (${JSON.stringify(how)})`);
      assert.deepEqual(readdirSync(path.join(data, '_staging')), [], 'nothing staged');
      assert.ok(!dataFiles(data).some((f) => f.includes('run=')), 'the layout is the compacted one');
    }
    assert.ok(outcomes.has('work left in _staging'), `some kills landed mid-work: ${[...outcomes].join(', ')}`);
  });
}

test('a DuckDB reader counting in a loop while days are compacted never sees another count than the committed one', async (t) => {
  const data = path.join(tempDir(t), 'data');
  for (let d = 10; d < 18; d++) for (let h = 0; h < 6; h++) await writePoll(data, new Date(Date.UTC(2026, 10, d, h * 4, 5)), 'complete', 4);
  const expected = (await storeRows(data, 'duckdb')).movies.length;
  // Another process, as a user's notebook would be: a fresh glob every query.
  const reader = spawn(process.execPath, ['--input-type=module', '-e', `
    import { DuckDBInstance } from '@duckdb/node-api';
    const con = await (await DuckDBInstance.create(':memory:')).connect();
    for (;;) {
      try {
        const r = await con.runAndReadAll("SELECT count(*)::INT AS n FROM read_parquet('${data}/movies/**/*.parquet', hive_partitioning = true)");
        console.log('count ' + r.getRowObjectsJS()[0].n);
      } catch (err) { console.log('error ' + String(err.message).split('\\n')[0]); }
    }`], { cwd: path.resolve(CLI, '../../..'), stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => reader.kill('SIGKILL'));
  const lines: string[] = [];
  createInterface({ input: reader.stdout }).on('line', (line) => line !== '' && lines.push(line)); // whole lines, even across chunks
  while (lines.length < 5) await new Promise((r) => setTimeout(r, 50));
  const during = lines.length;
  const compacted = await runCli(['compact'], { env: env(data) });
  assert.equal(compacted.code, 0, compacted.stderr);
  assert.match(compacted.stdout, /compacted 8 day/);
  const after = lines.length;
  await new Promise((r) => setTimeout(r, 300));
  reader.kill('SIGKILL');
  const counts = lines.filter((l) => l.startsWith('count '));
  const wrong = counts.filter((l) => l !== `count ${expected}`);
  assert.deepEqual(wrong, [], `every count is ${expected}`);
  assert.ok(after - during >= 5, `the reader ran while compaction ran (${after - during} queries)`);
  const errors = lines.filter((l) => l.startsWith('error '));
  // A query whose listing came before a day's swap and whose open came after finds a file gone: an
  // error the reader can retry, never a wrong answer. Say how many there were.
  t.diagnostic(`${counts.length} counts, ${errors.length} errors${errors.length > 0 ? `: ${errors[0] ?? ''}` : ''}`);
  assert.ok(errors.every((e) => /No files found|No such file|Cannot open file|IO Error/i.test(e)), errors.join('\n'));
});

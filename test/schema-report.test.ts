// `report --section schema` (issue 29): the window's shape changes of committed polls, newest
// first, in every format; never a baseline row, nor a poll that did not commit; a compacted day
// read like a poll's own file; a store without the table (0.3, or no change yet) is an empty section.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Report } from '../src/report/report.js';
import { dtOf } from '../src/store/layout.js';
import { writePoll } from './store-fixture.js';
import { writeDriftStore } from './schema-fixture.js';
import { hasStackTrace, runCli, tempDir } from './helpers.js';

async function report(root: string, args: string[]): Promise<string> {
  const r = await runCli(['report', '--data-dir', root, '--section', 'schema', ...args]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  return r.stdout;
}
const changesOf = async (root: string, args: string[] = []) => (JSON.parse(await report(root, ['--format', 'json', ...args])) as Report).schema_changes;
const labels = (rows: Report['schema_changes']) => rows.map((c) => `${c.provider} ${c.source} ${c.path} ${c.kind}`);

/** RFC 4180 rows (quoted cells may hold commas and quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (quoted && c === '"') quoted = false;
    else if (quoted) cell += c;
    else if (c === '"') quoted = true;
    else if (c === ',' || c === '\n') {
      row.push(cell);
      cell = '';
      if (c === '\n') {
        rows.push(row);
        row = [];
      }
    } else cell += c;
  }
  return rows;
}

test('report --section schema: the window\'s changes newest first (json, table, csv), not baseline rows nor an uncommitted poll\'s; a compacted day is read; --provider, --since', async (t) => {
  const root = tempDir(t);
  const store = await writeDriftStore(root);
  // The closed days were compacted into one file each: the Price change is read from one.
  const priceDay = path.join(root, 'schema_changes', `dt=${dtOf(new Date(Date.now() - 3 * 86_400_000))}`);
  assert.deepEqual(readdirSync(priceDay).map((n) => n.replace(/-\d{8}T.*$/, '')), ['compacted']);

  const rows = await changesOf(root);
  assert.deepEqual(labels(rows), [
    'filmworld detail Genre new-field',
    'filmworld detail Rated missing-field',
    'filmworld list Movies[].Poster new-field',
    'cinemaworld detail Price type-change',
  ]);
  assert.deepEqual(rows.map((r) => r.run), [store.latestRun, store.latestRun, store.latestRun, store.priceRun]);
  const price = rows[3];
  assert.deepEqual({ ...price, detected_at: undefined }, {
    detected_at: undefined, run: store.priceRun, provider: 'cinemaworld', source: 'detail', path: 'Price', kind: 'type-change', field_class: 'required',
    old_type: 'string:numeric', new_type: 'string', example: '$12.50', share: 0.5, answers: 4, action: 'reject-record',
  });
  assert.ok(rows.every((r) => r.kind !== 'baseline'), 'no baseline row');

  // --provider, and a window that reaches the poll 20 days back; the full report carries the section too.
  assert.deepEqual(labels(await changesOf(root, ['--provider', 'cinemaworld'])), ['cinemaworld detail Price type-change']);
  assert.deepEqual(labels(await changesOf(root, ['--since', '30d'])).slice(3), ['cinemaworld detail Price type-change', 'cinemaworld detail Year type-change']);
  const whole = await runCli(['report', '--data-dir', root, '--format', 'json']);
  assert.equal((JSON.parse(whole.stdout) as Report).schema_changes.length, 4);

  const table = await report(root, ['--format', 'table']);
  for (const line of table.split('\n')) assert.ok([...line].length <= 80, `too wide: ${line}`);
  assert.match(table, /^Schema changes in the providers' answers/);
  assert.match(table, /filmworld\s+Genre: new string/);
  assert.match(table, /filmworld\s+Rated: missing/);
  assert.match(table, /cinemaworld\s+Price: string:numeric → /);
  assert.match(table, /\s50%\s+reject-record/);
  assert.doesNotMatch(table, /Ghost|Title|Year/); // the uncommitted poll, the baseline, the old poll

  const csv = parseCsv(await report(root, ['--format', 'csv']));
  const head = csv[0] ?? [];
  const col = (row: string[] | undefined, name: string) => row?.[head.indexOf(name)];
  assert.equal(csv.length, 5, JSON.stringify(csv));
  for (const name of ['when (UTC)', 'provider', 'change', 'share', 'action', 'source', 'path', 'kind', 'old_type', 'new_type', 'example', 'answers', 'run']) assert.ok(head.includes(name), name);
  assert.deepEqual(['source', 'path', 'kind', 'old_type', 'new_type', 'example', 'share', 'answers', 'run'].map((n) => col(csv[4], n)),
    ['detail', 'Price', 'type-change', 'string:numeric', 'string', '$12.50', '50%', '4', store.priceRun]);
  assert.deepEqual(['path', 'old_type', 'new_type', 'example'].map((n) => col(csv[2], n)), ['Rated', 'string', 'missing', '']);
});

test('a store without schema_changes (written by 0.3, or no change yet): the section is empty in every format, exit 0', async (t) => {
  const root = tempDir(t);
  await writePoll(root, new Date(Date.now() - 60_000), 'complete', 3);
  assert.deepEqual(await changesOf(root), []);
  assert.match(await report(root, ['--format', 'table']), /^Schema changes .*\n\(nothing\)\n$/);
  assert.equal(await report(root, ['--format', 'csv']), 'when (UTC),provider,change,share,action,source,path,kind,old_type,new_type,example,answers,field_class,run,detected_at\n');
  const all = await runCli(['report', '--data-dir', root]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /Schema changes .*\n\(nothing\)\n/);
});

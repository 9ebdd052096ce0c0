// docs/settings.md's tables are what users read; the convict schema is what the collector does.
// Every setting, its environment variable and its default must agree, in both directions; the
// tables are generated (npm run docs:settings) and a stale copy fails here. The README keeps a
// short table of the most used settings, which must agree with the schema too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { settingsSchema } from '../src/config/settings.js';
import { tempDir } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'scripts', 'settings-doc.mjs');
const DOC = path.join(ROOT, 'docs', 'settings.md');

interface Leaf {
  env: string;
  default: string;
}

function isLeaf(node: object): node is { default: unknown; env?: string } {
  return 'default' in node && 'doc' in node;
}

/** Every setting of the schema, by its dotted name, with its env name and its default as the docs write it. */
function schemaLeaves(node: object, prefix = ''): Map<string, Leaf> {
  const leaves = new Map<string, Leaf>();
  for (const [key, child] of Object.entries(node) as Array<[string, object]>) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (isLeaf(child)) {
      const value = child.default;
      const shown = value === null ? 'none' : value === '' ? '""' : typeof value === 'string' ? value : JSON.stringify(value);
      leaves.set(name, { env: child.env ?? '—', default: shown });
    } else {
      for (const [k, v] of schemaLeaves(child, name)) leaves.set(k, v);
    }
  }
  return leaves;
}

const unquote = (cell: string): string => cell.replace(/^`(.*)`$/, '$1');

/** The rows of the settings tables in a markdown text: setting | env | default | ... */
function tableRows(text: string): Map<string, Leaf> {
  const rows = new Map<string, Leaf>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| setting') || line.startsWith('|---')) continue;
    const [name = '', env = '', shown = ''] = line.split(/(?<!\\)\|/).slice(1).map((c) => unquote(c.trim()));
    assert.ok(!rows.has(name), `${name} is listed once`);
    rows.set(name, { env, default: shown });
  }
  return rows;
}

function runScript(...args: string[]) {
  return spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8' });
}

test('docs/settings.md lists every setting of the schema, with its env name and default, and nothing else', () => {
  const schema = schemaLeaves(settingsSchema());
  const doc = tableRows(readFileSync(DOC, 'utf8'));
  assert.ok(schema.size > 20, `the schema walk found ${schema.size} settings`);
  assert.deepEqual([...doc.keys()].sort(), [...schema.keys()].sort(), 'settings in docs/settings.md vs the schema');
  for (const [name, leaf] of schema) {
    assert.deepEqual(doc.get(name), leaf, `docs/settings.md row of ${name}`);
  }
});

test('docs/settings.md is what npm run docs:settings generates from the schema now; a stale copy fails the check', (t) => {
  const check = runScript('--check');
  assert.equal(check.status, 0, `${check.stderr}${check.stdout}(run npm run docs:settings)`);

  // An edited row, as when a default changes in the schema and nobody regenerates.
  const stale = path.join(tempDir(t), 'settings.md');
  const text = readFileSync(DOC, 'utf8');
  assert.match(text, /\| `http\.retries` \| `HTTP_RETRIES` \| 5 \|/);
  writeFileSync(stale, text.replace('| `http.retries` | `HTTP_RETRIES` | 5 |', '| `http.retries` | `HTTP_RETRIES` | 3 |'));
  const failed = runScript('--check', '--file', stale);
  assert.equal(failed.status, 1, failed.stderr);
  assert.match(failed.stderr, /is stale: .*run npm run docs:settings/);
  // Generating restores it, and leaves the prose around the tables as it was.
  const fixed = runScript('--file', stale);
  assert.equal(fixed.status, 0, fixed.stderr);
  assert.equal(readFileSync(stale, 'utf8'), text);
});

test('the README links docs/settings.md, and its short table of the most used settings agrees with the schema', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Settings');
  assert.ok(start >= 0, 'the README has a Settings section');
  const section = readme.slice(start + 1, readme.indexOf('\n## ', start + 1));
  assert.match(section, /\]\(docs\/settings\.md\)/);
  // What the newcomer's path needs: the config file, the schedule, the env names compose passes.
  assert.match(section, /\.\/config\/config\.json/);
  const rows = tableRows(section);
  for (const name of ['schedule.cron', 'api.baseUrl', 'api.token', 'api.tokenFile', 'store.dir', 'log.dir', 'health.port']) {
    assert.ok(rows.has(name), `the README's table has ${name}`);
  }
  const schema = schemaLeaves(settingsSchema());
  for (const [name, row] of rows) {
    assert.deepEqual(row, schema.get(name), `README row of ${name}`);
  }
});

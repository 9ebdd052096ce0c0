// The README's settings table is what users read; the convict schema is what the collector does.
// Every setting, its environment variable and its default must agree, in both directions.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { settingsSchema } from '../src/config/settings.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Leaf {
  env: string;
  default: string;
}

function isLeaf(node: object): node is { default: unknown; env?: string } {
  return 'default' in node && 'doc' in node;
}

/** Every setting of the schema, by its dotted name, with its env name and its default as the README writes it. */
function schemaLeaves(node: object, prefix = ''): Map<string, Leaf> {
  const leaves = new Map<string, Leaf>();
  for (const [key, child] of Object.entries(node) as Array<[string, object]>) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (isLeaf(child)) {
      const value = child.default;
      const shown = value === null ? 'none' : typeof value === 'string' ? value : JSON.stringify(value);
      leaves.set(name, { env: child.env ?? '—', default: shown });
    } else {
      for (const [k, v] of schemaLeaves(child, name)) leaves.set(k, v);
    }
  }
  return leaves;
}

function readmeRows(): Map<string, Leaf> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Settings');
  assert.ok(start >= 0, 'the README has a Settings section');
  const section = readme.slice(start + 1, readme.indexOf('\n## ', start + 1));
  const rows = new Map<string, Leaf>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| setting') || line.startsWith('|---')) continue;
    const [name = '', env = '', shown = ''] = line.split('|').slice(1).map((c) => c.trim());
    rows.set(name, { env, default: shown.replace(/^`(.*)`$/, '$1') });
  }
  return rows;
}

test('the README settings table lists every setting of the schema, with its env name and default, and nothing else', () => {
  const schema = schemaLeaves(settingsSchema());
  const readme = readmeRows();
  assert.ok(schema.size > 20, `the schema walk found ${schema.size} settings`);
  assert.deepEqual([...readme.keys()].sort(), [...schema.keys()].sort(), 'settings in the README table vs the schema');
  for (const [name, leaf] of schema) {
    assert.deepEqual(readme.get(name), leaf, `README row of ${name}`);
  }
});

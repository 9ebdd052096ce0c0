// docs/development.md's map of src/ is how a newcomer finds a concept: every file under src/ is
// named there, no file named there is gone, and every test file is listed by the module it covers.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const doc = readFileSync(path.join(ROOT, 'docs', 'development.md'), 'utf8');

/** The text of a `## heading` section, up to the next one. */
function section(heading: string): string {
  const start = doc.indexOf(`## ${heading}\n`);
  assert.notEqual(start, -1, `docs/development.md has a "## ${heading}" section`);
  const next = doc.indexOf('\n## ', start + 3);
  return doc.slice(start, next === -1 ? undefined : next);
}

const filesUnder = (dir: string, ext: string): string[] =>
  readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .map((f) => `${dir}/${f.split(path.sep).join('/')}`)
    .sort();

test('every file under src/ is in the map of src/, and every file the map names exists', () => {
  const map = section('Map of `src/`');
  const named = new Set([...map.matchAll(/^(src\/\S+\.ts)\s/gm)].map((m) => m[1] as string));
  const files = filesUnder('src', '.ts');
  assert.ok(files.length > 20, 'the test sees the source files');
  assert.deepEqual(files.filter((f) => !named.has(f)), [], 'files missing from the map (one line each, starting with the path)');
  assert.deepEqual([...named].filter((f) => !files.includes(f)), [], 'files the map names that do not exist');
});

test('every test file is listed under the module it covers', () => {
  const tests = section('Tests by module');
  const listed = new Set([...tests.matchAll(/([\w/-]+)\.test\b/g)].map((m) => m[1] as string));
  const files = [...filesUnder('test', '.test.ts')].map((f) => f.replace(/^test\//, '').replace(/\.test\.ts$/, ''));
  assert.ok(files.length > 20, 'the test sees the test files');
  assert.deepEqual(files.filter((f) => !listed.has(f)), [], 'test files missing from "Tests by module"');
  assert.deepEqual([...listed].filter((f) => !files.includes(f)), [], 'tests listed that do not exist');
});

// The README and docs/ link to each other, often to a section: a moved file or a renamed heading
// must not leave a link pointing nowhere. Every relative link of README.md and docs/*.md names a
// file that exists, and its #anchor a heading of that file (GitHub's anchors).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The text outside fenced code blocks (a `# comment` in a shell block is no heading). */
const prose = (file: string): string => readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens; repeats get -1, -2. */
function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const m of prose(file).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (m[1] as string).trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

test('every relative link of the README and docs/ names a file that exists, and a heading of it', () => {
  const files = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const broken: string[] = [];
  let links = 0;
  for (const file of files) {
    for (const m of prose(path.join(ROOT, file)).matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1] as string;
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // http:, https:, mailto:
      links++;
      const [target = '', anchor] = link.split('#');
      const resolved = target === '' ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), target);
      if (!existsSync(resolved)) broken.push(`${file}: ${link} (no such file)`);
      else if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) broken.push(`${file}: ${link} (no such heading)`);
    }
  }
  assert.ok(links > 30, `the test sees the links (${links})`);
  assert.deepEqual(broken, []);
});

// recordHoldsSecret, the one search the poll makes over a normalized record's strings before it
// pays for redacting them one by one: it must never answer "no secret" for a record that
// replaceSecrets would change, whatever the forms the token takes (case, fullwidth, percent or
// JSON escapes, pieces), and wherever the strings split them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { recordHoldsSecret, replaceSecrets } from '../src/runtime/redact.js';

const TOKEN = 'Tok3n-Secr3t-Xy';
const fullwidth = (s: string) => [...s].map((c) => (c >= '!' && c <= '~' ? String.fromCodePoint(c.codePointAt(0)! + 0xfee0) : c)).join('');
const percent = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
const jsonEscaped = (s: string) => [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

/** Text around and inside the strings: pieces of the token in its forms, escapes and characters that border on them. */
const fragment = fc.oneof(
  fc.constantFrom('', ' ', 'é', 'Café', 'N/A', '%', '%4', '\\', '\\u00', '\\uD83D', '\uD83D', '\uDE00', 'ﬃ', '1', 'x', '-', 'token', 'secret'),
  fc.integer({ min: 0, max: TOKEN.length - 1 }).chain((start) => fc.integer({ min: start + 1, max: TOKEN.length }).map((end) => TOKEN.slice(start, end))),
  fc.constantFrom(TOKEN, TOKEN.toUpperCase(), fullwidth(TOKEN), percent(TOKEN), jsonEscaped(TOKEN), TOKEN.slice(0, 7), TOKEN.slice(-6)),
);
const text = fc.array(fragment, { maxLength: 4 }).map((parts) => parts.join(''));
const record = fc.record({
  title: text,
  rated: fc.option(text),
  year: fc.option(fc.integer()),
  genres: fc.option(fc.array(text, { maxLength: 3 })),
  warnings: fc.array(text, { maxLength: 2 }),
  released: fc.constant(new Date(0)),
  nested: fc.dictionary(text, text, { maxKeys: 2 }),
});

test('a record replaceSecrets would change is always found to hold a secret', () => {
  for (const secrets of [[TOKEN], [TOKEN, 'k'], ['Xy']]) {
    fc.assert(
      fc.property(record, (value) => {
        const changed = JSON.stringify(replaceSecrets(value, secrets)) !== JSON.stringify(value);
        if (changed) assert.equal(recordHoldsSecret(value, secrets), true, JSON.stringify(value));
        // A field left out (the stored body, redacted apart) counts as '': whatever it holds.
        assert.equal(recordHoldsSecret({ ...value, raw: TOKEN }, secrets, 'raw'), recordHoldsSecret({ ...value, raw: '' }, secrets));
      }),
      { numRuns: 3000 },
    );
  }
});

test('a record without the token in any form is found clean; no secrets, nothing to find', () => {
  assert.equal(recordHoldsSecret({ title: 'Northern Café 2', genres: ['Drama', 'Zoë'], year: 1992, raw: '' }, [TOKEN]), false);
  assert.equal(recordHoldsSecret({ title: TOKEN }, []), false);
  assert.equal(recordHoldsSecret({ title: 'x', actors: [`a ${percent(TOKEN.slice(2, 9))} b`] }, [TOKEN]), true);
  // A key counts too, as replaceSecrets replaces in keys.
  assert.equal(recordHoldsSecret({ [TOKEN.toLowerCase()]: 1 }, [TOKEN]), true);
});

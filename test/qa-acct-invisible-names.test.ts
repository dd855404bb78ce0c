import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';

// README, "Input": "A name people read — a customer's, a product's, a category's, a sale event's — needs a visible
// character: one of only blanks ... or invisible characters (a zero-width space or joiner, a word joiner, a Hangul
// filler, the Braille blank) is 400 VALIDATION_FAILED on create and update (src/lib/display-name.ts)".
// The pattern leaves out separators, controls, format characters and a few fillers, but not the Unicode
// default-ignorable nonspacing marks, which render as nothing on their own: variation selectors (U+FE0F, the
// supplement's U+E0100), the combining grapheme joiner (U+034F), a Mongolian free variation selector (U+180B),
// a Khmer inherent vowel (U+17B4).

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

it('refuses a customer name made only of default-ignorable (invisible) characters', async () => {
  const accepted: string[] = [];
  let n = 0;
  for (const name of ['\uFE0F', '\u{E0100}', '\u034F', '\u180B', '\u17B4', '\u034F\uFE0F']) {
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: `invisible-${++n}@example.com`, password: 'a long password', name } });
    if (reply.statusCode !== 400) accepted.push(`${[...name].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase()}`).join(' ')} → ${reply.statusCode} ${reply.body}`);
  }
  assert.deepEqual(accepted, [], 'a name that shows as nothing must be 400 VALIDATION_FAILED');
});

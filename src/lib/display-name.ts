import { Type } from 'typebox';
import { NOT_IN_LINE } from './single-line.ts';

/**
 * A character that shows: not a blank (`\s`, a space separator), a control or format character (zero-width
 * space and joiners, word joiner, bidi marks), a default-ignorable code point (variation selectors, the combining
 * grapheme joiner, Mongolian free variation selectors, Khmer inherent vowels, Hangul fillers: Unicode says these
 * render as nothing on their own), nor the Braille blank (a symbol drawn as nothing but not default-ignorable).
 * The Unicode property rather than a hand-kept list of ranges, so the set follows the engine's Unicode version.
 * Ajv compiles patterns with the `u` flag, so `\p{…}` applies.
 */
const VISIBLE = '[^\\s\\p{Z}\\p{Cc}\\p{Cf}\\p{Default_Ignorable_Code_Point}\\u2800]';

/**
 * The rule a single-line name states in its schema's description. A product's, category's or sale's update takes it
 * without `singleLine`: its schema cannot tell a new name from a stored one resent (a name stored before the rule, kept
 * by a sync sending the whole row back), so the service checks, with `isSingleLine`, only a name set anew.
 */
export const SINGLE_LINE =
  'one line: no control character (line break, tab), line or paragraph separator, or bidi embedding, override or isolate (400 VALIDATION_FAILED; an update may resend a name stored before the rule as it is)';

/**
 * The schema of a name people read (a customer's, a product's, a category's, a sale's): 1 to `maxLength`
 * characters, at least one of them visible. A name of only blanks (spaces, tabs, no-break spaces) or of
 * invisible characters (a zero-width space, a variation selector) passes `minLength` and shows as nothing on a
 * page, in an email or in a list. With `singleLine`, also none of the characters above that break a line or turn
 * text around, anywhere in it (a name that is one line of an email or a list: each of these; an update's schema leaves it
 * out where a name stored before the rule may be resent, see `SINGLE_LINE`).
 */
export function displayName(maxLength: number, { singleLine = false, ...options }: { description?: string; singleLine?: boolean; [annotation: `x-${string}`]: unknown } = {}) {
  // `not` beside the pattern rather than one pattern doing both: that needs a lookahead (or it backtracks
  // quadratically on a long body), which schema-driven generators (fast-check's stringMatching, the OpenAPI fuzz test)
  // cannot read. Each of the two is one linear scan.
  return Type.String({ minLength: 1, maxLength, pattern: VISIBLE, ...(singleLine ? { not: { pattern: NOT_IN_LINE } } : {}), ...options });
}

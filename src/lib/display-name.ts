import { Type } from 'typebox';

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
 * The schema of a name people read (a customer's, a product's, a category's, a sale's): 1 to `maxLength`
 * characters, at least one of them visible. A name of only blanks (spaces, tabs, no-break spaces) or of
 * invisible characters (a zero-width space, a variation selector) passes `minLength` and shows as nothing on a
 * page, in an email or in a list.
 */
export function displayName(maxLength: number, options: { description?: string; [annotation: `x-${string}`]: unknown } = {}) {
  return Type.String({ minLength: 1, maxLength, pattern: VISIBLE, ...options });
}

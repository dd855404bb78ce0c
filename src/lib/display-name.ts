import { Type } from 'typebox';

/**
 * A character that shows: not a blank (`\s`, a space separator), a control or format character (zero-width
 * space and joiners, word joiner, bidi marks), nor a letter or symbol drawn as nothing (Hangul fillers,
 * the Braille blank). Ajv compiles patterns with the `u` flag, so `\p{…}` applies.
 */
const VISIBLE = '[^\\s\\p{Z}\\p{Cc}\\p{Cf}\\u115F\\u1160\\u3164\\uFFA0\\u2800]';

/**
 * The schema of a name people read (a customer's, a product's, a category's, a sale's): 1 to `maxLength`
 * characters, at least one of them visible. A name of only blanks (spaces, tabs, no-break spaces) or of
 * invisible characters (a zero-width space) passes `minLength` and shows as nothing on a page, in an email
 * or in a list.
 */
export function displayName(maxLength: number, options: { description?: string } = {}) {
  return Type.String({ minLength: 1, maxLength, pattern: VISIBLE, ...options });
}

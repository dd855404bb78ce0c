import { Type } from 'typebox';

/**
 * The schema of a name people read (a customer's, a product's, a category's, a sale's): 1 to `maxLength`
 * characters, at least one of them visible. A name of only blanks (spaces, tabs, no-break spaces) passes
 * `minLength` and shows as nothing on a page, in an email or in a list.
 */
export function displayName(maxLength: number, options: { description?: string } = {}) {
  return Type.String({ minLength: 1, maxLength, pattern: '\\S', ...options });
}

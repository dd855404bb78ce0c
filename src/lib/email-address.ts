import { Type } from 'typebox';

/**
 * The schema of an email address a request gives: the `email` format (ajv-formats, which admits no quoted local
 * part, so the first `@` ends it), 3 to 254 characters overall (RFC 5321 4.5.3.1.3, a path's 256 less its
 * brackets) and at most 64 before the `@` (4.5.3.1.1: no server delivers to a longer local part, so an account or
 * order with one could never get its mail). One schema for every route that takes an address.
 */
export function emailAddress(options: { description?: string } = {}) {
  return Type.String({ format: 'email', minLength: 3, maxLength: 254, pattern: '^[^@]{1,64}@', ...options });
}

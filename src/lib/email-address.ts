import { Type } from 'typebox';

/** Options of {@link emailAddress}. */
export interface EmailAddressOptions {
  /** The description OpenAPI shows for the field. */
  description?: string;
  /**
   * Refuse a local part over 64 characters (RFC 5321 4.5.3.1.1: no server delivers to one, so an account or order
   * with one could never get its mail). `false` for routes that look up an address stored before the limit was
   * enforced (sign-in, the admin order search): refusing it there would lock such an account out for good.
   * @defaultValue true
   */
  strictLocalPart?: boolean;
}

/**
 * The schema of an email address a request gives: the `email` format (ajv-formats, which admits no quoted local
 * part, so the first `@` ends it), 3 to 254 characters overall (RFC 5321 4.5.3.1.3, a path's 256 less its
 * brackets) and, unless `strictLocalPart` is `false`, at most 64 before the `@`. One schema for every route that
 * takes an address: strict where one is stored (registration, a guest order), loose where one is looked up.
 */
export function emailAddress({ strictLocalPart = true, ...options }: EmailAddressOptions = {}) {
  return Type.String({ format: 'email', minLength: 3, maxLength: 254, ...(strictLocalPart ? { pattern: '^[^@]{1,64}@' } : {}), ...options });
}

import { InvalidInputError } from './errors.ts';

/** A cursor the client passed that no codec of ours wrote (400 `INVALID_CURSOR`), for every keyset-paged list. */
export class InvalidCursorError extends InvalidInputError {
  constructor() {
    super('INVALID_CURSOR', 'cursor is not one this API returned');
  }
}

/**
 * Opaque keyset cursors: `{ "<field>": <id> }` as base64url JSON. A cursor names the last row a page
 * returned; clients pass it back unchanged and must not build one.
 */
export interface IdCursor {
  encode(id: number): string;
  /** The id the cursor carries, or undefined when the text is not a cursor this codec wrote. */
  decode(cursor: string): number | undefined;
}

/** A cursor codec for `field`; ids below `min` are refused as forged. */
export function createIdCursor(field: string, min: number): IdCursor {
  return {
    encode: (id) => Buffer.from(JSON.stringify({ [field]: id })).toString('base64url'),
    decode(cursor) {
      try {
        const value: unknown = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>)[field];
        if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min) return value;
      } catch {
        // not JSON: not one of ours
      }
      return undefined;
    },
  };
}

/**
 * Whether PostgreSQL keeps this text as it is: no NUL character (refused in `text`, 22021, and in
 * `jsonb`, 22P05) and no unpaired UTF-16 surrogate (refused as a `\uD800` escape in `jsonb`, silently
 * replaced by U+FFFD in `text`). Input that is not is refused where it enters, never left to the database.
 */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

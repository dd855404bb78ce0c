// No schema library here: services (loaded by the worker role too) check names with `isSingleLine`, and the worker
// role loads no request schemas (`test/startup-imports.test.ts`); `display-name.ts` builds the schema from `NOT_IN_LINE`.

/**
 * What a single-line name may not hold anywhere: a control character (a line break, a tab, a bell: `\p{Cc}`), a line or
 * paragraph separator, or a bidi embedding, override or isolate (U+202A–U+202E, U+2066–U+2069), which turns the text
 * after it around ("Jo \u202Eelgoog" shows as "Jo google"). The marks LRM, RLM and ALM stay: right-to-left names use them.
 */
export const NOT_IN_LINE = '[\\p{Cc}\\p{Zl}\\p{Zp}\\u202A-\\u202E\\u2066-\\u2069]';
const NOT_IN_LINE_RE = new RegExp(NOT_IN_LINE, 'u');

/**
 * Whether `text` holds none of the characters a single-line name may not hold (see `NOT_IN_LINE`): what
 * `displayName(…, { singleLine: true })` checks, for an update that checks it only on a name set anew (a name stored
 * before the rule, resent as stored, is kept).
 */
export function isSingleLine(text: string): boolean {
  return !NOT_IN_LINE_RE.test(text);
}

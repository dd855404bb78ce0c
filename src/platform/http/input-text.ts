import { isStorableText } from '../../lib/storable-text.ts';

/**
 * Text PostgreSQL cannot store: a NUL character (refused in `text`, 22021, and in `jsonb`, 22P05)
 * and an unpaired UTF-16 surrogate (refused as a `\uD800` escape in `jsonb`; silently replaced by
 * U+FFFD in `text`). Every request part is checked for these before its schema runs, keys included,
 * so no route can forget to: such input is a 400, never a database error.
 */
export interface TextIssue {
  /** JSON pointer of the offending value (or of the object holding the offending key). */
  instancePath: string;
  keyword: 'text';
  message: string;
  params: Record<string, unknown>;
  schemaPath: string;
}

const MAX_DEPTH = 64;

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired surrogates';


const pointer = (path: string, key: string) => `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;

/** The first string (or key) in `data` that PostgreSQL would refuse, as an Ajv-style issue. */
export function findUnstorableText(data: unknown, path = '', depth = 0): TextIssue | undefined {
  if (typeof data === 'string') return isStorableText(data) ? undefined : issue(path);
  if (data === null || typeof data !== 'object' || depth > MAX_DEPTH) return undefined;
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) {
      const found = findUnstorableText(data[i], `${path}/${i}`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, value] of Object.entries(data)) {
    if (!isStorableText(key)) return issue(path);
    const found = findUnstorableText(value, pointer(path, key), depth + 1);
    if (found) return found;
  }
  return undefined;
}

function issue(instancePath: string): TextIssue {
  return { instancePath, keyword: 'text', message: UNSTORABLE_TEXT_MESSAGE, params: {}, schemaPath: '#/text' };
}

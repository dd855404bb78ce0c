/**
 * Whether the query string of `url` holds a malformed percent-encoding (`%ZZ`, a truncated or invalid UTF-8
 * sequence such as `%E0%A4%A`). The router refuses one in the path (400 `BAD_URL`), but the query-string parser
 * takes it as literal text: `?q=%E0%A4%A` was searched for as is. Escapes never span a literal `&` or `=`, so
 * decoding the whole query string fails exactly when decoding one of its keys or values would.
 */
export function hasMalformedQuery(url: string): boolean {
  const start = url.indexOf('?');
  if (start === -1 || !url.includes('%', start)) return false;
  return !canDecode(url.slice(start + 1));
}

/**
 * The first of `names` whose value in the query string of `url` holds a malformed percent-encoding, or undefined.
 * For a page, which reads its own parameters and ignores any other: a campaign's `utm_campaign=50%off` is none of
 * its business, a `q=%E0%A4%A` it would search for is. A key that does not decode names none of `names`.
 */
export function findMalformedParameter(url: string, names: ReadonlySet<string>): string | undefined {
  const start = url.indexOf('?');
  if (start === -1) return undefined;
  for (const pair of url.slice(start + 1).split('&')) {
    const equals = pair.indexOf('=');
    const rawKey = (equals === -1 ? pair : pair.slice(0, equals)).replaceAll('+', ' ');
    if (!canDecode(rawKey)) continue;
    const key = decodeURIComponent(rawKey);
    if (names.has(key) && equals !== -1 && !canDecode(pair.slice(equals + 1))) return key;
  }
  return undefined;
}

function canDecode(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the query string of `url` holds a malformed percent-encoding (`%ZZ`, a truncated or invalid UTF-8
 * sequence such as `%E0%A4%A`). The router refuses one in the path (400 `BAD_URL`), but the query-string parser
 * takes it as literal text: `?q=%E0%A4%A` was searched for as is. Escapes never span a literal `&` or `=`, so
 * decoding the whole query string fails exactly when decoding one of its keys or values would.
 */
export function hasMalformedQuery(url: string): boolean {
  const start = url.indexOf('?');
  if (start === -1 || !url.includes('%', start)) return false;
  try {
    decodeURIComponent(url.slice(start + 1));
    return false;
  } catch {
    return true;
  }
}

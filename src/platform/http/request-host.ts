import type { IncomingMessage } from 'node:http';

/**
 * Why a request's `Host` makes it invalid HTTP (RFC 9112 §3.2), or undefined when it is fine: an HTTP/1.1 request
 * must carry exactly one Host header field, and no request may carry two (which one would the cross-site check,
 * a proxy or a cache believe?). HTTP/1.0 may omit it, as Node allows.
 *
 * Node's own check (`requireHostHeader`) answers a missing Host with a bare 400 before any handler runs, and lets
 * two through (keeping the first); the web server turns it off and answers both here, in the error shape
 * (`MALFORMED_REQUEST`).
 */
export function findHostProblem(request: Pick<IncomingMessage, 'httpVersionMajor' | 'httpVersionMinor' | 'headers' | 'rawHeaders'>): string | undefined {
  let count = 0;
  // rawHeaders alternates names and values.
  for (let i = 0; i < request.rawHeaders.length; i += 2) if (request.rawHeaders[i]?.toLowerCase() === 'host') count++;
  if (count > 1) return 'the request has more than one Host header';
  const http11 = request.httpVersionMajor === 1 && request.httpVersionMinor >= 1;
  if (count === 0 && http11 && request.headers.host === undefined) return 'an HTTP/1.1 request needs a Host header';
  return undefined;
}

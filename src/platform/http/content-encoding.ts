import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from './error-reply.ts';

/**
 * The content codings of a request's body (`Content-Encoding`, lower-cased, in the order applied) other than
 * `identity`, which is no coding; empty for a request without a body (no `Transfer-Encoding`, no or a zero
 * `Content-Length`, `0` or `00`: what Fastify reads no body of), whose header encodes nothing.
 */
export function findContentCodings(headers: FastifyRequest['headers']): string[] {
  const value = headers['content-encoding'];
  if (value === undefined) return [];
  const length = headers['content-length'];
  // Compared as a number: Node's parser passes `Content-Length: 00` through as written (it refuses anything but digits).
  if (headers['transfer-encoding'] === undefined && (length === undefined || (length !== '' && Number(length) === 0))) return [];
  return (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
}

/**
 * Refuses a request body in a content coding (gzip, deflate, br, anything but `identity`) with 415
 * `UNSUPPORTED_CONTENT_ENCODING` and `Accept-Encoding: identity` (RFC 9110 §8.4.1, §12.5.3, §15.5.16), before it is
 * read, on every route: no body is decoded, and one read as if it were not encoded was a gzip body refused as
 * INVALID_JSON, or JSON labelled gzip taken. The payment webhooks too: they verify the raw bytes as sent, and the
 * providers do not compress them.
 */
export function refuseContentEncoding(app: FastifyInstance): void {
  // Callback style: a reply sent without calling `done` ends the hook chain, and the body is never parsed.
  app.addHook('preParsing', (request, reply, payload, done) => {
    const codings = findContentCodings(request.headers);
    if (codings.length === 0) return done(null, payload);
    reply.header('accept-encoding', 'identity');
    sendError(reply, 415, 'UNSUPPORTED_CONTENT_ENCODING', 'the request body is in a content coding this server does not decode: send it unencoded', { codings });
  });
}

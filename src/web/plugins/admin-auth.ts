import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../../platform/http/error-reply.ts';

const BEARER = /^Bearer(?:\s+(\S+))?\s*$/i;
const BEARER_SCHEME = /^Bearer(?:\s|$)/i;

/**
 * The bearer token of a request, hashed (so comparisons are constant-time whatever the lengths): undefined without a
 * Bearer credential (no Authorization header, or another scheme), null for a malformed one (the scheme alone, or the
 * token followed by more words), which is an invalid token (RFC 6750 3.1) like a wrong one.
 */
function bearerHash(request: FastifyRequest): Buffer | null | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !BEARER_SCHEME.test(header)) return undefined;
  const token = BEARER.exec(header)?.[1];
  return token === undefined ? null : createHash('sha256').update(token).digest();
}

/**
 * Whether a request carries `Authorization: Bearer <ADMIN_API_TOKEN>`: for the rate limits, which run before the
 * admin routes' own check and leave an operator's requests alone (see `RateLimitPluginOptions.exempt`).
 */
export function holdsAdminToken(token: string): (request: FastifyRequest) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (request) => {
    const given = bearerHash(request);
    return given != null && timingSafeEqual(given, expected);
  };
}

/**
 * An onRequest hook that admits `Authorization: Bearer <ADMIN_API_TOKEN>`. Both sides are hashed
 * first so the comparison is constant-time whatever the lengths.
 */
export function requireAdminToken(token: string) {
  const expected = createHash('sha256').update(token).digest();
  return async function adminAuth(request: FastifyRequest, reply: FastifyReply) {
    const given = bearerHash(request);
    if (given != null && timingSafeEqual(given, expected)) return;
    const code = given === undefined ? 'UNAUTHENTICATED' : 'INVALID_TOKEN';
    // A security event (OWASP ASVS 16.3.2: a refused authorization), with where it came from; never the token.
    request.log.warn({ security: { event: 'admin-auth', outcome: code, client: request.ip, method: request.method, route: request.routeOptions.url ?? 'unmatched' } }, 'security event');
    if (given === undefined) {
      reply.header('www-authenticate', 'Bearer realm="salescale-admin"');
      return sendError(reply, 401, code, 'an admin bearer token is required');
    }
    reply.header('www-authenticate', 'Bearer realm="salescale-admin", error="invalid_token"');
    return sendError(reply, 401, code, 'the admin bearer token is not valid');
  };
}

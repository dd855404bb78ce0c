import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../http/error-reply.ts';

/**
 * An onRequest hook that admits `Authorization: Bearer <ADMIN_API_TOKEN>`. Both sides are hashed
 * first so the comparison is constant-time whatever the lengths.
 */
export function requireAdminToken(token: string) {
  const expected = createHash('sha256').update(token).digest();
  return async function adminAuth(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      reply.header('www-authenticate', 'Bearer realm="salescale-admin"');
      return sendError(reply, 401, 'UNAUTHENTICATED', 'an admin bearer token is required');
    }
    const given = createHash('sha256').update(match[1]!).digest();
    if (!timingSafeEqual(given, expected)) {
      reply.header('www-authenticate', 'Bearer realm="salescale-admin", error="invalid_token"');
      return sendError(reply, 401, 'INVALID_TOKEN', 'the admin bearer token is not valid');
    }
  };
}

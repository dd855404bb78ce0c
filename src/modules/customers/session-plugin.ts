import fp from 'fastify-plugin';
import cookie from '@fastify/cookie';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { NotSignedInError } from './customers.errors.ts';
import type { SessionStore } from './sessions.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in customer, when the request carries a live session cookie. */
    customerId?: number;
    /** An opaque, stable id of the session (not the cookie value): for counting active users. */
    sessionId?: string;
    /** The session cookie's value, when it named a live session. */
    sessionCookie?: string;
  }
}

export const SESSION_COOKIE = 'salescale_sid';

export interface SessionPluginOptions {
  sessions: SessionStore;
  /** Cookies only over HTTPS (production). */
  secure: boolean;
  ttlS: number;
}

/**
 * Resolves the session cookie on every request, before rate limits (which count signed-in buyers
 * per customer). If Redis cannot be asked, the request continues anonymous: browsing works, and
 * anything that needs a customer answers 401.
 */
export function sessionPlugin(options: SessionPluginOptions): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app) => {
    await app.register(cookie);
    app.addHook('onRequest', async (request) => {
      const id = request.cookies[SESSION_COOKIE];
      if (id === undefined || id === '') return;
      try {
        const session = await options.sessions.get(id);
        if (!session) return;
        request.customerId = session.customerId;
        request.sessionId = session.key;
        request.sessionCookie = id;
      } catch (error) {
        request.log.warn({ err: error }, 'session store unavailable: continuing without a session');
      }
    });
  };
  return fp(plugin, { name: 'salescale-sessions', fastify: '5.x' });
}

export function setSessionCookie(reply: FastifyReply, id: string, options: Pick<SessionPluginOptions, 'secure' | 'ttlS'>): void {
  reply.setCookie(SESSION_COOKIE, id, { httpOnly: true, sameSite: 'lax', secure: options.secure, path: '/', maxAge: options.ttlS });
}

export function clearSessionCookie(reply: FastifyReply, options: Pick<SessionPluginOptions, 'secure'>): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: options.secure, path: '/' });
}

/** The signed-in customer's id, or a 401 `NOT_SIGNED_IN`. */
export function requireCustomer(request: FastifyRequest): number {
  if (request.customerId === undefined) throw new NotSignedInError();
  return request.customerId;
}

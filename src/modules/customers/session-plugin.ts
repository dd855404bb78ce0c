import fp from 'fastify-plugin';
import cookie from '@fastify/cookie';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { clearLegacyCookie, getCookieName, readCookie } from '../../platform/http/host-cookies.ts';
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
    /**
     * Why the session cookie sent could not be read (the session store unreachable): the request goes on anonymous,
     * but a route that would answer for the visitor's own data (the cart) must not take it for a visitor without any.
     */
    sessionUnreadable?: unknown;
  }
}

/** The session cookie's plain name; production sets it as `__Host-salescale_sid` (see `getCookieName`). */
export const SESSION_COOKIE = 'salescale_sid';

/** The session cookie's value as the request sent it (under the prefixed name, or the old plain one). */
export function getSessionCookie(request: FastifyRequest, secure: boolean): string | undefined {
  return readCookie(request, getCookieName(SESSION_COOKIE, secure))?.value;
}

export interface SessionPluginOptions {
  sessions: SessionStore;
  /** Cookies only over HTTPS (production). */
  secure: boolean;
  ttlS: number;
  /**
   * Only requests to paths under this prefix extend the session, renew its cookie or move it from its old plain name: never a publicly
   * cacheable reply (the storefront's assets), which a shared cache could keep and hand the session to everyone.
   * @defaultValue '/api/'
   */
  renewUnder?: string;
}

/**
 * Resolves the session cookie on every request, before rate limits (which count signed-in buyers
 * per customer), and renews the cookie when the session's lifetime was extended. If Redis cannot be
 * asked, the request continues anonymous: browsing works, and a route that needs a customer, or answers for the visitor's own
 * data, answers the outage (503 `REDIS_UNAVAILABLE`) through `readCustomer`/`requireCustomer`: `sessionUnreadable` holds why.
 * A request without a session cookie is not touched by the outage here (401 where a customer is needed).
 */
export function sessionPlugin(options: SessionPluginOptions): FastifyPluginAsync {
  const renewUnder = options.renewUnder ?? '/api/';
  const plugin: FastifyPluginAsync = async (app) => {
    await app.register(cookie);
    const name = getCookieName(SESSION_COOKIE, options.secure);
    app.addHook('onRequest', async (request, reply) => {
      const sent = readCookie(request, name);
      if (sent === undefined) return;
      const id = sent.value;
      // Only these replies may carry a session cookie: a publicly cacheable one (a storefront asset) is kept by a
      // shared cache, Set-Cookie included, and handed to every later visitor.
      const mayCarryCookie = request.url.startsWith(renewUnder);
      try {
        const session = await options.sessions.get(id, { extend: mayCarryCookie });
        // A cookie under the old plain name moves to the prefixed one (a dead session's is only cleared), on a reply
        // that may carry it: the next API request moves it.
        const move = sent.legacy && mayCarryCookie;
        if (move) clearLegacyCookie(request, reply, name);
        if (!session) return;
        request.customerId = session.customerId;
        request.sessionId = session.key;
        request.sessionCookie = id;
        // The browser drops the cookie at the Max-Age it was given at sign-in, whatever Redis holds: an
        // extended session renews it, or an active customer would be signed out SESSION_TTL_S after signing in.
        // (A route that sets or clears the cookie afterwards, sign-in or sign-out, replaces this one.)
        if (session.renewed || move) setSessionCookie(reply, id, { secure: options.secure, ttlS: Math.max(1, Math.ceil((session.expiresAt - Date.now()) / 1000)) });
      } catch (error) {
        request.sessionUnreadable = error;
        request.log.warn({ err: error }, 'session store unavailable: continuing without a session');
      }
    });
  };
  return fp(plugin, { name: 'salescale-sessions', fastify: '5.x' });
}

export function setSessionCookie(reply: FastifyReply, id: string, options: Pick<SessionPluginOptions, 'secure' | 'ttlS'>): void {
  reply.setCookie(getCookieName(SESSION_COOKIE, options.secure).name, id, { httpOnly: true, sameSite: 'lax', secure: options.secure, path: '/', maxAge: options.ttlS });
}

export function clearSessionCookie(reply: FastifyReply, options: Pick<SessionPluginOptions, 'secure'>): void {
  reply.clearCookie(getCookieName(SESSION_COOKIE, options.secure).name, { httpOnly: true, sameSite: 'lax', secure: options.secure, path: '/' });
}

/**
 * The signed-in customer's id, or undefined for a visitor without a session. A session cookie that could not be read
 * (the session store unreachable) names a customer who is not known: answering them as a visitor without a session
 * would show their cart as empty, or tell the storefront they signed out, so the store's failure is thrown instead
 * (503 `REDIS_UNAVAILABLE` with Retry-After, from the error handler).
 */
export function readCustomer(request: FastifyRequest): number | undefined {
  if (request.customerId === undefined && request.sessionUnreadable !== undefined) throw request.sessionUnreadable;
  return request.customerId;
}

/** The signed-in customer's id; a 401 `NOT_SIGNED_IN` without a session, the store's failure when it could not be read (see {@link readCustomer}). */
export function requireCustomer(request: FastifyRequest): number {
  const customerId = readCustomer(request);
  if (customerId === undefined) throw new NotSignedInError();
  return customerId;
}

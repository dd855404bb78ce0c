import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clearLegacyCookie, getCookieName, readCookie } from '../../platform/http/host-cookies.ts';

/** The guest cookie's plain name; production sets it as `__Host-salescale_guest` (see `getCookieName`). */
export const GUEST_COOKIE = 'salescale_guest';

/**
 * An anonymous visitor's identity for their cart: a random id in a cookie, signed (HMAC-SHA256 with
 * the session secret) so it cannot be guessed or forged into someone else's cart.
 */
export function createGuestCookies(options: { secret: string; secure: boolean; ttlS: number }) {
  const name = getCookieName(GUEST_COOKIE, options.secure);
  const sign = (id: string) => createHmac('sha256', `guest-cart:${options.secret}`).update(id).digest('base64url');

  function read(request: FastifyRequest): `g:${string}` | undefined {
    const raw = readCookie(request, name)?.value;
    if (!raw) return undefined;
    const [id, mac] = raw.split('.', 2);
    if (!id || !mac || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) return undefined;
    const expected = Buffer.from(sign(id));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    return `g:${id}`;
  }

  return {
    read,
    /** The visitor's guest id for a cart change: their cookie's, or a new one (no cookie set: see `renew`). */
    idFor(request: FastifyRequest): `g:${string}` {
      return read(request) ?? `g:${randomBytes(18).toString('base64url')}`;
    },
    /**
     * Sets the guest's cookie, once a change of their cart was made: the change kept the cart `ttlS` longer, and a
     * browser drops the cookie at the Max-Age it was last given, whatever Redis still holds. A refused change sets
     * none, so a visitor without a cart gets no cookie naming one.
     */
    renew(request: FastifyRequest, reply: FastifyReply, guest: `g:${string}`): void {
      const id = guest.slice(2);
      // A cookie under the old plain name moves to the prefixed one here.
      clearLegacyCookie(request, reply, name);
      reply.setCookie(name.name, `${id}.${sign(id)}`, { httpOnly: true, sameSite: 'lax', secure: options.secure, path: '/', maxAge: options.ttlS });
    },
    clear(reply: FastifyReply): void {
      clearLegacyCookie(reply.request, reply, name);
      reply.clearCookie(name.name, { httpOnly: true, sameSite: 'lax', secure: options.secure, path: '/' });
    },
  };
}

export type GuestCookies = ReturnType<typeof createGuestCookies>;

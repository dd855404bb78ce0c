import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clearLegacyCookie, getCookieName, readCookie } from '../../platform/http/host-cookies.ts';

/** The device cookie's plain name; production sets it as `__Host-salescale_device` (see `getCookieName`). */
export const DEVICE_COOKIE = 'salescale_device';

/**
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser that signed in to an
 * account is given a cookie bound to that account, and its later sign-ins to that account count against the
 * cookie's own lockout budget instead of the account's. Password guesses from anywhere else (a botnet's thousand
 * addresses) then lock out only untrusted clients, never the customer on the device they used before.
 *
 * The value is `<id>.<expires, unix seconds>.<HMAC-SHA256 of account digest, id and expiry>` under the session
 * secret: it cannot be forged, moved to another account, or kept past its expiry by editing it, and holds no email.
 * Nothing is stored server-side; a browser holds one device cookie, for the account it signed in to last.
 */
export interface DeviceCookies {
  /**
   * The device id of the request's device cookie when it is genuine, unexpired and was issued for this email's
   * account (any letter case); otherwise undefined: an untrusted client.
   */
  read(request: FastifyRequest, email: string): string | undefined;
  /** Gives the browser a new device cookie for the account it just signed in to (a new id every time). */
  issue(reply: FastifyReply, email: string): void;
}

const ID = /^[A-Za-z0-9_-]{24}$/;
const EXPIRES = /^[0-9]{1,12}$/;

/**
 * The email as a device cookie's MAC covers it (the same for every letter case). Unkeyed, as it always was: it never
 * leaves the MAC, which is keyed, and changing it would distrust every device at an upgrade.
 */
const emailHash = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('base64url');

export function createDeviceCookies(options: {
  secret: string;
  /** Secure attribute: as the session cookie (production). */
  secure: boolean;
  /** How long a browser stays trusted after its last sign-in (LOGIN_DEVICE_TTL_S). */
  ttlS: number;
  /** @defaultValue Date.now */
  now?: () => number;
}): DeviceCookies {
  const now = options.now ?? Date.now;
  const name = getCookieName(DEVICE_COOKIE, options.secure);
  const sign = (email: string, id: string, expires: string) =>
    createHmac('sha256', `login-device:${options.secret}`).update(`${emailHash(email)}.${id}.${expires}`).digest('base64url');

  return {
    read(request, email) {
      const raw = readCookie(request, name)?.value;
      if (!raw) return undefined;
      const [id, expires, mac, extra] = raw.split('.');
      if (id === undefined || expires === undefined || mac === undefined || extra !== undefined || !ID.test(id) || !EXPIRES.test(expires)) return undefined;
      const expected = Buffer.from(sign(email, id, expires));
      const given = Buffer.from(mac);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
      if (Number(expires) * 1000 <= now()) return undefined;
      return id;
    },
    issue(reply, email) {
      const id = randomBytes(18).toString('base64url');
      const expires = String(Math.floor(now() / 1000) + options.ttlS);
      // A cookie under the old plain name is replaced by this one, under the prefixed name.
      clearLegacyCookie(reply.request, reply, name);
      reply.setCookie(name.name, `${id}.${expires}.${sign(email, id, expires)}`, {
        httpOnly: true,
        sameSite: 'lax',
        secure: options.secure,
        path: '/',
        maxAge: options.ttlS,
      });
    },
  };
}

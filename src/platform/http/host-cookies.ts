import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Our cookies' names. Over HTTPS (production, where every cookie is Secure) a cookie is named `__Host-<base>`:
 * a browser then stores it only when it is Secure, has `Path=/` and no `Domain`, so no other host of the site
 * (a compromised blog.shop.example) can plant or overwrite it on the shop's domain — no session fixation, no
 * guest cart injected into a shopper's browser (OWASP ASVS 5.0, 3.3.1). Without HTTPS (development, tests) the
 * prefix cannot hold (a browser refuses a Secure cookie over plain http except on localhost), so the plain name
 * is kept.
 *
 * Transition: before the prefix, production set the plain names. Production still reads a plain-named cookie
 * when the prefixed one is absent, and whoever owns the cookie sets it again under the new name and clears the
 * old one, so a rolling upgrade signs nobody out and empties no guest cart. While they are read, a sibling
 * subdomain can still plant a plain-named cookie in a browser that holds no prefixed one; so they are read for
 * 30 days after this release only (a session's SESSION_MAX_AGE_S and the visitor cookie's lifetime): the first
 * release after 2027-01-05 drops `legacy` (README, "Cookies"). A device cookie not moved by then costs its
 * browser its trusted-device budget until its next sign-in, nothing more.
 */
export interface CookieName {
  /** The name the cookie is set and read under. */
  readonly name: string;
  /** The plain name production set before the prefix, still read when `name` is absent; undefined outside production. */
  readonly legacy: string | undefined;
}

export function getCookieName(base: string, secure: boolean): CookieName {
  return secure ? { name: `__Host-${base}`, legacy: base } : { name: base, legacy: undefined };
}

/** The cookie's value (an empty value counts as absent), and whether it came under its old plain name. */
export function readCookie(request: FastifyRequest, cookie: CookieName): { value: string; legacy: boolean } | undefined {
  const current = request.cookies?.[cookie.name];
  if (current !== undefined && current !== '') return { value: current, legacy: false };
  if (cookie.legacy === undefined) return undefined;
  const old = request.cookies?.[cookie.legacy];
  return old !== undefined && old !== '' ? { value: old, legacy: true } : undefined;
}

/** Clears the old plain-named cookie when the request carried it (it was set with `Path=/`, no Domain). */
export function clearLegacyCookie(request: FastifyRequest, reply: FastifyReply, cookie: CookieName): void {
  if (cookie.legacy === undefined || request.cookies?.[cookie.legacy] === undefined) return;
  reply.clearCookie(cookie.legacy, { httpOnly: true, sameSite: 'lax', secure: true, path: '/' });
}

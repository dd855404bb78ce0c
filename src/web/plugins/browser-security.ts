import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyPluginAsync, FastifyRequest, onRequestHookHandler, onSendHookHandler } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import { sendError } from '../../platform/http/error-reply.ts';

/**
 * Security headers for every reply (helmet) and CORS for a storefront served from another origin.
 *
 * - CSP: our own pages load only our own script, styles and API (no inline script, no third parties);
 *   `/docs` sets its own, wider policy (Swagger UI), with `frame-ancestors 'none'` too (as X-Frame-Options: DENY).
 * - CORS: only the origins in CORS_ORIGINS, with credentials (the session and visitor cookies), the
 *   request headers checkout needs (`Idempotency-Key`, `Waiting-Room-Pass`) and the reply headers a
 *   client reads. No origin listed: no CORS headers at all (same-origin only). Cookies are
 *   `SameSite=Lax`, so a storefront on another *site* signs in through its own backend; one on another
 *   origin of the same site (shop.example.com → api.example.com) works as is.
 * - Cross-site request refusal: SameSite=Lax keeps the cookies off another *site*'s form posts, but not off
 *   another origin of the same site (a sibling subdomain) nor in a browser without SameSite, and a page can post
 *   to a route that reads no body (cancelling an order): a form (`text/plain`, refused 415 unless empty, then taken
 *   as no body) or a no-cors `fetch` without a body. This check runs before any body is read, and in the web server
 *   after the rate limits (`crossSiteCheck: false` there, and its own `refuseCrossSite` hook). A
 *   state-changing request a browser says comes from elsewhere (`Sec-Fetch-Site: same-site | cross-site`, or,
 *   without Fetch Metadata, an `Origin` naming another host or port, or `null`) is refused, 403
 *   `CROSS_SITE_REQUEST`, unless its origin is in CORS_ORIGINS. Requests without those headers (API clients,
 *   webhooks) are not browsers'. "Our own" host and port are those the browser saw: the request's `Host`, or its
 *   `X-Forwarded-Host` when TRUST_PROXY trusts the peer (Fastify's `request.host`), and SHOP_URL's when set (a
 *   proxy that rewrites `Host` and forwards none); ports 80 and 443 count as no port.
 *
 * - Cache-Control: `no-store` on every reply a route does not mark itself (`getEveryReplyHeaders`).
 *
 * The headers are helmet's, computed once at start: they do not depend on the request (no CSP
 * nonces), and `@fastify/helmet` built a new helmet middleware, CSP parsing included, on every request
 * (two hooks per request; CPU per cached product read 159–206 µs with it, 67–106 µs without, A/B on one machine).
 */
export function browserSecurity(options: {
  corsOrigins: string[];
  production: boolean;
  /** The shop's address as browsers see it (SHOP_URL): its origin is our own whatever `Host` a proxy sends. */
  shopUrl?: string;
  /** Pages of third-party UIs with inline styles (the queue dashboard): their CSP also allows those. */
  inlineStylePaths?: string[];
  /**
   * Whether this plugin sets `getEveryReplyHeaders` itself, in an onRequest hook of its own. The web server sets them
   * in its first hook instead (and on the router's refusals), so that the refusals of the hooks before this one
   * (a missing Host, a malformed query) carry them too.
   * @defaultValue true
   */
  setHeaders?: boolean;
  /**
   * Whether this plugin refuses cross-site state-changing requests itself, in an onRequest hook of its own. The web
   * server adds `refuseCrossSite` after the rate limits instead: each refusal spends the client's budget, and a client
   * over it gets 429, as for every other refusal.
   * @defaultValue true
   */
  crossSiteCheck?: boolean;
}): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app) => {
    if (options.setHeaders !== false) {
      const headers = getEveryReplyHeaders(options.production);
      app.addHook('onRequest', (_request, reply, done) => {
        reply.headers(headers);
        done();
      });
    }
    if (options.crossSiteCheck !== false) app.addHook('onRequest', refuseCrossSite(options));
    const relaxed = options.inlineStylePaths ?? [];
    if (relaxed.length > 0) {
      // A route-level hook on those pages' routes only: every other reply skips an onSend turn.
      const relax: onSendHookHandler = (_request, reply, payload, done) => {
        const csp = reply.getHeader('content-security-policy');
        if (typeof csp === 'string') reply.header('content-security-policy', csp.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace("font-src 'self'", "font-src 'self' data:"));
        done(null, payload);
      };
      app.addHook('onRoute', (route) => {
        if (!relaxed.some((prefix) => route.url.startsWith(prefix))) return;
        route.onSend = [...(route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend]), relax];
      });
    }
    if (options.corsOrigins.length > 0) {
      await app.register(cors, {
        origin: options.corsOrigins,
        credentials: true,
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        allowedHeaders: ['content-type', 'idempotency-key', 'waiting-room-pass', 'x-request-id', 'authorization'],
        exposedHeaders: ['x-request-id', 'retry-after', 'idempotent-replayed', 'ratelimit', 'ratelimit-policy'],
        maxAge: 600,
      });
    }
  };
  Object.assign(plugin, { [Symbol.for('skip-override')]: true });
  return plugin;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The onRequest hook refusing a state-changing request a browser says comes from another origin that `corsOrigins`
 * does not list: 403 `CROSS_SITE_REQUEST` (see `browserSecurity`).
 */
export function refuseCrossSite(options: {
  corsOrigins: string[];
  /** SHOP_URL: its origin is our own whatever `Host` a proxy sends. */
  shopUrl?: string;
  /** Called with each request refused, before its 403 is sent (the web server gives back its failed-attempt units). */
  onRefused?: (request: FastifyRequest) => void;
}): onRequestHookHandler {
  const allowed = new Set(options.corsOrigins);
  const shopHost = options.shopUrl === undefined ? undefined : getComparableHost(new URL(options.shopUrl).host);
  return (request, reply, done) => {
    if (SAFE_METHODS.has(request.method)) return done();
    const ownHosts = [getComparableHost(request.host), shopHost].filter((host): host is string => host !== undefined);
    if (!isCrossSite(request.headers, ownHosts, allowed)) return done();
    options.onRefused?.(request);
    sendError(reply, 403, 'CROSS_SITE_REQUEST', 'a state-changing request from another site or origin is refused');
  };
}

/**
 * The headers every reply starts with, computed once: helmet's and `Cache-Control: no-store`, which a route may
 * replace (static assets, event streams). A shared cache put in front for a sale (a CDN) keeps a reply without
 * Cache-Control for its default TTL, and one whose key leaves out the cookie would hand a shopper's cart, orders or
 * session to the next visitor.
 */
export function getEveryReplyHeaders(production: boolean): Readonly<Record<string, string>> {
  return { ...helmetHeaders(securityHeaderOptions(production)), 'cache-control': 'no-store' };
}

/**
 * Whether a browser says this request comes from a page of another origin that CORS_ORIGINS does not list.
 * Fetch Metadata first (every current browser sends it); otherwise the `Origin` header's host and port against
 * our own (`ownHosts`, as `getComparableHost` gives them): another port is another origin (a page on
 * localhost:4000 is not the shop on localhost:3000), though the same site, so SameSite lets the cookies go.
 */
export function isCrossSite(headers: Record<string, string | string[] | undefined>, ownHosts: readonly string[], allowed: ReadonlySet<string>): boolean {
  const origin = typeof headers.origin === 'string' ? headers.origin : undefined;
  const site = headers['sec-fetch-site'];
  if (site === 'same-origin' || site === 'none') return false;
  if (origin !== undefined && allowed.has(origin)) return false;
  if (site !== undefined) return true;
  if (origin === undefined) return false;
  const host = URL.canParse(origin) ? getComparableHost(new URL(origin).host) : undefined;
  // `null` (a sandboxed frame, a cross-origin redirect) or garbage: not one of our pages.
  return host === undefined || !ownHosts.includes(host);
}

/**
 * `host[:port]` as compared for the cross-site check: lower case, without port 80 or 443 (a browser leaves the
 * default port out of `Origin`; a proxy may write it into `Host`). Undefined when it is no host.
 */
export function getComparableHost(host: string | undefined): string | undefined {
  if (host === undefined || host === '' || !URL.canParse(`http://${host}`)) return undefined;
  const url = new URL(`http://${host}`);
  return url.port === '' || url.port === '80' || url.port === '443' ? url.hostname : `${url.hostname}:${url.port}`;
}

/** What helmet is asked for: our own pages load only our own script, styles and API. */
export function securityHeaderOptions(production: boolean): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        objectSrc: ["'none'"],
        ...(production ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // The API is read cross-origin by the storefront (CORS decides who); pages are not embeddable: X-Frame-Options says
    // so too (DENY, as frame-ancestors 'none'; helmet's default SAMEORIGIN let a same-origin page frame them in a
    // browser that reads X-Frame-Options and not CSP frame-ancestors).
    xFrameOptions: { action: 'deny' },
    crossOriginResourcePolicy: { policy: 'same-site' },
    hsts: production ? { maxAge: 15_552_000, includeSubDomains: true } : false,
  };
}

/** The headers helmet sets with these options, read once from a recording response. */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}

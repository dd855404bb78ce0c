import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TProperties } from 'typebox';
import type { CatalogService } from '../../modules/catalog/index.ts';
import type { SaleEvent } from '../../modules/sale-events/index.ts';
import { JOIN_OPENS_BEFORE_MS } from '../../modules/waiting-room/index.ts';
import { normalizeSearchTerm } from '../../platform/http/search-term.ts';
import { DomainError } from '../../shared/errors.ts';
import { accountPage, badRequestPage, cartPage, catalogPage, guestOrderPage, notFoundPage, orderPage, productPage, waitingRoomPage, type SaleView } from './pages.ts';

const ASSETS = path.join(import.meta.dirname, 'assets');
/** By name: a Map, as the name comes from the URL (an object would also "have" `constructor`, `__proto__`, …). */
const assets = new Map([
  ['storefront.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(path.join(ASSETS, 'storefront.js')) }],
  ['storefront.css', { type: 'text/css; charset=utf-8', body: readFileSync(path.join(ASSETS, 'storefront.css')) }],
]);

export interface StorefrontDeps {
  catalog: CatalogService;
  /** Sale events not ended yet (live or upcoming), for countdowns and the waiting-room links. */
  listSales: () => Promise<SaleEvent[]>;
  /**
   * How long the list of sales is reused per instance.
   * @defaultValue 2000
   */
  salesCacheMs?: number;
  /** Gives a visitor without one the waiting room's visitor cookie (before its page joins the line). */
  ensureVisitor?: (request: FastifyRequest, reply: FastifyReply) => void;
  /**
   * A sale whose waiting room the API serves now (the waiting room's own view, in memory), for a sale the reused
   * list of sales does not hold yet: the room's page opens as soon as the room answers.
   */
  queuedSale?: (id: number) => Promise<SaleView | undefined>;
}

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const hide = { hide: true };
/** A guest order's access token (`<orderId>.<HMAC>`), as `GET /api/v1/guest-orders/:token` takes it. */
const GuestToken = Type.String({ minLength: 3, maxLength: 120, pattern: '^[0-9]+\\.[A-Za-z0-9_-]+$' });
/**
 * A page's query string: the parameters it reads are checked, any other is ignored. Unlike the API (where an
 * unknown parameter is a 400), shoppers arrive on pages through links that carry what campaigns and ad networks
 * append (`utm_source`, `gclid`, `fbclid`, …): a page must open with them.
 */
const pageQuery = <T extends TProperties>(properties: T) => Type.Object(properties, { additionalProperties: true });

/**
 * Paths that are not the shop's pages: the API, its docs, the admin routes, metrics and the probes. A path is one of
 * them when, compared without regard to case (`/API/v1/x` is the API), it is a prefix itself or starts with a prefix
 * followed by `/` (`/api`, `/api/v1/x`; not `/apiary`).
 */
const NOT_PAGES = ['/api', '/docs', '/admin', '/metrics', '/health', '/ready'];

/**
 * The q-value (0 to 1) an Accept header gives a media type: that of its most specific media range naming the type
 * (`type/subtype` over `type/*` over `*\/*`; parameters other than q are ignored), undefined if none names it. With
 * `wildcardAll` false, `*\/*` does not count (a client that names no HTML is not a browser).
 */
function acceptQuality(accept: string, type: string, subtype: string, wildcardAll: boolean): number | undefined {
  let best: { specificity: number; q: number } | undefined;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const [rangeType, rangeSubtype] = range.split('/');
    let specificity: number;
    if (rangeType === type && rangeSubtype === subtype) specificity = 3;
    else if (rangeType === type && rangeSubtype === '*') specificity = 2;
    else if (wildcardAll && rangeType === '*' && rangeSubtype === '*') specificity = 1;
    else continue;
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split('=').map((piece) => piece.trim());
      if (name !== 'q') continue;
      const parsed = value !== undefined && /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value) ? Number(value) : 0;
      q = parsed;
      break;
    }
    if (!best || specificity > best.specificity) best = { specificity, q };
  }
  return best?.q;
}

/**
 * Whether an Accept header asks for HTML: it names text/html (or text/*) with q > 0, at least as preferred as
 * application/json (as application/json, application/* or *\/* rank it). `*\/*` alone, or HTML refused (q=0) or
 * ranked below JSON, is not.
 */
function acceptsHtml(accept: string): boolean {
  const html = acceptQuality(accept, 'text', 'html', false);
  if (html === undefined || html <= 0) return false;
  return html >= (acceptQuality(accept, 'application', 'json', true) ?? 0);
}

/**
 * The shop's 404 page for a request no route serves, when it is a browser's (its Accept asks for HTML, see
 * `acceptsHtml`) for a path outside the API, the docs, the admin routes, metrics and the probes (`NOT_PAGES`, as
 * Shopify's and Medusa's storefronts answer a dead link); undefined for the JSON 404, which API clients and every
 * other path keep.
 */
export function shopNotFoundPage(request: FastifyRequest): string | undefined {
  const accept = request.headers.accept;
  if (accept === undefined || !acceptsHtml(accept)) return undefined;
  const path = (request.url.split('?')[0] ?? '/').toLowerCase();
  if (NOT_PAGES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) return undefined;
  return notFoundPage('There is no such page.');
}

/**
 * The demo storefront, served by the web role at `/`: server-rendered pages over the same services the
 * API uses, with a little vanilla JavaScript (`assets/storefront.js`) for what must be live — stock,
 * countdowns, the waiting room's position — and for cart and checkout, which go through the public API.
 */
export function storefrontRoutes(deps: StorefrontDeps): FastifyPluginAsyncTypebox {
  let sales: { at: number; value: Promise<SaleView[]> } | undefined;
  const cacheMs = deps.salesCacheMs ?? 2000;
  function currentSales(): Promise<SaleView[]> {
    if (!sales || Date.now() - sales.at > cacheMs) {
      const value = deps.listSales().then((rows) =>
        rows
          .filter((row) => Date.parse(row.endsAt) > Date.now())
          .map((row) => ({ id: row.id, name: row.name, startsAt: row.startsAt, endsAt: row.endsAt, queued: row.waitingRoom.enabled, productIds: row.productIds })),
      );
      sales = { at: Date.now(), value };
      value.catch(() => (sales = undefined));
    }
    return sales.value;
  }
  const send = (reply: FastifyReply, page: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
  const notFound = (error: unknown, what: string, reply: FastifyReply) => {
    if (error instanceof DomainError && error.kind === 'not_found') return send(reply, notFoundPage(what), 404);
    throw error;
  };

  /** What each page says of an address naming nothing it has: a page's path parameter is an id, a name or a token. */
  const unknownThing: Record<string, string> = {
    '/products/:id': 'This product does not exist.',
    '/orders/:id': 'This order does not exist.',
    '/guest-orders/:token': 'This order link is not valid, or has expired.',
    '/sale/:id/queue': 'This sale has no waiting room (or it has ended).',
    '/assets/:name': 'No such file.',
  };

  return async (app) => {
    // Shoppers reach pages through links (cut short in a chat, mistyped, mangled by a mail client): an address the
    // schemas refuse answers a page of the shop, not the API's JSON error. A path that names no product, order or sale
    // is a 404, as one naming an id that does not exist; a query string it cannot read is a 400. Every other error
    // goes to the app's error handler (a child's handler that throws hands the error to its parent's).
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (!error.validation) throw error;
      if (error.validationContext === 'params') return send(reply, notFoundPage(unknownThing[request.routeOptions.url ?? ''] ?? 'There is no such page.'), 404);
      const tooLongSearch = error.validation.some((issue) => issue.instancePath === '/q' && issue.keyword === 'maxLength');
      return send(reply, badRequestPage(tooLongSearch ? 'A search is at most 100 characters: shorten it and search again.' : 'A link may have been cut short or changed: go back to the shop and find the page from there.'), 400);
    });

    app.get('/assets/:name', { schema: { ...hide, params: Type.Object({ name: Type.String({ maxLength: 40 }) }, { additionalProperties: false }) } }, async (request, reply) => {
      const asset = assets.get(request.params.name);
      if (!asset) return send(reply, notFoundPage('No such file.'), 404);
      return reply.type(asset.type).header('cache-control', 'public, max-age=300').send(asset.body);
    });

    app.get(
      '/',
      {
        schema: {
          ...hide,
          querystring: pageQuery({
            q: Type.Optional(Type.String({ maxLength: 100 })),
            category: Type.Optional(Type.String({ maxLength: 100 })),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
          }),
        },
        // The 100-character limit is the trimmed search's, as the catalog API's.
        preValidation: normalizeSearchTerm('q'),
      },
      async (request, reply) => {
        const q = request.query.q || undefined;
        const category = request.query.category || undefined;
        const [page, categories, live] = await Promise.all([
          deps.catalog.listProducts({ q, category, cursor: request.query.cursor, limit: 24 } as Parameters<CatalogService['listProducts']>[0]).catch((error: unknown) => {
            // A parameter the catalog cannot read (a cursor that is not one of ours: a link cut short or edited) is the
            // 400 page, as one the schema refuses; a category that does not exist (a slug mistyped, a category renamed
            // or deleted since the link was shared) is the 404 page, as a product that does not. Any other error is the app's.
            if (error instanceof DomainError && error.kind === 'invalid') return 'unreadable' as const;
            if (error instanceof DomainError && error.code === 'UNKNOWN_CATEGORY') return 'unknown-category' as const;
            throw error;
          }),
          deps.catalog.listCategories(),
          currentSales(),
        ]);
        if (page === 'unreadable') return send(reply, badRequestPage('A link may have been cut short or changed: go back to the shop and find the page from there.'), 400);
        if (page === 'unknown-category') return send(reply, notFoundPage('This category does not exist.'), 404);
        return send(reply, catalogPage({ products: page.items, categories, q, category, sales: live.slice(0, 3), nextCursor: page.nextCursor }));
      },
    );

    app.get('/products/:id', { schema: { ...hide, params: Type.Object({ id: Id }, { additionalProperties: false }), querystring: pageQuery({}) } }, async (request, reply) => {
      try {
        const [product, categories, live] = await Promise.all([deps.catalog.getProduct(request.params.id), deps.catalog.listCategories(), currentSales()]);
        // Sales may overlap (a week-long sale and a queued doorbuster hour inside it): while a queued one is live,
        // checkout needs its pass, so that is the sale the page shows (with its way into the line); else a queued one
        // whose line is open (a day before its start: checkout of the product is refused SALE_NOT_STARTED until the
        // start, so the page says when it goes on sale, never "Add to cart"); else the first.
        const listing = live.filter((s) => s.productIds.includes(product.id));
        const now = Date.now();
        const sale =
          listing.find((s) => s.queued && Date.parse(s.startsAt) <= now && now < Date.parse(s.endsAt)) ??
          listing.find((s) => s.queued && Date.parse(s.startsAt) - JOIN_OPENS_BEFORE_MS <= now && now < Date.parse(s.endsAt)) ??
          listing[0];
        return send(reply, productPage({ product, category: categories.find((c) => c.id === product.categoryId), sale, now }));
      } catch (error) {
        return notFound(error, 'This product does not exist.', reply);
      }
    });

    app.get(
      '/sale/:id/queue',
      { schema: { ...hide, params: Type.Object({ id: Id }, { additionalProperties: false }), querystring: pageQuery({ product: Type.Optional(Id) }) } },
      async (request, reply) => {
        // The list of sales is reused for `salesCacheMs`: a sale created (or queued) since is not in it, while the API
        // already serves its room (the queue info, the product page's link here), and a visitor who came then was told
        // the sale had no waiting room and never joined. The room as the API knows it is asked too.
        const sale = (await currentSales()).find((s) => s.id === request.params.id && s.queued) ?? (await deps.queuedSale?.(request.params.id));
        if (!sale) return send(reply, notFoundPage('This sale has no waiting room (or it has ended).'), 404);
        // The cookie comes with the page, not only with the join's reply: a retry after a lost reply is the same visitor.
        deps.ensureVisitor?.(request, reply);
        return send(reply, waitingRoomPage({ sale, productId: request.query.product }));
      },
    );

    app.get('/cart', { schema: { ...hide, querystring: pageQuery({}) } }, async (_request, reply) => send(reply, cartPage()));
    app.get(
      '/account',
      { schema: { ...hide, querystring: pageQuery({ next: Type.Optional(Type.String({ maxLength: 200, pattern: '^/[^/\\\\]' })) }) } },
      async (request, reply) => send(reply, accountPage(request.query.next ?? '/')),
    );
    app.get('/orders/:id', { schema: { ...hide, params: Type.Object({ id: Id }, { additionalProperties: false }), querystring: pageQuery({}) } }, async (request, reply) => send(reply, orderPage(request.params.id)));
    // The token is a credential: the route names it `:token`, so the request log and traces redact it (redactUrl);
    // no Referer carries the page's address to the links it holds (Referrer-Policy: no-referrer, set here too so the
    // page does not depend on helmet's default) and no cache keeps the page (no-store, as every page).
    app.get('/guest-orders/:token', { schema: { ...hide, params: Type.Object({ token: GuestToken }, { additionalProperties: false }), querystring: pageQuery({}) } }, async (request, reply) =>
      send(reply.header('referrer-policy', 'no-referrer'), guestOrderPage(Number(request.params.token.split('.')[0]))),
    );
  };
}

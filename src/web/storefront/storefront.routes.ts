import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type, type TProperties } from 'typebox';
import type { CatalogService } from '../../modules/catalog/index.ts';
import type { SaleEvent } from '../../modules/sale-events/index.ts';
import { DomainError } from '../../shared/errors.ts';
import { accountPage, cartPage, catalogPage, guestOrderPage, notFoundPage, orderPage, productPage, waitingRoomPage, type SaleView } from './pages.ts';

const ASSETS = path.join(import.meta.dirname, 'assets');
/** By name: a Map, as the name comes from the URL (an object would also "have" `constructor`, `__proto__`, …). */
const assets = new Map([
  ['storefront.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(path.join(ASSETS, 'storefront.js')) }],
  ['storefront.css', { type: 'text/css; charset=utf-8', body: readFileSync(path.join(ASSETS, 'storefront.css')) }],
]);

export interface StorefrontDeps {
  catalog: CatalogService;
  /** Sale events (all), for countdowns and the waiting-room links. */
  listSales: () => Promise<SaleEvent[]>;
  /**
   * How long the list of sales is reused per instance.
   * @defaultValue 2000
   */
  salesCacheMs?: number;
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

  return async (app) => {
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
      },
      async (request, reply) => {
        const q = request.query.q?.trim() || undefined;
        const category = request.query.category || undefined;
        const [page, categories, live] = await Promise.all([
          deps.catalog.listProducts({ q, category, cursor: request.query.cursor, limit: 24 } as Parameters<CatalogService['listProducts']>[0]).catch((error: unknown) => {
            if (error instanceof DomainError && error.kind !== 'unavailable') return { items: [], nextCursor: null };
            throw error;
          }),
          deps.catalog.listCategories(),
          currentSales(),
        ]);
        return send(reply, catalogPage({ products: page.items, categories, q, category, sales: live.slice(0, 3), nextCursor: page.nextCursor }));
      },
    );

    app.get('/products/:id', { schema: { ...hide, params: Type.Object({ id: Id }, { additionalProperties: false }), querystring: pageQuery({}) } }, async (request, reply) => {
      try {
        const [product, categories, live] = await Promise.all([deps.catalog.getProduct(request.params.id), deps.catalog.listCategories(), currentSales()]);
        const sale = live.find((s) => s.productIds.includes(product.id));
        return send(reply, productPage({ product, category: categories.find((c) => c.id === product.categoryId), sale }));
      } catch (error) {
        return notFound(error, 'This product does not exist.', reply);
      }
    });

    app.get(
      '/sale/:id/queue',
      { schema: { ...hide, params: Type.Object({ id: Id }, { additionalProperties: false }), querystring: pageQuery({ product: Type.Optional(Id) }) } },
      async (request, reply) => {
        const sale = (await currentSales()).find((s) => s.id === request.params.id && s.queued);
        if (!sale) return send(reply, notFoundPage('This sale has no waiting room (or it has ended).'), 404);
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

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { FieldChanges } from '../../shared/field-changes.ts';
import { noteAdminAction } from '../audit/index.ts';
import { createReplyBytes } from '../../platform/http/reply-bytes.ts';
import { IdParams, errorResponses } from '../../platform/http/schemas.ts';
import { normalizeSearchTerm } from '../../platform/http/search-term.ts';
import { IdempotencyKeyRequiredError } from '../../shared/errors.ts';
import {
  AdminIdempotencyHeaders,
  AdminListProductsQuery,
  AdminProduct,
  AdminProductPage,
  Category,
  CategoryList,
  CreateCategoryBody,
  CreateProductBody,
  ListProductsQuery,
  PopularQuery,
  Product,
  ProductPage,
  StockAdjustmentBody,
  StockBody,
  UpdateCategoryBody,
  UpdateProductBody,
} from './catalog.schemas.ts';
import type { CatalogService } from './catalog.service.ts';

/** The product a write answers, its before → after values noted for the admin audit trail. */
function audited(request: FastifyRequest, result: { product: AdminProduct; change: FieldChanges }): AdminProduct {
  noteAdminAction(request, { change: result.change });
  return result.product;
}

export const catalogSchemas = [Product, AdminProduct, Category];

/** Public catalog reads: GET /products, /products/popular, /products/:id, /categories. */
export function catalogRoutes(catalog: CatalogService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['catalog'];
    // A page or product answered again unchanged is the same object: its JSON is reused.
    const pageBytes = createReplyBytes();
    const productBytes = createReplyBytes();
    const listDescription =
      'Active products, by id, keyset-paged: pass `nextCursor` back as `cursor` (it names the last product shown, whatever the filters). Prices count the minor unit of their currency (a cent, a whole yen, a thousandth of a dinar): while active products are priced in more than one currency, `minPrice` or `maxPrice` without `currency` is 422 CURRENCY_REQUIRED, `details.currencies` listing those in use; in a shop priced in one currency a price range needs none.';
    app.get('/products', { schema: { tags, description: listDescription, querystring: ListProductsQuery, response: { 200: ProductPage, ...errorResponses(400, 422, 503) } }, preValidation: normalizeSearchTerm('q') }, async (request, reply) =>
      pageBytes(reply, await catalog.listProducts(request.query)),
    );
    app.get('/products/popular', { schema: { tags, querystring: PopularQuery, response: { 200: Type.Object({ items: Type.Array(Type.Ref('Product')) }) } } }, async (request) => ({
      items: await catalog.listPopular(request.query.limit),
    }));
    app.get('/products/:id', { schema: { tags, params: IdParams, response: { 200: Type.Ref('Product'), ...errorResponses(400, 404) } } }, async (request, reply) =>
      productBytes(reply, await catalog.getProduct(request.params.id)),
    );
    app.get('/categories', { schema: { tags, response: { 200: CategoryList } } }, async () => ({ items: await catalog.listCategories() }));
  };
}

/** Admin catalog writes; the caller mounts them behind the admin token. */
export function catalogAdminRoutes(catalog: CatalogService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: catalog'];
    const security = [{ adminToken: [] }];
    const common = { tags, security };
    app.post(
      '/products',
      {
        schema: {
          ...common,
          description:
            'Creates a product. The same create sent again (a lost reply; every field as first sent, `available` included) answers the product it made, with `Idempotent-Replayed: true` and its stock as it is now; another product, or a create asking for another initial stock, under the SKU (whatever its case) is 409 `SKU_TAKEN` with the `productId` that holds it.',
          body: CreateProductBody,
          response: { 201: Type.Ref('AdminProduct'), ...errorResponses(400, 401, 409, 422) },
        },
      },
      async (request, reply) => {
        const { product, replayed, change } = await catalog.createProduct(request.body);
        // A create sent again made nothing now: its change is the first request's record.
        noteAdminAction(request, { productId: product.id, ...(change && { change }) });
        if (replayed) reply.header('idempotent-replayed', 'true');
        return reply.code(201).send(product);
      },
    );
    app.get(
      '/products',
      {
        schema: {
          ...common,
          description:
            'Lists every product whatever its status (drafts and archived ones too; `status` narrows it), newest first, as the admin detail shows them (`heldByUnpaidOrders` included). `q` matches within the SKU or the name, whatever the case. Keyset-paged: pass `nextCursor` back as `cursor`; a cursor no list of this API returned is 400 `INVALID_CURSOR` (cursors are opaque positions, not signed: one another list returned reads as a position in this one).',
          querystring: AdminListProductsQuery,
          response: { 200: AdminProductPage, ...errorResponses(400, 401) },
        },
        preValidation: normalizeSearchTerm('q'),
      },
      (request) => catalog.listProductsForAdmin(request.query),
    );
    app.get('/products/:id', { schema: { ...common, params: IdParams, response: { 200: Type.Ref('AdminProduct'), ...errorResponses(401, 404) } } }, (request) =>
      catalog.getProductForAdmin(request.params.id),
    );
    // Each write's before → after values go to the admin audit trail (`noteAdminAction`).
    app.patch('/products/:id', { schema: { ...common, params: IdParams, body: UpdateProductBody, response: { 200: Type.Ref('AdminProduct'), ...errorResponses(400, 401, 404, 422) } } }, async (request) =>
      audited(request, await catalog.updateProduct(request.params.id, request.body)),
    );
    app.post('/products/:id/archive', { schema: { ...common, params: IdParams, response: { 200: Type.Ref('AdminProduct'), ...errorResponses(401, 404) } } }, async (request) =>
      audited(request, await catalog.archiveProduct(request.params.id)),
    );
    app.put(
      '/products/:id/stock',
      {
        schema: {
          ...common,
          description:
            'Sets the units on sale: units sold between reading the stock and setting it go back on sale (POST /stock/adjustments does not). Units held by unpaid orders (the product\'s `heldByUnpaidOrders`) are not in the count: when such an order expires or is cancelled, or a paid one is refunded, its units come back on top of the count set. From a count taken in the warehouse, send it less `heldByUnpaidOrders`.',
          params: IdParams,
          body: StockBody,
          response: { 200: Type.Ref('AdminProduct'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) =>
        audited(request, await catalog.setStock(request.params.id, request.body.available)),
    );
    app.post(
      '/products/:id/stock/adjustments',
      {
        schema: {
          ...common,
          description:
            'Adds `delta` units (negative: removes them) to the stock as it is when the adjustment runs, so units sold meanwhile stay sold (a read followed by PUT /stock puts them back on sale). Requires an `Idempotency-Key` header: a retry with the same key is applied once and answers the product with `Idempotent-Replayed: true` (with another `delta`, 422 `IDEMPOTENCY_KEY_REUSED`); the key is kept with the product, in PostgreSQL, in the transaction that applies the adjustment. A result outside 0–1,000,000,000 is 409 `STOCK_OUT_OF_RANGE`, nothing changed.',
          params: IdParams,
          headers: AdminIdempotencyHeaders,
          body: StockAdjustmentBody,
          response: { 200: Type.Ref('AdminProduct'), ...errorResponses(400, 401, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        const key = request.headers['idempotency-key'];
        if (key === undefined) throw new IdempotencyKeyRequiredError();
        const { product, replayed, change } = await catalog.adjustStock(request.params.id, key, request.body.delta);
        // A replay changed nothing now: its change is the first request's record.
        if (replayed) reply.header('idempotent-replayed', 'true');
        else noteAdminAction(request, { change });
        return product;
      },
    );

    app.get('/categories', { schema: { ...common, response: { 200: CategoryList } } }, async () => ({ items: await catalog.listCategories() }));
    app.get('/categories/:id', { schema: { ...common, params: IdParams, response: { 200: Type.Ref('Category'), ...errorResponses(401, 404) } } }, (request) =>
      catalog.getCategory(request.params.id),
    );
    app.post('/categories', { schema: { ...common, body: CreateCategoryBody, response: { 201: Type.Ref('Category'), ...errorResponses(400, 401, 409, 422) } } }, async (request, reply) => {
      const { category, change } = await catalog.createCategory(request.body);
      // Filed under the category it made, as its later changes are (their `:id`).
      noteAdminAction(request, { target: { id: category.id }, change });
      return reply.code(201).send(category);
    });
    app.patch('/categories/:id', { schema: { ...common, params: IdParams, body: UpdateCategoryBody, response: { 200: Type.Ref('Category'), ...errorResponses(400, 401, 404, 409, 422) } } }, async (request) => {
      const { category, change } = await catalog.updateCategory(request.params.id, request.body);
      noteAdminAction(request, { change });
      return category;
    });
    app.delete('/categories/:id', { schema: { ...common, params: IdParams, response: { 204: Type.Null(), ...errorResponses(401, 404, 409) } } }, async (request, reply) => {
      const { change } = await catalog.deleteCategory(request.params.id);
      noteAdminAction(request, { change });
      return reply.code(204).send(null);
    });
  };
}

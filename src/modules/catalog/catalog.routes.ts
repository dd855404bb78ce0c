import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createReplyBytes } from '../../web/http/reply-bytes.ts';
import { IdParams, errorResponses } from '../../web/http/schemas.ts';
import {
  Category,
  CategoryList,
  CreateCategoryBody,
  CreateProductBody,
  ListProductsQuery,
  PopularQuery,
  Product,
  ProductPage,
  StockBody,
  UpdateCategoryBody,
  UpdateProductBody,
} from './catalog.schemas.ts';
import type { CatalogService } from './catalog.service.ts';

export const catalogSchemas = [Product, Category];

/** Public catalog reads: GET /products, /products/popular, /products/:id, /categories. */
export function catalogRoutes(catalog: CatalogService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['catalog'];
    // A page or product answered again unchanged is the same object: its JSON is reused.
    const pageBytes = createReplyBytes();
    const productBytes = createReplyBytes();
    app.get('/products', { schema: { tags, querystring: ListProductsQuery, response: { 200: ProductPage, ...errorResponses(400, 422, 503) } } }, async (request, reply) =>
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
    app.post('/products', { schema: { ...common, body: CreateProductBody, response: { 201: Type.Ref('Product'), ...errorResponses(400, 401, 409, 422) } } }, async (request, reply) =>
      reply.code(201).send(await catalog.createProduct(request.body)),
    );
    app.get('/products/:id', { schema: { ...common, params: IdParams, response: { 200: Type.Ref('Product'), ...errorResponses(401, 404) } } }, (request) =>
      catalog.getProductForAdmin(request.params.id),
    );
    app.patch('/products/:id', { schema: { ...common, params: IdParams, body: UpdateProductBody, response: { 200: Type.Ref('Product'), ...errorResponses(400, 401, 404, 422) } } }, (request) =>
      catalog.updateProduct(request.params.id, request.body),
    );
    app.post('/products/:id/archive', { schema: { ...common, params: IdParams, response: { 200: Type.Ref('Product'), ...errorResponses(401, 404) } } }, (request) =>
      catalog.archiveProduct(request.params.id),
    );
    app.put('/products/:id/stock', { schema: { ...common, params: IdParams, body: StockBody, response: { 200: Type.Ref('Product'), ...errorResponses(400, 401, 404) } } }, (request) =>
      catalog.setStock(request.params.id, request.body.available),
    );

    app.get('/categories', { schema: { ...common, response: { 200: CategoryList } } }, async () => ({ items: await catalog.listCategories() }));
    app.get('/categories/:id', { schema: { ...common, params: IdParams, response: { 200: Type.Ref('Category'), ...errorResponses(401, 404) } } }, (request) =>
      catalog.getCategory(request.params.id),
    );
    app.post('/categories', { schema: { ...common, body: CreateCategoryBody, response: { 201: Type.Ref('Category'), ...errorResponses(400, 401, 409, 422) } } }, async (request, reply) =>
      reply.code(201).send(await catalog.createCategory(request.body)),
    );
    app.patch('/categories/:id', { schema: { ...common, params: IdParams, body: UpdateCategoryBody, response: { 200: Type.Ref('Category'), ...errorResponses(400, 401, 404, 409, 422) } } }, (request) =>
      catalog.updateCategory(request.params.id, request.body),
    );
    app.delete('/categories/:id', { schema: { ...common, params: IdParams, response: { 204: Type.Null(), ...errorResponses(401, 404, 409) } } }, async (request, reply) => {
      await catalog.deleteCategory(request.params.id);
      return reply.code(204).send(null);
    });
  };
}

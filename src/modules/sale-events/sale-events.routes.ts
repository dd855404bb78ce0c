import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { IdParams, errorResponses } from '../../web/http/schemas.ts';
import { CreateSaleEventBody, SaleEvent, SaleEventList, SaleEventListQuery, UpdateSaleEventBody } from './sale-events.schemas.ts';
import type { SaleEventService } from './sale-events.service.ts';

export const saleEventSchemas = [SaleEvent];

export function saleEventAdminRoutes(saleEvents: SaleEventService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const common = { tags: ['admin: sale events'], security: [{ adminToken: [] }] };
    app.get('/sale-events', { schema: { ...common, querystring: SaleEventListQuery, response: { 200: SaleEventList, ...errorResponses(400, 401) } } }, async (request) => ({
      items: await saleEvents.list({ activeAt: request.query.activeAt ? new Date(request.query.activeAt) : undefined }),
    }));
    app.get('/sale-events/:id', { schema: { ...common, params: IdParams, response: { 200: Type.Ref('SaleEvent'), ...errorResponses(401, 404) } } }, (request) =>
      saleEvents.get(request.params.id),
    );
    app.post('/sale-events', { schema: { ...common, body: CreateSaleEventBody, response: { 201: Type.Ref('SaleEvent'), ...errorResponses(400, 401, 422) } } }, async (request, reply) =>
      reply.code(201).send(await saleEvents.create(request.body)),
    );
    app.patch('/sale-events/:id', { schema: { ...common, params: IdParams, body: UpdateSaleEventBody, response: { 200: Type.Ref('SaleEvent'), ...errorResponses(400, 401, 404, 422) } } }, (request) =>
      saleEvents.update(request.params.id, request.body),
    );
    app.delete('/sale-events/:id', { schema: { ...common, params: IdParams, response: { 204: Type.Null(), ...errorResponses(401, 404) } } }, async (request, reply) => {
      await saleEvents.remove(request.params.id);
      return reply.code(204).send(null);
    });
  };
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { IdParams, errorResponses } from '../../platform/http/schemas.ts';
import { CreateSaleEventBody, SaleEvent, SaleEventList, SaleEventListQuery, UpdateSaleEventBody } from './sale-events.schemas.ts';
import { noteAdminAction } from '../audit/index.ts';
import type { SaleEventService } from './sale-events.service.ts';

export const saleEventSchemas = [SaleEvent];

/** What else an admin change of a sale event sets going, composed by the web role. */
export interface SaleEventHooks {
  /** After a change of the event's waiting room is stored (its pause held at once in the room's shared state). */
  waitingRoomChanged?: (saleEvent: SaleEvent) => Promise<void>;
}

export function saleEventAdminRoutes(saleEvents: SaleEventService, hooks: SaleEventHooks = {}): FastifyPluginAsyncTypebox {
  return async (app) => {
    const common = { tags: ['admin: sale events'], security: [{ adminToken: [] }] };
    app.get('/sale-events', { schema: { ...common, querystring: SaleEventListQuery, response: { 200: SaleEventList, ...errorResponses(400, 401) } } }, (request) =>
      saleEvents.list({ activeAt: request.query.activeAt ? new Date(request.query.activeAt) : undefined, cursor: request.query.cursor, limit: request.query.limit }),
    );
    app.get('/sale-events/:id', { schema: { ...common, params: IdParams, response: { 200: Type.Ref('SaleEvent'), ...errorResponses(401, 404) } } }, (request) =>
      saleEvents.get(request.params.id),
    );
    app.post('/sale-events', { schema: { ...common, body: CreateSaleEventBody, response: { 201: Type.Ref('SaleEvent'), ...errorResponses(400, 401, 422) } } }, async (request, reply) => {
      const { saleEvent, change } = await saleEvents.create(request.body);
      // Filed under the new event's id, as its later changes are (their `:id`).
      noteAdminAction(request, { target: { id: saleEvent.id }, change });
      return reply.code(201).send(saleEvent);
    });
    app.patch('/sale-events/:id', { schema: { ...common, params: IdParams, body: UpdateSaleEventBody, response: { 200: Type.Ref('SaleEvent'), ...errorResponses(400, 401, 404, 422) } } }, async (request) => {
      const { saleEvent, change } = await saleEvents.update(request.params.id, request.body);
      if (request.body.waitingRoom !== undefined) await hooks.waitingRoomChanged?.(saleEvent);
      noteAdminAction(request, { change });
      return saleEvent;
    });
    app.delete('/sale-events/:id', { schema: { ...common, params: IdParams, response: { 204: Type.Null(), ...errorResponses(401, 404, 409) } } }, async (request, reply) => {
      const { change } = await saleEvents.remove(request.params.id);
      noteAdminAction(request, { change });
      return reply.code(204).send(null);
    });
  };
}

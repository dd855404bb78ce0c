import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses } from '../../web/http/schemas.ts';
import { requireCustomer } from '../customers/index.ts';
import { CartItemBody, CartItemParams } from './cart.schemas.ts';
import type { CartService } from './cart.service.ts';

/** The signed-in customer's cart: GET /cart, PUT/DELETE /cart/items/:productId, DELETE /cart/items. */
export function cartRoutes(cart: CartService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['cart'];
    const cartReply = { 200: Type.Ref('Cart'), ...errorResponses(400, 401) };
    app.get('/cart', { schema: { tags, response: cartReply } }, (request) => cart.view(requireCustomer(request)));
    app.put(
      '/cart/items/:productId',
      { schema: { tags, params: CartItemParams, body: CartItemBody, response: { ...cartReply, ...errorResponses(404, 409, 422) } } },
      (request) => cart.setItem(requireCustomer(request), request.params.productId, request.body.quantity),
    );
    app.delete('/cart/items/:productId', { schema: { tags, params: CartItemParams, response: cartReply } }, (request) =>
      cart.removeItem(requireCustomer(request), request.params.productId),
    );
    app.delete('/cart/items', { schema: { tags, response: { 204: Type.Null(), ...errorResponses(401) } } }, async (request, reply) => {
      await cart.clear(requireCustomer(request));
      return reply.code(204).send(null);
    });
  };
}

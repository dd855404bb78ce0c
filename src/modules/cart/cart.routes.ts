import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { errorResponses } from '../../platform/http/schemas.ts';
import { readCustomer } from '../customers/index.ts';
import { AddCartItemBody, CartItemBody, CartItemParams, type Cart } from './cart.schemas.ts';
import type { CartService } from './cart.service.ts';
import type { CartOwner } from './cart.store.ts';
import type { GuestCookies } from './guest-cookie.ts';

/**
 * The visitor's cart: GET /cart, POST /cart/items (adds to a line), PUT/DELETE /cart/items/:productId, DELETE /cart/items. A signed-in
 * customer's cart, or, for an anonymous visitor, a guest cart bound to a signed cookie (merged into
 * the customer's cart at sign-in).
 */
export function cartRoutes(cart: CartService, guests: GuestCookies): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['cart'];
    const cartReply = { 200: Type.Ref('Cart'), ...errorResponses(400) };
    const empty = { items: [], totalCents: 0, currency: null };
    /**
     * A change of the signed-in customer's cart, or of the guest's (a new guest without a cookie). The guest cookie is
     * set (renewed) only once the change was made: a refused one (404, 409, 422) leaves no cookie, as it leaves no cart.
     */
    async function change(request: FastifyRequest, reply: FastifyReply, write: (owner: CartOwner) => Promise<Cart>): Promise<Cart> {
      const customer = readCustomer(request);
      if (customer !== undefined) return write(customer);
      const guest = guests.idFor(request);
      const changed = await write(guest);
      guests.renew(request, reply, guest);
      return changed;
    }
    app.get('/cart', { schema: { tags, response: cartReply } }, async (request) => {
      const owner = readCustomer(request) ?? guests.read(request);
      return owner === undefined ? empty : cart.view(owner);
    });
    app.put(
      '/cart/items/:productId',
      { schema: { tags, params: CartItemParams, body: CartItemBody, response: { ...cartReply, ...errorResponses(404, 409, 422) } } },
      (request, reply) => change(request, reply, (owner) => cart.setItem(owner, request.params.productId, request.body.quantity)),
    );
    // Adds to the line in one step (PUT sets it): a client that adds needs no read of the line, and two adds at once both count.
    app.post(
      '/cart/items',
      {
        schema: {
          tags,
          description:
            'Adds `quantity` units to the line (or adds the product), checking the sum as PUT checks a quantity: past the stock 409 `OUT_OF_STOCK`, past `maxPerCustomer` 409 `PURCHASE_LIMIT_EXCEEDED`, past 1,000 units 422 `LINE_QUANTITY_TOO_LARGE` (details `{ productId, quantity, maxQuantity, held }`), the line kept. Not idempotent: resent after a lost reply it adds again (no `Idempotency-Key`); a client that retries should set the total with PUT.',
          body: AddCartItemBody,
          response: { ...cartReply, ...errorResponses(404, 409, 422) },
        },
      },
      (request, reply) => change(request, reply, (owner) => cart.addItem(owner, request.body.productId, request.body.quantity)),
    );
    app.delete('/cart/items/:productId', { schema: { tags, params: CartItemParams, response: cartReply } }, async (request, reply) => {
      // A change of a guest cart renews its cookie, as it renews the cart; no cookie, no cart to change.
      if (readCustomer(request) === undefined && guests.read(request) === undefined) return empty;
      return change(request, reply, (owner) => cart.removeItem(owner, request.params.productId));
    });
    app.delete('/cart/items', { schema: { tags, response: { 204: Type.Null(), ...errorResponses(400) } } }, async (request, reply) => {
      const owner = readCustomer(request) ?? guests.read(request);
      if (owner !== undefined) await cart.clear(owner);
      return reply.code(204).send(null);
    });
  };
}

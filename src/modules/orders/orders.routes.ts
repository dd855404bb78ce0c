import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { IdempotencyStore } from '../../platform/idempotency/idempotency-store.ts';
import { createIdCursor, InvalidCursorError } from '../../shared/cursor.ts';
import { answerOnly, hadNoEffect, IdempotencyKeyReusedError, isRefusal, noEffect } from '../../shared/errors.ts';
import { fingerprintOf, idempotent, type IdempotentResult } from '../../platform/http/idempotent.ts';
import { IdParams, errorResponses } from '../../platform/http/schemas.ts';
import { CartBusyError, CartOrderInProgressError, type CartLine, type CartOwner, type CartService, type GuestCookies, type OrderingClaim } from '../cart/index.ts';
import type { GuestOrderLinks } from './guest-links.ts';
import { noteAdminAction } from '../audit/index.ts';
import { readCustomer, requireCustomer } from '../customers/index.ts';
import {
  EmptyCartError,
  GuestOrderLinkNotFoundError,
  IdempotencyKeyRequiredError,
  MixedCurrenciesError,
  OrderNotFoundError,
  ProductUnavailableError,
  UnknownProductError,
} from './orders.errors.ts';
import { AdminOrderDetail, AdminOrdersQuery, CreateOrderBody, GuestOrderParams, IdempotencyHeaders, ListOrdersQuery, OrderPage } from './orders.schemas.ts';
import type { Buyer, OrderService } from './orders.service.ts';

/** Orders are listed newest first: the cursor names the oldest order of the page. */
const cursor = createIdCursor('before', 1);

function decodeCursor(text: string): number {
  const before = cursor.decode(text);
  if (before === undefined) throw new InvalidCursorError();
  return before;
}

/**
 * A rule on who may buy what right now (the waiting room: a queued sale's products need a pass).
 * `check` throws the refusal; it runs before the idempotency record, so a refused attempt can be
 * retried with the same key once the buyer holds a pass.
 */
export interface CheckoutAdmission {
  /** False when no rule applies to anything now (the cart is then not read for it). */
  active(): boolean;
  /**
   * Throws the refusal; otherwise what the order spends to be placed (undefined: nothing). `orderRef` names the order
   * (its idempotency scope and key), as for `AdmissionSpend.spend`: a retry of an order its admission bought goes on.
   */
  check(request: FastifyRequest, productIds: readonly number[], orderRef: string): Promise<AdmissionSpend | undefined>;
}

/** What an admitted order uses up (a waiting-room pass buys one order). */
export interface AdmissionSpend {
  /**
   * Runs `place` with the admission spent on the order `orderRef` names (its idempotency scope and
   * key): throws the refusal if it is spent on another order, gives it back if `place` throws a refusal. `placed`
   * answers whether an order exists under that key: a retry refused gives back the admission an earlier attempt
   * whose outcome was unknown kept only if the order was never placed.
   */
  spend<T>(orderRef: string, place: () => Promise<T>, placed?: () => Promise<boolean>): Promise<T>;
  /** The sale events whose passes `spend` spends on the order (the reply's `passesSpent`). */
  saleEventIds: readonly number[];
}

export interface OrderRoutesDeps {
  orders: OrderService;
  cart: CartService;
  idempotency: IdempotencyStore;
  admission?: CheckoutAdmission;
  /**
   * Guest checkout: the guest cart's cookie, the record of an email if an earlier guest order created it (read, never
   * created here: the statement placing a guest's order writes it, so a refused checkout writes none), the order links.
   */
  guests?: { cookies: GuestCookies; existingCustomerIdFor(email: string): Promise<number | undefined>; links: GuestOrderLinks };
}

/** The signed-in customer's orders: POST/GET /orders, GET /orders/:id, POST /orders/:id/cancel. */
export function orderRoutes(deps: OrderRoutesDeps): FastifyPluginAsyncTypebox {
  const { orders, cart } = deps;
  return async (app) => {
    const tags = ['orders'];
    app.post(
      '/orders',
      {
        // Failed attempts (bad input, unknown products, a missing pass) count against the checkout limiter; orders
        // placed do not, nor refusals by the shop's state (409: sold out, a purchase cap), which a whole carrier's
        // guests behind one address meet together during a sale.
        config: { rateLimit: { limiters: ['checkout'], notFailures: [409] } },
        schema: {
          tags,
          description:
            'Places an order from `items`, or from the cart when `items` is absent (send `{}`). With `expectedTotalCents` and `expectedCurrency` (what the buyer was shown), an order whose prices make another total is refused 409 `PRICE_CHANGED`, its `details` carrying the current prices, nothing ordered. Requires an `Idempotency-Key` header: a retry with the same key and body replays the first response with `Idempotent-Replayed: true`. Not signed in: a guest checkout with `email` (and the guest cart); the reply carries `accessToken` for /guest-orders/:token. A live queued sale\'s products need its waiting-room pass (`Waiting-Room-Pass`); from its line\'s opening, a day before the start, until the start they cannot be ordered (403 `SALE_NOT_STARTED`, `details.startsAt`); a pass buys one order (403 `PASS_REQUIRED`, `PASS_INVALID`, `PASS_EXPIRED`, `PASS_USED`; `PASS_REPLACED` for the pass of a ticket merged into the shopper\'s other one on signing in).',
          headers: IdempotencyHeaders,
          body: CreateOrderBody,
          response: { 201: Type.Ref('Order'), ...errorResponses(400, 401, 403, 409, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        // Signed in: the account's order. Otherwise a guest checkout with an email (and the guest cart); a session cookie
        // that could not be read is the outage (readCustomer), never a guest checkout of a signed-in buyer.
        const guestEmail = readCustomer(request) === undefined && deps.guests ? request.body.email?.toLowerCase() : undefined;
        if (guestEmail === undefined) requireCustomer(request);
        const cartOwner: CartOwner | undefined = request.customerId ?? deps.guests?.cookies.read(request);
        const key = request.headers['idempotency-key'];
        if (key === undefined) throw new IdempotencyKeyRequiredError();
        const explicit = request.body.items;
        // The cart is read once: the lines the admission rule checked are the lines ordered (a second read
        // could see a product added in between, bought without its pass).
        let cartRead: ReturnType<CartService['lines']> | undefined;
        const cartLines = () => (cartRead ??= cartOwner === undefined ? Promise.resolve([]) : cart.lines(cartOwner));
        const { expectedTotalCents, expectedCurrency } = request.body;
        const expected = expectedTotalCents === undefined || expectedCurrency === undefined ? undefined : { totalCents: expectedTotalCents, currency: expectedCurrency };
        // The total shown is part of the request (the same key with another one is another request); without it, the
        // fingerprint is the one it always was, so a retry across an upgrade is still the same request.
        const ordered = explicit ? explicit.map((line) => [line.productId, line.quantity]) : 'cart';
        const fingerprint = fingerprintOf(expected ? [ordered, expected.totalCents, expected.currency] : ordered);
        const knownRefusal = explicit ? () => orders.refuseFromMemory(explicit) : undefined;
        const scope = guestEmail === undefined ? `customer:${request.customerId}` : `guest:${guestEmail}`;
        const admission = deps.admission?.active() ? await deps.admission.check(request, (explicit ?? (await cartLines())).map((line) => line.productId), `${scope} ${key}`) : undefined;
        /**
         * After a cart's order failed under its claim. A refusal, or a failure before the order's statement, placed nothing:
         * the claim is given back. Otherwise the order may have committed (its reply lost at COMMIT, a failover): if
         * PostgreSQL has it under this key, its lines leave the cart before the claim is given back. If PostgreSQL cannot
         * answer, or answers no (a COMMIT on the lost connection may still land), the claim is kept and lapses
         * (30 s, past the statement timeout), so no other tab orders the cart meanwhile; the buyer's retry under this key
         * then finds the order, or orders the cart. The failure itself is answered as before.
         */
        const settleCart = async (failure: unknown, buyer: Buyer, owner: CartOwner, lines: readonly CartLine[], claim: OrderingClaim): Promise<void> => {
          if (isRefusal(failure) || hadNoEffect(failure)) return;
          try {
            if ((await orders.placedUnder(buyer, key, lines)) === undefined) return claim.keep();
            await cart.removeOrdered(owner, lines);
          } catch (error) {
            // An order of other lines under this key is another request's: this one placed nothing.
            if (error instanceof IdempotencyKeyReusedError) return;
            claim.keep();
            request.log.warn({ err: error }, 'could not learn whether a failed cart order was placed, or empty its cart: its claim lapses instead of being given back');
          }
        };
        /**
         * Orders `lines` (the cart's as read under its `claim`, or the request's `items`), taking ordered cart lines out.
         * The claim is kept (it lapses, see `whileOrdering`) while the cart may still hold lines that were ordered.
         */
        const orderLines = async (uncertain: boolean, beforePlacing: (error: unknown) => never, lines: readonly CartLine[], claim?: OrderingClaim): Promise<IdempotentResult> => {
          if (lines.length === 0) {
            // Nothing to order: EMPTY_CART, unless this retries a cart order whose record was lost (Redis restarted, a
            // lease expired after a crash): the first attempt emptied the cart it ordered, so its order under this key
            // is the answer. A guest's order is under the record written for it: looked up here, never created (no order
            // is placed, so no record is written).
            const existingId = guestEmail === undefined ? request.customerId! : await deps.guests!.existingCustomerIdFor(guestEmail).catch(beforePlacing);
            const placed = existingId === undefined ? undefined : await orders.replayCartOrder(existingId, key);
            if (placed === undefined) throw new EmptyCartError();
            const body = guestEmail === undefined ? placed : { ...placed, accessToken: deps.guests!.links.sign(placed.id) };
            return { status: 201, body, replayed: true };
          }
          // A guest's record is written with their order, in its statement (none for a refused checkout).
          const buyer: Buyer = guestEmail === undefined ? request.customerId! : { guestEmail };
          const place = () =>
            // `uncertain`: an earlier attempt under this key failed with an unknown outcome; a refusal of its retry
            // replays that attempt's order if PostgreSQL has it (only an order of these lines: a cart's fingerprint does
            // not hold its lines, and another one under the key is 422 IDEMPOTENCY_KEY_REUSED).
            orders.place(buyer, key, lines, { uncertain, expected }).catch(async (error: unknown) => {
              // PostgreSQL names the first line it cannot take; a cart's buyer is told every line the cart shows as not
              // purchasable (no longer for sale, or repriced into another currency), to remove them in one go. Read only
              // on such a refusal, so an order that goes through pays nothing for it.
              const lineRefused = error instanceof ProductUnavailableError || error instanceof UnknownProductError || error instanceof MixedCurrenciesError;
              if (explicit || !lineRefused) throw error;
              const unavailable = await cart.unavailable(lines);
              throw unavailable.length === 0 ? error : new ProductUnavailableError(unavailable[0]!, unavailable);
            });
          const placed = async () => (await orders.placedUnder(buyer, key)) !== undefined;
          const { order, replayed } = await (admission ? admission.spend(`${scope} ${key}`, place, placed) : place()).catch(async (error: unknown) => {
            if (claim && cartOwner !== undefined) await settleCart(error, buyer, cartOwner, lines, claim);
            throw error;
          });
          // Only what was ordered leaves the cart: a line another tab added or changed while the order was placed stays.
          // Also on a replay: the handler replays only from PostgreSQL (the Redis record's replay never gets here), an
          // order whose attempt did not answer its client (its reply lost, a failure after the commit), which may have
          // ended before it emptied the cart. Its lines are these (a replay holds exactly the lines read), and a line
          // already removed is not removed twice (each leaves only while it holds the ordered quantity).
          // Lines left in the cart (Redis failed) keep its claim: another tab would order them again.
          if (!explicit && cartOwner !== undefined) {
            await cart.removeOrdered(cartOwner, lines).catch((error: unknown) => {
              claim?.keep();
              request.log.warn({ err: error }, 'could not empty the ordered cart: its claim lapses instead of being given back');
            });
          }
          const spent = admission ? { passesSpent: [...admission.saleEventIds] } : {};
          const body = guestEmail === undefined ? { ...order, ...spent } : { ...order, ...spent, accessToken: deps.guests!.links.sign(order.id) };
          return { status: 201, body, replayed };
        };
        return idempotent(deps.idempotency, request, reply, { scope, key, fingerprint, knownRefusal, knownRefusalAnswered: orders.knownRefusalAnswered }, async ({ uncertain }) => {
          // A failure before `place` (the cart, the guest's record unreadable) placed no order: its key is not marked.
          const beforePlacing = (error: unknown): never => {
            throw noEffect(error);
          };
          if (explicit || cartOwner === undefined) return orderLines(uncertain, beforePlacing, explicit ?? []);
          // One order of a cart at a time, on any instance: another tab's checkout (its own key) that came first empties
          // the cart before this one reads it, so one cart is never ordered twice. Refused while it runs (CART_BUSY, the
          // key released: its retry sees the cart that order left).
          let claimed = false;
          return cart
            .whileOrdering(cartOwner, async (claim) => {
              claimed = true;
              // Read under the claim: the lines read for the admission may have been ordered meanwhile by another tab.
              const admitted = cartRead === undefined ? undefined : new Set((await cartRead).map((line) => line.productId));
              cartRead = undefined;
              const lines = await cartLines().catch(beforePlacing);
              // A product the waiting-room check did not see (added meanwhile) is never bought without it: checked again.
              if (admitted !== undefined && lines.some((line) => !admitted.has(line.productId))) throw answerOnly(noEffect(new CartBusyError()));
              return orderLines(uncertain, beforePlacing, lines, claim);
            })
            .catch((error: unknown) => {
              if (claimed) throw error;
              throw error instanceof CartOrderInProgressError ? answerOnly(noEffect(error)) : noEffect(error);
            });
        });
      },
    );
    const links = deps.guests?.links;
    if (links) {
      app.get(
        '/guest-orders/:token',
        { schema: { tags, description: 'A guest order, by the `accessToken` its checkout answered, for GUEST_ORDER_LINK_TTL_S (90 days) after it was placed.', params: GuestOrderParams, response: { 200: Type.Ref('Order'), ...errorResponses(400, 404) } } },
        async (request) => {
          const orderId = links.verify(request.params.token);
          if (orderId === undefined) throw new GuestOrderLinkNotFoundError();
          const order = await orders.getGuest(orderId).catch((error: unknown) => {
            throw error instanceof OrderNotFoundError ? new GuestOrderLinkNotFoundError() : error;
          });
          if (!links.readable(order.createdAt)) throw new GuestOrderLinkNotFoundError();
          return order;
        },
      );
      app.post(
        '/guest-orders/:token/cancel',
        {
          schema: {
            tags,
            description: 'Cancels a guest order waiting for payment (see POST /orders/:id/cancel), by the `accessToken` its checkout answered: its units, and the headroom under the purchase caps, come back at once.',
            params: GuestOrderParams,
            response: { 200: Type.Ref('Order'), ...errorResponses(400, 404, 409) },
          },
        },
        async (request) => {
          const orderId = links.verify(request.params.token);
          if (orderId === undefined) throw new GuestOrderLinkNotFoundError();
          return (await orders.cancel(orderId, undefined, { guest: true })).order;
        },
      );
    }
    app.get('/orders', { schema: { tags, querystring: ListOrdersQuery, response: { 200: OrderPage, ...errorResponses(400, 401, 503) } } }, async (request) => {
      const customerId = requireCustomer(request);
      const before = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor);
      const page = await orders.list(customerId, before, request.query.limit);
      return { items: page.items, nextCursor: page.hasMore ? cursor.encode(page.items[page.items.length - 1]!.id) : null };
    });
    app.get('/orders/:id', { schema: { tags, params: IdParams, response: { 200: Type.Ref('Order'), ...errorResponses(400, 401, 404, 503) } } }, (request) =>
      orders.get(requireCustomer(request), request.params.id),
    );
    app.post(
      '/orders/:id/cancel',
      { schema: { tags, description: 'Cancels an order waiting for payment, within ORDER_CANCEL_WINDOW_S of placing; the stock comes back once, however often this is called.', params: IdParams, response: { 200: Type.Ref('Order'), ...errorResponses(400, 401, 404, 409, 503) } } },
      async (request) => (await orders.cancel(request.params.id, requireCustomer(request))).order,
    );
  };
}

/** Admin order actions; the caller mounts them behind the admin token. */
export function orderAdminRoutes(orders: OrderService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/orders',
      {
        schema: {
          tags: ['admin'],
          description:
            "Every order, newest first: filter by `status`, `saleEventId` (orders with a line counted in that event when placed: of a product it listed then, while it was live, whatever their status now; products added to or removed from the event later change nothing), `from`/`to` (creation time), `email` (the buyer's, any case: an account's and a guest's orders with that address); filters combine. A period that is empty (`from` not before `to`) is 422 `INVALID_DATE_RANGE`, a sale event that does not exist 422 `UNKNOWN_SALE_EVENT`.",
          security: [{ adminToken: [] }],
          querystring: AdminOrdersQuery,
          response: { 200: OrderPage, ...errorResponses(400, 401, 422) },
        },
      },
      async (request) => {
        const { status, saleEventId, from, to, email, limit } = request.query;
        const before = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor);
        const page = await orders.listAll(
          { status, saleEventId, from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined, email },
          before,
          limit,
        );
        return { items: page.items, nextCursor: page.hasMore ? cursor.encode(page.items[page.items.length - 1]!.id) : null };
      },
    );
    app.get(
      '/orders/:id',
      {
        schema: {
          tags: ['admin'],
          description:
            "One order: its lines, status and every timestamp, the buyer's email (an account's or a guest's), and its payment (the one that paid it, else the latest attempt: provider, status, amount, intent id; never the client secret).",
          security: [{ adminToken: [] }],
          params: IdParams,
          response: { 200: AdminOrderDetail, ...errorResponses(400, 401, 404) },
        },
      },
      (request) => orders.getAdmin(request.params.id),
    );
    app.post(
      '/orders/:id/cancel',
      { schema: { tags: ['admin'], security: [{ adminToken: [] }], params: IdParams, response: { 200: Type.Ref('Order'), ...errorResponses(400, 401, 404, 409) } } },
      async (request) => {
        const { order, change } = await orders.cancel(request.params.id, undefined);
        if (change) noteAdminAction(request, { change });
        return order;
      },
    );
  };
}

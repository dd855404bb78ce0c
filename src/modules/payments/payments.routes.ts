import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { IdParams, errorResponses } from '../../platform/http/schemas.ts';
import { noteAdminAction } from '../audit/index.ts';
import { requireCustomer } from '../customers/index.ts';
import { AdminOrderDetail, GuestOrderParams } from '../orders/http.ts';
import { GuestOrderLinkNotFoundError, type GuestOrderLinks } from '../orders/index.ts';
import { ProviderCallRefusedError, type PaymentProvider } from './payment-provider.ts';
import { answerForRefusal, auditError, PaymentProviderUnavailableError, UnknownPaymentProviderError } from './payments.errors.ts';
import type { PaymentService } from './payments.service.ts';

const PayBody = Type.Object(
  { token: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Test provider only: "tok_ok" (approved) or "tok_declined"' })) },
  { additionalProperties: false },
);
const PayHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$', description: 'Optional: a retry with the same key is the same payment. Test provider: once it has paid the order, the retry answers 200 with the order and `Idempotent-Replayed: true`, as does one of two calls at the same time under the same key (another key, or none: 409 ORDER_ALREADY_PAID). Stripe (the payment completes by webhook): a call on a paid order whose capture is unfinished finishes it and answers 200 with the order, else 409 ORDER_ALREADY_PAID' })),
});
const WebhookParams = Type.Object({ provider: Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9_-]+$' }) }, { additionalProperties: false });
const WebhookReply = Type.Object({ received: Type.Boolean(), outcome: Type.String() });

/** A pay call's order; a retry of the call that paid it says so, as a replayed order placement does. */
function answered(reply: FastifyReply, paid: { order: unknown; replayed: boolean }): unknown {
  if (paid.replayed) reply.header('idempotent-replayed', 'true');
  return paid.order;
}

/** The buyer's pay call and the providers' webhooks. */
export function paymentRoutes(deps: { payments: PaymentService; provider: PaymentProvider; guestLinks?: GuestOrderLinks }): FastifyPluginAsyncTypebox {
  return async (app) => {
    const links = deps.guestLinks;
    if (links) {
      app.post(
        '/guest-orders/:token/pay',
        {
          config: { rateLimit: { limiters: ['checkout'], notFailures: [409] } },
          schema: {
            tags: ['orders'],
            description: 'Pays a guest order (see POST /orders/:id/pay), by the `accessToken` its checkout answered.',
            params: GuestOrderParams,
            headers: PayHeaders,
            body: PayBody,
            response: { 200: Type.Ref('Order'), ...errorResponses(400, 402, 403, 404, 409, 422, 429, 502, 503) },
          },
        },
        async (request, reply) => {
          const orderId = links.verify(request.params.token);
          if (orderId === undefined) throw new GuestOrderLinkNotFoundError();
          return answered(reply, await deps.payments.pay({ orderId, customerId: undefined, guest: true, token: request.body.token, idempotencyKey: request.headers['idempotency-key'] }));
        },
      );
    }
    app.post(
      '/orders/:id/pay',
      {
        config: { rateLimit: { limiters: ['checkout'], notFailures: [409] } },
        schema: {
          tags: ['orders'],
          description:
            'Pays an order waiting for payment. Test provider: `{ "token": "tok_ok" }` → 200 paid; `"tok_declined"` → 402 PAYMENT_DECLINED (the order keeps waiting). Stripe: `{}` → the order with `payment.clientSecret` for Stripe.js; the payment completes by webhook.',
          params: IdParams,
          headers: PayHeaders,
          body: PayBody,
          response: { 200: Type.Ref('Order'), ...errorResponses(400, 401, 402, 403, 404, 409, 422, 429, 502, 503) },
        },
      },
      async (request, reply) =>
        answered(reply, await deps.payments.pay({ orderId: request.params.id, customerId: requireCustomer(request), token: request.body.token, idempotencyKey: request.headers['idempotency-key'] })),
    );

    // Webhooks are verified over the exact bytes received: this context keeps bodies raw.
    const webhooks: FastifyPluginAsyncTypebox = async (hooks) => {
      hooks.removeAllContentTypeParsers();
      hooks.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
      hooks.post(
        '/payments/webhooks/:provider',
        {
          // Neither counted against any client limit nor shed under load: every buyer's events come from the
          // provider's few addresses (Stripe's dozen), at the rate the shop sells, and a throttled or shed event
          // is retried only minutes later — after the payment window, when the paid order has expired and its
          // payment is voided. The signature (an HMAC, microseconds) is checked before anything is read or written.
          config: { rateLimit: false, shed: false, anyContentType: true },
          schema: {
            tags: ['payments'],
            description: 'Provider webhooks (Stripe: `payment_intent.*`, `charge.refunded`). Verified by signature, deduplicated by event id, safe in any order.',
            params: WebhookParams,
            response: { 200: WebhookReply, ...errorResponses(400, 404, 502, 503) },
          },
        },
        async (request) => {
          if (request.params.provider !== deps.provider.name) throw new UnknownPaymentProviderError(request.params.provider);
          const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          const result = await deps.payments.receiveWebhook(raw, request.headers);
          return { received: true, outcome: result.outcome };
        },
      );
    };
    await app.register(webhooks);
  };
}

/** Admin payment actions; mounted behind the admin token. */
export function paymentAdminRoutes(payments: PaymentService): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Each route names its error statuses: only one that calls the payment provider may answer its 502 (PAYMENT_PROVIDER_ERROR).
    const schema = (description: string, errors: ReturnType<typeof errorResponses>) => ({
      tags: ['admin'],
      description,
      security: [{ adminToken: [] }],
      params: IdParams,
      response: { 200: Type.Ref('Order'), ...errors },
    });
    app.post('/orders/:id/refund', { schema: schema(
      'Refunds a paid order (voids the hold if not yet captured); its units go back on sale. 409 PAYMENT_PROBLEM_OPEN while the provider\'s refusal of its refund (payment `refund_failed`) is not marked resolved; once it is, the order is refunded without a provider call.',
      errorResponses(400, 401, 404, 409, 502, 503),
    ) }, async (request) => {
      try {
        const { order, change } = await payments.refund(request.params.id);
        if (change) noteAdminAction(request, { change });
        return order;
      } catch (error) {
        // The provider call failed after the order was marked as being refunded (the worker's give-back retry finishes
        // it): an action all the same, kept in the audit trail with the code of the very error answered (a refusal
        // mapped once, by answerForRefusal: 503, 502; never a 500).
        if (error instanceof PaymentProviderUnavailableError) {
          noteAdminAction(request, { error: auditError(error) });
          throw error;
        }
        if (error instanceof ProviderCallRefusedError) {
          const answer = answerForRefusal(request.params.id, error, 'shop');
          noteAdminAction(request, { error: auditError(answer, error) });
          throw answer;
        }
        throw error;
      }
    });
    app.post(
      '/orders/:id/payment-problem/resolve',
      {
        schema: {
          tags: ['admin'],
          description:
            "Marks an order's failed refund (`refund_failed`) or lost dispute (`dispute_lost`) settled with the buyer, or its lapsed hold (`hold_lapsed`: the hold of the paid order released at the provider before it was captured) settled by collecting the money another way or writing it off: it no longer counts as open (`salescale_payment_problems_open`, alert PaymentRefundFailedOrDisputed); the payment keeps its status and shows `problemResolvedAt`. A lapsed hold's order stays `paid` and cannot ship; refunding it also closes the problem. Repeating it answers the order as it is; an order with none of these is 409 PAYMENT_PROBLEM_NOT_FOUND.",
          security: [{ adminToken: [] }],
          params: IdParams,
          response: { 200: AdminOrderDetail, ...errorResponses(400, 401, 404, 409, 503) },
        },
      },
      async (request) => {
        const { order, change } = await payments.resolveProblem(request.params.id);
        if (change) noteAdminAction(request, { change });
        return order;
      },
    );
    app.post('/orders/:id/fulfill', { schema: schema('Marks a paid order shipped.', errorResponses(400, 401, 404, 409, 503)) }, async (request) => {
      const { order, change } = await payments.fulfil(request.params.id);
      if (change) noteAdminAction(request, { change });
      return order;
    });
  };
}

import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isStorableText } from '../../lib/storable-text.ts';
import type { Database } from '../../platform/db/client.ts';
import { currentTraceContext } from '../../platform/telemetry/trace-context.ts';
import type { StockGate } from '../inventory/index.ts';
import { OrderNotFoundError, type OrderLifecycleRepository, type OrdersRepository } from '../orders/index.ts';
import type { Order } from '../orders/index.ts';
import type { PaymentEvent, PaymentProvider } from './payment-provider.ts';
import {
  OrderNotFulfillableError,
  OrderNotPayableError,
  OrderNotRefundableError,
  PaymentDeclinedError,
  PaymentTokenRequiredError,
  TestPaymentsRefusedError,
  WebhookMalformedError,
  WebhookSignatureInvalidError,
} from './payments.errors.ts';
import type { PaymentMetrics } from './payments.metrics.ts';
import type { PaymentRow, PaymentsRepository } from './payments.repository.ts';

export interface PaymentServiceDeps {
  db: Database;
  provider: PaymentProvider;
  orders: OrdersRepository;
  lifecycle: OrderLifecycleRepository;
  payments: PaymentsRepository;
  gate: StockGate;
  metrics: PaymentMetrics;
  logger: Logger;
  /** False in production: the test provider refuses to pay. */
  testPaymentsAllowed: boolean;
}

/** What processing an event decided and did. */
export interface ProcessOutcome {
  outcome: 'duplicate' | 'ignored' | 'unknown_payment' | 'declined' | 'paid' | 'captured' | 'late' | 'voided' | 'refunded' | 'partially_refunded' | 'settled';
  orderId?: number;
}

type Action = 'capture' | 'void' | 'refund' | undefined;

/** What `process` decided under the order's lock: its outcome, the provider call to make, the units that came back. */
interface Decision {
  result: ProcessOutcome;
  action: Action;
  payment?: PaymentRow;
  returned: number[];
}

/**
 * Our idempotency key for a buyer's pay call on one order: the buyer's key (up to 255 characters, as the route
 * takes) under a per-order prefix. Stripe takes keys of at most 255 characters, so a key that would not fit is
 * sent as its digest: still the same key for the same buyer key, where a longer one was refused (a 500).
 */
function payKey(prefix: string, buyerKey: string): string {
  const key = `${prefix}${buyerKey}`;
  return key.length <= 255 ? key : `${prefix}sha256-${createHash('sha256').update(buyerKey).digest('hex')}`;
}

/** Our idempotency key for one money-moving call on one payment: a retry is the same call at the provider. */
const keyFor = (payment: PaymentRow, action: string) => `salescale-${payment.provider}-${payment.intentId}-${action}`;

/**
 * Payments: the pay call, provider webhooks and admin refunds, all through one state machine
 * (`process`). Its rules, each decided under the order's row lock:
 * - a payment authorized or captured while the order waits within its window makes the order paid
 *   (once: the conditional status change), and is captured (once: our idempotency key);
 * - any other payment for the order — after expiry, after cancellation, a second payment — is late:
 *   an authorization is voided, a capture refunded, and it is counted and logged;
 * - a payment's status only moves forward, so replayed or reordered events change nothing.
 * The provider call happens after the commit; if it fails, the event is not recorded, the provider
 * redelivers it (or the buyer retries), and the same decision leads to the same keyed call.
 */
export function createPaymentService(deps: PaymentServiceDeps) {
  const { db, provider, lifecycle, payments, metrics, logger } = deps;

  async function invalidate(productIds: readonly number[]): Promise<void> {
    await Promise.all([...new Set(productIds)].map((id) => deps.gate.invalidate(id))).catch((e: unknown) =>
      logger.warn({ err: e }, 'could not invalidate the stock gate after units came back'),
    );
  }

  async function decide(event: PaymentEvent): Promise<Decision> {
    const known = event.intentId ? await payments.findByIntent(db.primary, event.provider, event.intentId) : undefined;
    const orderId = known?.orderId ?? event.orderId;
    if (!orderId || !event.intentId) return { result: { outcome: 'unknown_payment' }, action: undefined, returned: [] };
    const intentId = event.intentId;
    // Counters move only for what was committed: a transaction that rolls back (a failure at COMMIT, a lost
    // connection) is redelivered and decided again, and counting inside it counted that payment twice.
    const counts: (() => void)[] = [];
    // A late payment is counted given back by whoever moves it there: our call (`act`) or the provider's event
    // saying so, which may come first.
    const countLate = (action: 'voided' | 'refunded') => counts.push(() => metrics.latePayments.inc({ provider: event.provider, action }));
    const decision = await db.primary.transaction(async (tx): Promise<Decision> => {
      counts.length = 0;
      // Lock order: the order row, then its payment row (every path here does the same).
      const order = await lifecycle.lockForPayment(tx, orderId);
      if (!order) return { result: { outcome: 'unknown_payment' }, action: undefined, returned: [] };
      const payment = await payments.lockOrCreate(tx, {
        orderId,
        provider: event.provider,
        intentId,
        amountCents: event.amountCents ?? order.totalCents,
        currency: event.currency ?? order.currency,
      });
      const base = { orderId };
      switch (event.kind) {
        case 'failed':
          if (await payments.advance(tx, payment.id, 'failed', { failureCode: event.failureCode ?? 'declined' })) {
            counts.push(() => metrics.attempts.inc({ provider: event.provider, outcome: 'declined' }));
          }
          return { result: { ...base, outcome: 'declined' }, action: undefined, payment, returned: [] };
        case 'voided':
          if ((await payments.advance(tx, payment.id, 'voided')) && payment.late) countLate('voided');
          if (payment.applied && order.status === 'paid' && payment.status === 'authorized') {
            logger.error({ orderId, intentId }, 'the hold of a paid, not yet captured order was released at the provider; the order needs attention');
          }
          return { result: { ...base, outcome: 'voided' }, action: undefined, payment, returned: [] };
        case 'refunded': {
          // A provider reports every refund with the amount refunded so far (Stripe's charge.refunded, also for a
          // partial refund made in its dashboard): only all of it refunds the order and puts its units back on sale.
          if (event.amountCents !== undefined && event.amountCents < payment.amountCents) {
            logger.info({ orderId, intentId, refundedCents: event.amountCents, amountCents: payment.amountCents }, 'part of a payment was refunded at the provider; the order stays as it is');
            return { result: { ...base, outcome: 'partially_refunded' }, action: undefined, payment, returned: [] };
          }
          if ((await payments.advance(tx, payment.id, 'refunded')) && payment.late) countLate('refunded');
          const refunded = payment.applied ? await lifecycle.markRefunded(tx, orderId) : undefined;
          return { result: { ...base, outcome: 'refunded' }, action: undefined, payment, returned: refunded?.productIds ?? [] };
        }
        case 'authorized':
        case 'captured': {
          const captured = event.kind === 'captured';
          if (payment.status === 'voided' || payment.status === 'refunded') return { result: { ...base, outcome: 'settled' }, action: undefined, payment, returned: [] };
          if (payment.applied) {
            if (captured) await payments.advance(tx, payment.id, 'captured');
            const action = !captured && payment.status !== 'captured' ? 'capture' : undefined;
            return { result: { ...base, outcome: action ? 'paid' : 'captured' }, action, payment, returned: [] };
          }
          const amountOk = payment.amountCents === order.totalCents && payment.currency.toUpperCase() === order.currency.toUpperCase();
          if (order.status === 'pending_payment' && !order.due && amountOk) {
            const paid = await lifecycle.markPaid(tx, orderId, currentTraceContext());
            if (paid) {
              await payments.advance(tx, payment.id, captured ? 'captured' : 'authorized', { applied: true });
              counts.push(() => {
                metrics.attempts.inc({ provider: event.provider, outcome: 'succeeded' });
                metrics.timeToPay.observe(paid.secondsToPay);
              });
              return { result: { ...base, outcome: 'paid' }, action: captured ? undefined : 'capture', payment, returned: [] };
            }
          }
          // Late: the order cannot take this payment. Expire it now if its window is over (the sweeper
          // would), then give the money back.
          let returned: number[] = [];
          if (order.status === 'pending_payment' && order.due) {
            const expired = await lifecycle.expire(tx, { orderIds: [orderId], limit: 1 });
            if (expired.length > 0) counts.push(() => metrics.expired.inc({ via: 'payment' }));
            returned = expired.flatMap((e) => e.productIds);
          }
          await payments.advance(tx, payment.id, captured ? 'captured' : 'authorized', { late: true });
          logger.warn({ orderId, intentId, orderStatus: order.status, amountOk }, 'payment arrived for an order that cannot take it: giving it back');
          return { result: { ...base, outcome: 'late' }, action: captured ? 'refund' : 'void', payment, returned };
        }
        default:
          return { result: { ...base, outcome: 'ignored' }, action: undefined, payment, returned: [] };
      }
    });
    for (const count of counts) count();
    return decision;
  }

  /** Carries out a decision at the provider (keyed), then records the payment's new state. */
  async function act(action: Action, payment: PaymentRow | undefined, late: boolean): Promise<void> {
    if (!action || !payment) return;
    const input = { intentId: payment.intentId, amountCents: payment.amountCents, idempotencyKey: keyFor(payment, action) };
    try {
      if (action === 'capture') await provider.capture(input);
      else if (action === 'void') await provider.void(input);
      else await provider.refund(input);
    } catch (error) {
      metrics.providerCalls.inc({ provider: payment.provider, action, outcome: 'failed' });
      throw error;
    }
    metrics.providerCalls.inc({ provider: payment.provider, action, outcome: 'succeeded' });
    const status = action === 'capture' ? 'captured' : action === 'void' ? 'voided' : 'refunded';
    // Counted by whichever moves the payment there first: this call, or the provider's event (see `decide`).
    const moved = await payments.advance(db.primary, payment.id, status);
    if (late && moved) metrics.latePayments.inc({ provider: payment.provider, action: status });
  }

  /** Processes one verified provider event; safe to call any number of times, in any order. */
  async function process(event: PaymentEvent): Promise<ProcessOutcome> {
    if (await payments.eventSeen(db.primary, event.provider, event.id)) {
      metrics.webhooks.inc({ provider: event.provider, outcome: 'duplicate' });
      return { outcome: 'duplicate' };
    }
    let outcome: ProcessOutcome = { outcome: 'ignored' };
    if (event.kind !== 'ignored') {
      const decision = await decide(event);
      await invalidate(decision.returned);
      await act(decision.action, decision.payment, decision.result.outcome === 'late');
      outcome = decision.result;
    }
    // Deliveries of one event at once all get past `eventSeen` and decide (under the order's lock, to the same
    // effect); the one that records it is the one processed, the others are duplicates.
    const recorded = await payments.recordEvent(db.primary, { provider: event.provider, eventId: event.id, type: event.type, intentId: event.intentId, outcome: outcome.outcome });
    metrics.webhooks.inc({ provider: event.provider, outcome: recorded ? 'processed' : 'duplicate' });
    return outcome;
  }

  async function requireOrder(orderId: number, customerId: number | undefined): Promise<Order> {
    const order = await deps.orders.find(db.primary, orderId, customerId);
    if (!order) throw new OrderNotFoundError(orderId);
    return order;
  }

  return {
    process,

    /**
     * A provider's webhook, as received: verified and parsed by the provider over the raw bytes, then
     * processed. Refusals (400) are counted by kind, so forged or mis-signed deliveries (a webhook
     * secret rotated at the provider but not here) show in `salescale_payment_webhooks_total`.
     */
    async receiveWebhook(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): Promise<ProcessOutcome> {
      let event: PaymentEvent;
      try {
        event = provider.parseWebhook(rawBody, headers);
        // Signed is not storable: an id with a NUL or an unpaired surrogate is no event we can record.
        const unstorable = Object.entries(event).find(([, value]) => typeof value === 'string' && !isStorableText(value));
        if (unstorable) throw new WebhookMalformedError(`${unstorable[0]} holds a NUL character or an unpaired surrogate`);
      } catch (error) {
        if (error instanceof WebhookSignatureInvalidError) metrics.webhooks.inc({ provider: provider.name, outcome: 'signature_invalid' });
        else if (error instanceof WebhookMalformedError) metrics.webhooks.inc({ provider: provider.name, outcome: 'malformed' });
        throw error;
      }
      return process(event);
    },

    /**
     * The buyer pays an order. Test provider: `token` is authorized, and the outcome goes through
     * `process` like a webhook (tok_declined → PAYMENT_DECLINED; the order keeps waiting). Stripe: the
     * order's PaymentIntent is created (or the open one reused) and its client secret returned for
     * Stripe.js; the outcome arrives by webhook.
     */
    async pay(input: { orderId: number; customerId: number | undefined; token: string | undefined; idempotencyKey: string | undefined }): Promise<{ order: Order; replayed: boolean }> {
      const order = await requireOrder(input.orderId, input.customerId);
      const tokenKey = payKey(`salescale-order-${order.id}-pay-`, input.idempotencyKey ?? randomUUID());
      if (order.status === 'paid' || order.status === 'fulfilled') {
        const applied = await payments.applied(db.primary, order.id);
        // A pay call that died between "paid" and the capture: finish the capture (keyed, so once).
        if (order.status === 'paid' && applied?.status === 'authorized') {
          await act('capture', applied, false);
          return { order: await requireOrder(order.id, input.customerId), replayed: false };
        }
        // The retry of the call that paid (its reply lost in a timeout): answered as that call was, not as a second payment.
        if (input.idempotencyKey !== undefined && applied !== undefined && provider.tokenIntentId?.(order.id, tokenKey) === applied.intentId) return { order, replayed: true };
      }
      if (order.status !== 'pending_payment') throw new OrderNotPayableError(order.id, order.status);
      if (Date.parse(order.payment.expiresAt) <= Date.now()) throw new OrderNotPayableError(order.id, 'expired');
      if (provider.authorizeWithToken) {
        if (!deps.testPaymentsAllowed) throw new TestPaymentsRefusedError();
        if (input.token === undefined) throw new PaymentTokenRequiredError();
        const event = await provider.authorizeWithToken({
          orderId: order.id,
          amountCents: order.totalCents,
          currency: order.currency,
          token: input.token,
          // Scoped to the order, as the Stripe path's: buyers choose their keys, and one provider account serves them
          // all (a key already used for another order authorized nothing for this one, whose capture then failed).
          idempotencyKey: tokenKey,
        });
        const result = await process(event);
        if (result.outcome === 'declined') throw new PaymentDeclinedError(order.id, event.failureCode);
        const after = await requireOrder(order.id, input.customerId);
        if (after.status !== 'paid' && after.status !== 'fulfilled') throw new OrderNotPayableError(order.id, after.status);
        return { order: after, replayed: false };
      }
      const open = await payments.openIntent(db.primary, order.id, provider.name);
      if (!open) {
        const created = await provider.createIntent({
          orderId: order.id,
          amountCents: order.totalCents,
          currency: order.currency,
          idempotencyKey: payKey(`salescale-order-${order.id}-intent-`, input.idempotencyKey ?? 'default'),
        });
        await db.primary.transaction(async (tx) => {
          if (!(await lifecycle.lockForPayment(tx, order.id))) throw new OrderNotFoundError(order.id);
          await payments.lockOrCreate(tx, { orderId: order.id, provider: provider.name, intentId: created.intentId, amountCents: order.totalCents, currency: order.currency, clientSecret: created.clientSecret });
        });
      }
      return { order: await requireOrder(order.id, input.customerId), replayed: false };
    },

    /**
     * Admin: refunds a paid order (voids it if not yet captured); its units go back on sale. The order is first
     * marked as being refunded under its row lock, so a fulfilment can no longer slip in between this check and
     * the provider's call (money given back for an order that ships); no lock is held across that call. If the
     * call fails the mark stays (the outcome may be unknown): asking again makes the same keyed call and finishes.
     */
    async refund(orderId: number): Promise<Order> {
      const started = await db.primary.transaction(async (tx) => {
        const order = await lifecycle.lockForPayment(tx, orderId);
        if (!order) throw new OrderNotFoundError(orderId);
        if (order.status === 'refunded') return false;
        if (order.status !== 'paid' || !(await lifecycle.startRefund(tx, orderId))) throw new OrderNotRefundableError(orderId, order.status);
        return true;
      });
      if (!started) return requireOrder(orderId, undefined);
      const applied = await payments.applied(db.primary, orderId);
      if (applied) {
        const action = applied.status === 'captured' ? 'refund' : applied.status === 'authorized' ? 'void' : undefined;
        await act(action, applied, false);
      }
      const returned = await db.primary.transaction(async (tx) => {
        await lifecycle.lockForPayment(tx, orderId);
        return lifecycle.markRefunded(tx, orderId);
      });
      if (!returned) {
        const now = await requireOrder(orderId, undefined);
        if (now.status !== 'refunded') throw new OrderNotRefundableError(orderId, now.status);
        return now;
      }
      await invalidate(returned.productIds);
      return requireOrder(orderId, undefined);
    },

    /**
     * Admin: marks a paid order shipped, if its money was taken: an applied payment not captured (the capture
     * still failing, or refused for good after the hold was released at the provider) keeps it from shipping;
     * refunding it is the way out. Orders paid before payments existed have no payment and ship.
     */
    async fulfil(orderId: number): Promise<Order> {
      await db.primary.transaction(async (tx) => {
        const order = await lifecycle.lockForPayment(tx, orderId);
        if (!order) throw new OrderNotFoundError(orderId);
        if (order.status === 'fulfilled') return;
        if (order.status !== 'paid') throw new OrderNotFulfillableError(orderId, order.status);
        const applied = await payments.applied(tx, orderId);
        if (applied && applied.status !== 'captured') throw new OrderNotFulfillableError(orderId, order.status, { paymentStatus: applied.status });
        if (!(await lifecycle.markFulfilled(tx, orderId))) throw new OrderNotFulfillableError(orderId, order.status, { refundRequested: true });
      });
      return requireOrder(orderId, undefined);
    },
  };
}

export type PaymentService = ReturnType<typeof createPaymentService>;

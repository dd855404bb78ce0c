import { createHash, randomUUID } from 'node:crypto';
import { OrderNotFoundError, type LockedOrder, type OrdersRepository } from '../orders/index.ts';
import { isRefusal } from '../../shared/errors.ts';
import type { FieldChanges } from '../../shared/field-changes.ts';
import type { AdminOrderDetail, Order } from '../orders/http.ts';
import { createPaymentEvents, storableFailureCode, type PaymentEventsDeps } from './payment-events.ts';
import { ProviderCallRefusedError } from './payment-provider.ts';
import {
  OrderNotFulfillableError,
  OrderNotPayableError,
  OrderNotRefundableError,
  PaymentDeclinedError,
  answerForRefusal,
  auditError,
  PaymentProblemOpenError,
  PaymentProviderUnavailableError,
  PaymentProblemNotFoundError,
  PaymentTokenRequiredError,
  TestPaymentsRefusedError,
} from './payments.errors.ts';
import { RESOLVABLE_PAYMENT_PROBLEMS } from './payments.metrics.ts';
import type { PaymentRow } from './payments.repository.ts';

export type { ProcessOutcome } from './payment-events.ts';

export interface PaymentServiceDeps extends PaymentEventsDeps {
  orders: OrdersRepository;
  /** False in production: the test provider refuses to pay. */
  testPaymentsAllowed: boolean;
}

/**
 * What the give-back retry finished or gave up on of an admin's refund (not of a late payment, which no admin asked
 * for): for the admin audit trail. `change` holds the order's `status` (when it moved) and the payment's `paymentStatus`.
 */
export interface GiveBackAction {
  orderId: number;
  outcome: 'given_back' | 'refused';
  /** Unique per attempt: `give-back-<payment id>-<attempt>`. */
  requestId: string;
  change: FieldChanges;
  /** Refused: the code an admin's refund so refused is answered with (`answerForRefusal`), and the provider's code. */
  error?: { code: string; providerCode?: string };
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

/**
 * Payments: the buyer's pay call, the admin's calls (refund, fulfil, resolve a problem) and the worker's retry of money
 * owed back, built on `createPaymentEvents` (payment-events.ts): the one state machine that applies the provider's
 * events (`process`, also for the test provider's answer to a pay call) and makes the keyed provider calls (`act`).
 */
export function createPaymentService(deps: PaymentServiceDeps) {
  const { db, provider, lifecycle, payments, metrics, logger } = deps;
  const { process, receiveWebhook, act, answerForCallRefused, invalidate, refundOrder } = createPaymentEvents(deps);

  /** The order, of `customerId` when given, of a guest when `guest` (a guest link's holder), else anyone's (the shop). */
  async function requireOrder(orderId: number, customerId: number | undefined, guest = false): Promise<Order> {
    const order = guest ? await deps.orders.findGuest(db.primary, orderId) : await deps.orders.find(db.primary, orderId, customerId);
    if (!order) throw new OrderNotFoundError(orderId);
    return order;
  }

  const service = {
    process,
    receiveWebhook,

    /**
     * The buyer pays an order. Test provider: `token` is authorized, and the outcome goes through
     * `process` like a webhook (tok_declined → PAYMENT_DECLINED; the order keeps waiting). Stripe: the
     * order's PaymentIntent is created (or the open one reused) and its client secret returned for
     * Stripe.js; the outcome arrives by webhook.
     */
    async pay(input: {
      orderId: number;
      customerId: number | undefined;
      /** Paid through a guest order link: only a guest's order (an account's is paid by its signed-in buyer). */
      guest?: boolean;
      token: string | undefined;
      idempotencyKey: string | undefined;
    }): Promise<{ order: Order; replayed: boolean }> {
      const order = await requireOrder(input.orderId, input.customerId, input.guest);
      const tokenKey = payKey(`salescale-order-${order.id}-pay-`, input.idempotencyKey ?? randomUUID());
      if (order.status === 'paid' || order.status === 'fulfilled') {
        const applied = await payments.applied(db.primary, order.id);
        // The payment that paid the order is this key's (the intent the key authorizes, for a provider that can say: the
        // test provider): the call is a retry, or a call at the same time, of the call that paid, answered as its replay.
        const ours = input.idempotencyKey !== undefined && applied !== undefined && provider.tokenIntentId?.(order.id, tokenKey) === applied.intentId;
        // A pay call that died between "paid" and the capture: finish the capture (keyed, so once), unless the order
        // is being refunded meanwhile (its refund releases the hold).
        if (order.status === 'paid' && applied?.status === 'authorized') {
          const locked = await db.primary.transaction((tx) => lifecycle.lockForPayment(tx, order.id));
          // A refusal answers as the webhook's capture does (counted by `act`, mapped once); the order stays paid, its payment
          // authorized, for the next pay call or the redelivered event to capture.
          if (locked && !locked.refundRequested) {
            await act('capture', applied, false).catch((error: unknown) => {
              throw answerForCallRefused(error, 'capture', applied);
            });
          }
          // Which call this is follows its key, not the payment's state: under the key that paid (a retry after its capture
          // failed, or a call arriving between the paying call's commit and its capture, which answers as the original)
          // it is the replay; under another key, or none, a second payment attempt, refused as on any paid order (it was a
          // 200 as an original: two originals of one payment, and another key answered as if it had paid). A provider that
          // cannot say which intent a key authorizes (Stripe) answers the order, as before.
          if (ours) return { order: await requireOrder(order.id, input.customerId), replayed: true };
          if (provider.tokenIntentId) throw new OrderNotPayableError(order.id, order.status);
          return { order: await requireOrder(order.id, input.customerId), replayed: false };
        }
        // The retry of the call that paid (its reply lost in a timeout): answered as that call was, not as a second payment.
        if (ours) return { order, replayed: true };
      }
      // PostgreSQL's clock alone says whether the window is over: the order reads `expired` from then on, and the payment
      // is judged again under the order's lock (`due`). This server's clock, compared with `expiresAt`, refused within
      // its skew an order a read had just shown payable.
      if (order.status !== 'pending_payment') throw new OrderNotPayableError(order.id, order.status);
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
        const result = await process(event, { ownPayCall: true });
        if (result.outcome === 'declined') throw new PaymentDeclinedError(order.id, event.failureCode);
        const after = await requireOrder(order.id, input.customerId);
        // This call's own payment came late (another pay call paid the order meanwhile, or it was cancelled or expired):
        // it was given back, so the call is refused as one arriving now would be (409 ORDER_ALREADY_PAID when paid), not
        // answered 200 with the order another payment paid. A guest order over its buyer's cap stays pending_payment: the
        // refusal names the cap (`capPassed`), not the one status that is payable.
        if (result.outcome === 'late') throw new OrderNotPayableError(order.id, after.status, result.capPassed);
        if (after.status !== 'paid' && after.status !== 'fulfilled') throw new OrderNotPayableError(order.id, after.status);
        // This call's payment paid the order. Concurrent pay calls under the same Idempotency-Key authorize the same
        // intent (the key scopes it) and process the same authorization event: the one that records it is the payment's
        // original, the others its replay (`Idempotent-Replayed: true`, the same order), as a retry arriving after it is.
        // Not which call's decision made the order paid: the other call may record the event first (the paying call held
        // between its commit and its capture), and the provider's webhook (another event) may have decided it first, which
        // leaves the only pay call the original.
        return { order: after, replayed: input.idempotencyKey !== undefined && result.recorded === false };
      }
      // The order's open intent, and its last dead one (read with it, though used only when there is no open one).
      const { open, lastDead } = await payments.openAndLastDeadIntent(db.primary, order.id, provider.name);
      // An intent canceled before this call recorded it (its canceled event recorded it voided first) is no payment to
      // offer: the next one is created, scoped by it as a later pay call's would be. Once: a second is left to the buyer.
      for (let dead = lastDead, attempt = 0; !open && attempt < 2; attempt++) {
        // Scoped by the order's last dead intent (voided, refunded, late): under the same key Stripe replays the intent
        // it first created, canceled or not, and a buyer whose intent was canceled while the order still waited could
        // never pay. Retries of one attempt see the same dead intent, so the same key and the same live intent.
        const prefix = dead === undefined ? `salescale-order-${order.id}-intent-` : `salescale-order-${order.id}-intent-after-${dead}-`;
        const createIntent = (keyPrefix: string) =>
          provider.createIntent({ orderId: order.id, amountCents: order.totalCents, currency: order.currency, idempotencyKey: payKey(keyPrefix, input.idempotencyKey ?? 'default') });
        const created = await createIntent(prefix)
          .catch((error: unknown) => {
            // A 5xx is kept by the provider under its key (Stripe: a day or more), so every retry of this pay call (the
            // same Idempotency-Key, or none: every key-less pay call of the order shares one) would be answered it again
            // and the order could not be paid. Once under a fresh key: nothing is written yet, and an intent a 5xx
            // may have created anyway is never confirmed (its client secret reached nobody), so nothing is charged.
            if (error instanceof PaymentProviderUnavailableError && error.keySpent) return createIntent(`${prefix}after-5xx-${randomUUID()}-`);
            throw error;
          })
          .catch((error: unknown) => {
            // The buyer's refusal (an amount or currency the provider does not take: 422) is no failing call.
            if (isRefusal(error)) throw error;
            // Our key, account or mode refused (Stripe 401, 403, …): not the buyer's fault, and nothing was written or
            // charged. A 503 with a stable code (it was a 500 with a stack in the log), counted apart (alert
            // PaymentProviderMisconfigured); the same pay call goes through once the configuration is fixed.
            // The buyer's card declined (402, the buyer's refusal, as the test provider's tok_declined): no failing call.
            // Any other refusal of a call we made (a parameter it does not take): a bug or a change at the provider, 502
            // with a stable code, the provider's wording only in the log (it was a 500 INTERNAL_ERROR).
            if (error instanceof ProviderCallRefusedError) {
              const answer = answerForRefusal(order.id, error, 'buyer');
              if (answer instanceof PaymentDeclinedError) throw answer;
              metrics.providerCalls.inc({ provider: provider.name, action: 'create_intent', outcome: error.configuration ? 'misconfigured' : 'failed' });
              logger.error(
                { orderId: order.id, reason: error.code, err: error },
                error.configuration
                  ? 'the provider refused our call as a configuration problem (wrong key, account or mode?): buyers cannot pay until it is fixed'
                  : 'the provider refused the call starting a payment: buyers may be unable to pay',
              );
              throw answer;
            }
            metrics.providerCalls.inc({ provider: provider.name, action: 'create_intent', outcome: 'failed' });
            throw error;
          });
        metrics.providerCalls.inc({ provider: provider.name, action: 'create_intent', outcome: 'succeeded' });
        const recorded = await db.primary.transaction(async (tx) => {
          const locked = await lifecycle.lockForPayment(tx, order.id);
          if (!locked) throw new OrderNotFoundError(order.id);
          // The order was cancelled, paid, or its window closed while the intent was being created (the test provider's
          // path reads it again after its call too): its intent is not recorded, so no open payment is left on an order
          // that cannot take it, and the buyer is refused as a pay call arriving now would be (it was a 200 with the
          // order cancelled, its open intent recorded and confirmable: a charge given back as late, fees kept).
          if (locked.status !== 'pending_payment' || locked.due) {
            const status = locked.status === 'pending_payment' ? 'expired' : locked.status;
            return { refused: status, ours: (await payments.findByIntent(tx, provider.name, created.intentId)) === undefined } as const;
          }
          // A concurrent pay call of the order (another Idempotency-Key, or its retry under a fresh key after a 5xx)
          // recorded its intent while ours was being created: the order keeps that one, so every tab confirms one
          // intent (two confirmed intents were two charges, the second given back as late, fees kept). That check and
          // ours recorded are one statement, after the lock's: not in it, whose snapshot may predate the intent that
          // the pay call we waited for on the lock recorded (READ COMMITTED: a snapshot per statement).
          const intent = await payments.recordIntent(tx, { orderId: order.id, provider: provider.name, intentId: created.intentId, amountCents: order.totalCents, currency: order.currency, clientSecret: created.clientSecret });
          return { other: intent.other, dead: intent.dead };
        });
        if (recorded.refused !== undefined) {
          // Canceled at the provider, best effort and keyed (a retry cancels the same intent once), only if no payment of
          // ours records it (a replay of an intent recorded before, which may be the one that paid, is left alone).
          // Counted as every other provider call (a `void`, by its outcome), and logged as what happened to it.
          const context = { orderId: order.id, intentId: created.intentId, status: recorded.refused };
          const canceled = recorded.ours
            ? await provider.void({ intentId: created.intentId, amountCents: order.totalCents, idempotencyKey: `salescale-order-${order.id}-unpayable-${created.intentId}-cancel` }).then(
                () => {
                  metrics.providerCalls.inc({ provider: provider.name, action: 'void', outcome: 'succeeded' });
                  return 'canceled' as const;
                },
                (error: unknown) => {
                  const misconfigured = error instanceof ProviderCallRefusedError && error.configuration;
                  metrics.providerCalls.inc({ provider: provider.name, action: 'void', outcome: misconfigured ? 'misconfigured' : 'failed' });
                  logger.warn({ ...context, err: error }, 'could not cancel the intent of an order that stopped being payable while it was created: it is never confirmed (its client secret reached no one)');
                  return 'cancel_failed' as const;
                },
              )
            : ('left_alone' as const);
          const message = {
            canceled: 'the order stopped being payable while its intent was created: not recorded, canceled at the provider',
            cancel_failed: 'the order stopped being payable while its intent was created: not recorded; its cancel at the provider failed',
            left_alone: 'the order stopped being payable while its intent was created: a payment of ours records the intent, left as it is at the provider',
          }[canceled];
          logger.info({ ...context, intent: canceled }, message);
          throw new OrderNotPayableError(order.id, recorded.refused);
        }
        const other = recorded.other;
        // Ours is left unrecorded: its client secret reaches no one, so it is never confirmed and charges no one (if it
        // ever were, its event would make it late, given back). Canceling it would record it (its canceled event) as
        // the order's newest payment, shown instead of the open one.
        if (other) logger.info({ orderId: order.id, intentId: created.intentId, kept: other.intentId }, 'a concurrent pay call started the payment first: its intent is used');
        if (!recorded.dead) break;
        logger.info({ orderId: order.id, intentId: created.intentId }, 'the intent was canceled at the provider before it was recorded: creating the next one');
        dead = created.intentId;
      }
      return { order: await requireOrder(order.id, input.customerId), replayed: false };
    },

    /**
     * The worker's retry of money we owe back and whose call kept failing (the provider down for longer than it
     * redelivers its events, a 500): a late payment still held or taken gets the same keyed void or refund `act`
     * made, an order an admin asked to refund gets the same keyed call `refund` makes (and is then refunded). Each
     * payment is claimed first (`claimOwed`: SKIP LOCKED, its next retry pushed back), so two workers never retry
     * one payment at once and a failing one is retried less and less often; a failure is logged, never thrown.
     * Returns how many were claimed and how many of those were given back.
     */
    async giveBackOwed(input: { olderThanS: number; limit: number; maxBackoffS: number }): Promise<{ claimed: number; givenBack: number; actions: GiveBackAction[] }> {
      /**
       * The provider refused the void or refund for good (a 4xx about this payment, the same every time): retrying is
       * pointless, so the payment becomes a `refund_failed` problem with the provider's code — no longer owed back,
       * open in `salescale_payment_problems_open` (alert PaymentRefundFailedOrDisputed) until an admin settles it with
       * the buyer and marks it resolved. The order stays as it is (paid, its refund asked for): the money is not back.
       */
      async function giveUp(payment: PaymentRow, refusal: ProviderCallRefusedError): Promise<boolean> {
        const moved = await db.primary.transaction(async (tx) => {
          // Lock order: the order row, then its payment (as `decide`).
          await lifecycle.lockForPayment(tx, payment.orderId);
          // Given back meanwhile (the provider's event came first): nothing to give up on.
          const now = await payments.findByIntent(tx, payment.provider, payment.intentId);
          if (!now || !['authorized', 'captured', 'dispute_won'].includes(now.status)) return false;
          return payments.advance(tx, payment.id, 'refund_failed', { failureCode: storableFailureCode(refusal.code) ?? 'refused' });
        });
        if (!moved) return false;
        metrics.problems.inc({ provider: payment.provider, problem: 'refund_failed' });
        logger.error(
          { orderId: payment.orderId, intentId: payment.intentId, attempt: payment.giveBackAttempts, late: payment.late, reason: refusal.code, err: refusal },
          'the provider refused for good to give money back: no more retries; the buyer has not got it, refund them another way',
        );
        return true;
      }

      const owed = await db.primary.transaction((tx) => payments.claimOwed(tx, input));
      let givenBack = 0;
      const actions: GiveBackAction[] = [];
      for (const payment of owed) {
        const context = { orderId: payment.orderId, intentId: payment.intentId, attempt: payment.giveBackAttempts, late: payment.late };
        const requestId = `give-back-${payment.id}-${payment.giveBackAttempts}`;
        try {
          if (payment.late) await act(payment.status === 'captured' ? 'refund' : 'void', payment, true);
          else {
            const { change } = await service.refund(payment.orderId);
            // Refunded by this call (not by the provider's event meanwhile): the admin's refund finished here.
            const after = change ? (await payments.findByIntent(db.primary, payment.provider, payment.intentId))?.status : undefined;
            if (change && after) actions.push({ orderId: payment.orderId, outcome: 'given_back', requestId, change: { ...change, paymentStatus: { before: payment.status, after } } });
          }
          givenBack++;
          logger.info(context, 'money owed back whose call had failed was given back by the retry');
        } catch (error) {
          if (error instanceof ProviderCallRefusedError && error.permanent) {
            if ((await giveUp(payment, error)) && !payment.late) {
              actions.push({
                orderId: payment.orderId,
                outcome: 'refused',
                requestId,
                change: { paymentStatus: { before: payment.status, after: 'refund_failed' } },
                error: auditError(answerForRefusal(payment.orderId, error, 'shop'), error),
              });
            }
          } else if (error instanceof ProviderCallRefusedError && error.configuration) {
            // Not the buyer's refund failing: our key or account (it hits every payment at once). Retried once fixed.
            logger.error({ ...context, reason: error.code, err: error }, 'the provider refused our call as a configuration problem (wrong key, account or mode?): giving money back is stuck until it is fixed; retrying later');
          } else logger.warn({ ...context, err: error }, 'giving money back failed again; retrying later');
        }
      }
      return { claimed: owed.length, givenBack, actions };
    },

    /**
     * Admin: refunds a paid order (voids it if not yet captured); its units go back on sale. The order is first
     * marked as being refunded under its row lock, so a fulfilment can no longer slip in between this check and
     * the provider's call (money given back for an order that ships); no lock is held across that call. If the
     * call fails the mark stays (the outcome may be unknown): asking again makes the same keyed call and finishes.
     */
    /**
     * Refunds a paid order; `change` is its status before → after (`paid` was checked under the order's lock,
     * `refunded` set by this call), absent when it was refunded already.
     */
    async refund(orderId: number): Promise<{ order: Order; change?: FieldChanges }> {
      const started = await db.primary.transaction(async (tx) => {
        const order = await lifecycle.lockForPayment(tx, orderId);
        if (!order) throw new OrderNotFoundError(orderId);
        if (order.status === 'refunded') return false;
        // A disputed payment cannot be refunded at the provider (Stripe refuses); the dispute's end gives the money back or not.
        const applied = order.status === 'paid' ? await payments.applied(tx, orderId) : undefined;
        if (applied?.status === 'disputed') throw new OrderNotRefundableError(orderId, order.status, 'disputed');
        // The provider refused this refund for good (the give-back retry gave up): asking again moves no money, and
        // marking the order refunded would say it did. Once an admin settled it and marked it resolved, it finishes below.
        if (applied?.status === 'refund_failed' && applied.problemResolvedAt === null) throw new PaymentProblemOpenError(orderId, applied.status, applied.failureCode);
        if (order.status !== 'paid' || !(await lifecycle.startRefund(tx, orderId))) throw new OrderNotRefundableError(orderId, statusAsRead(order));
        return true;
      });
      if (!started) return { order: await requireOrder(orderId, undefined) };
      const applied = await payments.applied(db.primary, orderId);
      if (applied) {
        // A dispute won leaves the money with us, to refund; one lost already gave back what it was about, which may be
        // only part of the payment (Stripe's dispute amount): the rest, what neither the chargeback nor refunds counted,
        // is refunded at the provider (that amount, keyed). A dispute lost in full leaves nothing, and makes no call; so
        // does one that counted nothing (in another currency, or lost before 0043 counted chargebacks): what it gave
        // back is not known here, and refunding all of it would ask the provider for money the buyer already got.
        const rest = applied.status === 'dispute_lost' && applied.chargedBackCountedCents > 0 ? applied.amountCents - applied.refundedCountedCents - applied.chargedBackCountedCents : 0;
        const action =
          applied.status === 'captured' || applied.status === 'dispute_won' || rest > 0 ? 'refund' : applied.status === 'authorized' ? 'void' : undefined;
        await act(action, applied, false, undefined, { countRefusedVoid: false, ...(rest > 0 ? { refundCents: rest } : {}) }).catch(async (error: unknown) => {
          // Recorded as authorized, but captured at the provider (a capture that ran and was answered with a 5xx, its
          // event not here yet): the void is refused (Stripe: the intent succeeded). The money was taken, so it is
          // refunded (keyed), the payment recorded captured then refunded; the reply said "nothing was charged" before.
          if (action !== 'void' || !(error instanceof ProviderCallRefusedError) || !error.permanent || error.configuration) throw error;
          // `act` left this refusal uncounted: a void refused because the money was captured, handled by the refund below, is
          // `refused` (the provider refused it for good, nothing wrong on either side); it fed the failing-calls alert as
          // `failed`. Any other refusal, or one not known to be that, stays `failed`.
          const captured = provider.happened
            ? await provider.happened({ intentId: applied.intentId, action: 'capture' }).catch((readError: unknown) => {
                metrics.providerCalls.inc({ provider: applied.provider, action: 'void', outcome: 'failed' });
                throw readError;
              })
            : false;
          metrics.providerCalls.inc({ provider: applied.provider, action: 'void', outcome: captured ? 'refused' : 'failed' });
          if (!captured) throw error;
          logger.warn({ orderId, intentId: applied.intentId, reason: error.code }, 'the hold to void was captured at the provider already (its capture answered with an error): refunding it instead');
          await payments.advance(db.primary, applied.id, 'captured');
          await act('refund', { ...applied, status: 'captured' }, false);
        });
      }
      const returned = await db.primary.transaction(async (tx) => {
        await lifecycle.lockForPayment(tx, orderId);
        return refundOrder(tx, orderId);
      });
      if (!returned) {
        const now = await requireOrder(orderId, undefined);
        if (now.status !== 'refunded') throw new OrderNotRefundableError(orderId, now.status);
        return { order: now };
      }
      await invalidate(returned.productIds);
      const order = await requireOrder(orderId, undefined);
      return { order, change: { status: { before: 'paid', after: order.status } } };
    },

    /**
     * Admin: marks the order's failed refund or lost dispute settled with the buyer (paid another way, written off), or its
     * lapsed hold settled (the money collected another way, written off), so it
     * no longer counts as open (`salescale_payment_problems_open`); the payment keeps its status. `change` is its
     * `problemResolvedAt` before → after, absent when every such payment was resolved already (the order as it is).
     */
    async resolveProblem(orderId: number): Promise<{ order: AdminOrderDetail; change?: FieldChanges }> {
      const change = await db.primary.transaction(async (tx) => {
        // Lock order: the order row, then its payments (as `decide`).
        if (!(await lifecycle.lockForPayment(tx, orderId))) throw new OrderNotFoundError(orderId);
        const { found, resolved } = await payments.resolveProblems(tx, orderId, RESOLVABLE_PAYMENT_PROBLEMS);
        if (found.length === 0) throw new PaymentProblemNotFoundError(orderId, (await payments.latest(tx, orderId))?.status ?? null);
        if (resolved.length === 0) return undefined;
        for (const payment of resolved) logger.info({ orderId, intentId: payment.intentId, status: payment.status }, 'a payment problem was marked resolved by an admin');
        return { problemResolvedAt: { before: null, after: resolved[0]!.problemResolvedAt!.toISOString() } };
      });
      const order = await deps.orders.findAdmin(db.primary, orderId);
      if (!order) throw new OrderNotFoundError(orderId);
      return change ? { order, change } : { order };
    },

    /**
     * Admin: marks a paid order shipped, if its money was taken: an applied payment not captured (the capture
     * still failing, or refused for good after the hold was released at the provider) keeps it from shipping;
     * refunding it is the way out. Orders paid before payments existed have no payment and ship. `change` is its status
     * paid → fulfilled, absent when it was fulfilled already.
     */
    async fulfil(orderId: number): Promise<{ order: Order; change?: FieldChanges }> {
      const fulfilled = await db.primary.transaction(async (tx) => {
        const order = await lifecycle.lockForPayment(tx, orderId);
        if (!order) throw new OrderNotFoundError(orderId);
        if (order.status === 'fulfilled') return false;
        if (order.status !== 'paid') throw new OrderNotFulfillableError(orderId, statusAsRead(order));
        const applied = await payments.applied(tx, orderId);
        if (applied && applied.status !== 'captured' && applied.status !== 'dispute_won') throw new OrderNotFulfillableError(orderId, order.status, { paymentStatus: applied.status });
        if (!(await lifecycle.markFulfilled(tx, orderId))) throw new OrderNotFulfillableError(orderId, order.status, { refundRequested: true });
        return true;
      });
      const order = await requireOrder(orderId, undefined);
      return fulfilled ? { order, change: { status: { before: 'paid', after: 'fulfilled' } } } : { order };
    },
  };
  return service;
}

export type PaymentService = ReturnType<typeof createPaymentService>;

/**
 * An order's status as every read shows it, for a refusal to name: one waiting past its payment window reads `expired`
 * before the sweep moves it (its row still `pending_payment`).
 */
function statusAsRead(order: LockedOrder): string {
  return order.status === 'pending_payment' && order.due ? 'expired' : order.status;
}

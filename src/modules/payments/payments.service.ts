import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isStorableText } from '../../lib/storable-text.ts';
import type { Database } from '../../platform/db/client.ts';
import { enqueueInTransaction, type DbOrTx } from '../../platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import { currentTraceContext } from '../../platform/telemetry/trace-context.ts';
import type { StockGate } from '../inventory/index.ts';
import { OrderNotFoundError, type LockedOrder, type OrderLifecycleRepository, type OrdersRepository } from '../orders/index.ts';
import { isRefusal } from '../../shared/errors.ts';
import type { FieldChanges } from '../../shared/field-changes.ts';
import type { AdminOrderDetail, Order } from '../orders/http.ts';
import { ProviderCallRefusedError, type PaymentEvent, type PaymentProvider } from './payment-provider.ts';
import {
  OrderNotFulfillableError,
  OrderNotPayableError,
  OrderNotRefundableError,
  PaymentDeclinedError,
  answerForRefusal,
  auditError,
  PaymentCaptureRefusedError,
  PaymentProblemOpenError,
  PaymentProviderUnavailableError,
  PaymentProblemNotFoundError,
  PaymentTokenRequiredError,
  TestPaymentsRefusedError,
  WebhookMalformedError,
  WebhookSignatureInvalidError,
} from './payments.errors.ts';
import { PAYMENT_PROBLEMS, PROVIDER_CALL_ACTIONS, PROVIDER_CALL_OUTCOMES, RESOLVABLE_PAYMENT_PROBLEMS, type PaymentMetrics } from './payments.metrics.ts';
import { PAYMENT_STATUS_RANK, type PaymentRow, type PaymentsRepository } from './payments.repository.ts';

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
  outcome: 'duplicate' | 'ignored' | 'unknown_payment' | 'declined' | 'paid' | 'captured' | 'refund_requested' | 'late' | 'voided' | 'refunded' | 'partially_refunded' | 'settled' | PaymentProblem | 'dispute_won';
  orderId?: number;
}

type Action = 'capture' | 'void' | 'refund' | undefined;

/** What the provider reports about taken money afterwards that a person has to act on (`salescale_payment_problems_total`). */
type PaymentProblem = 'refund_failed' | 'disputed' | 'dispute_lost';

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

/** Whether an amount is the order's total, in its currency. */
function isOrderTotal(order: { totalCents: number; currency: string }, amount: { amountCents: number; currency: string }): boolean {
  return amount.amountCents === order.totalCents && amount.currency.toUpperCase() === order.currency.toUpperCase();
}

/**
 * Why the order could not take a late payment (the reason the buyer reads in the "payment returned" email).
 * `recorded`: the late payment's amount as its row records it. A late payment of the wrong amount is recorded with what
 * the provider held or took (`giveBackLate`), so its row's amount is not the order total exactly when that was the reason.
 */
function returnedReason(order: { status: string; totalCents: number; currency: string }, recorded: { amountCents: number; currency: string }): string {
  if (!isOrderTotal(order, recorded)) return 'amount_mismatch';
  if (order.status === 'expired') return 'expired';
  if (order.status === 'cancelled') return 'cancelled';
  if (order.status === 'paid' || order.status === 'fulfilled' || order.status === 'refunded') return 'already_paid';
  return 'not_payable';
}

/**
 * Our idempotency key for one money-moving call on one payment: a retry is the same call at the provider. Once the
 * provider answered one with a 5xx (kept under that key, so every retry got it again), the next one
 * (`keyRetries`, on the payment row: the same for every worker and instance).
 */
const keyFor = (payment: PaymentRow, action: string) =>
  `salescale-${payment.provider}-${payment.intentId}-${action}${payment.keyRetries > 0 ? `-retry-${payment.keyRetries}` : ''}`;

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
  for (const problem of PAYMENT_PROBLEMS) metrics.problems.inc({ provider: provider.name, problem }, 0);
  // Every (action, outcome) pair at zero, so that an alert's `increase()` or `rate()` (PaymentProviderMisconfigured,
  // PaymentProviderCallsFailing, PaymentsStalled's captures) sees the first event, not a series appearing with it.
  for (const action of PROVIDER_CALL_ACTIONS) {
    for (const outcome of PROVIDER_CALL_OUTCOMES) metrics.providerCalls.inc({ provider: provider.name, action, outcome }, 0);
  }

  async function invalidate(productIds: readonly number[]): Promise<void> {
    await Promise.all([...new Set(productIds)].map((id) => deps.gate.invalidate(id))).catch((e: unknown) =>
      logger.warn({ err: e }, 'could not invalidate the stock gate after units came back'),
    );
  }

  /**
   * Writes the "payment returned" email of a late payment that was just moved to voided or refunded, in the
   * transaction that moved it: the status moves once (conditionally, under its row lock), so the email is
   * written once per payment whoever moves it (our call, or the provider's event), and only once the money is back.
   */
  async function tellBuyerReturned(tx: DbOrTx, payment: PaymentRow, action: 'voided' | 'refunded'): Promise<void> {
    const order = await lifecycle.buyerOf(tx, payment.orderId);
    if (!order) return;
    await enqueueInTransaction(tx, {
      queue: QUEUES.email,
      name: JOBS.sendPaymentReturned,
      data: { orderId: payment.orderId, email: order.email, name: order.name, amountCents: payment.amountCents, currency: payment.currency, action, reason: returnedReason(order, { amountCents: payment.amountCents, currency: payment.currency }) },
    });
  }

  /**
   * Decides an event; `known` is its payment as read before (`eventSeenAndPayment`), if any. `unbacked`: the provider
   * does not hold it as the event says (`holds`: no authorization, or for a capture no capture), so it cannot make its
   * order paid, nor its payment captured: refused (a
   * `ProviderCallRefusedError`, permanent) before anything is written, the transaction rolled back. It is still given
   * back when late (a void of nothing is harmless), as any late payment.
   */
  async function decide(event: PaymentEvent, known: PaymentRow | undefined, unbacked = false): Promise<Decision> {
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
      // A new payment is created in the statement that locks the order (after its lock); one that exists is then read FOR UPDATE.
      // A release of an intent no payment of ours records is recorded (a voided payment) only while a pay call could
      // still record that intent as the order's open payment: the order waiting within its window. Its pay call may have
      // created the intent and not recorded it yet; the voided row makes that pay call's insert do nothing and the next
      // one create a new intent. An order that cannot be paid any more gets no payment from it: the pay call left its
      // intent unrecorded on purpose, and it held nothing (outcome `unknown_payment`).
      if (event.kind === 'voided' && !known) {
        const order = await lifecycle.lockForPayment(tx, orderId);
        if (!order) return { result: { outcome: 'unknown_payment' }, action: undefined, returned: [] };
        const payment = await payments.lockExisting(tx, event.provider, intentId);
        if (payment) return decideLocked(tx, order, payment);
        if (order.status !== 'pending_payment' || order.due) return { result: { outcome: 'unknown_payment' }, action: undefined, returned: [] };
      }
      const locked = await lifecycle.lockForPaymentAnd(tx, orderId, payments.createWhenLocked({ provider: event.provider, intentId, amountCents: event.amountCents, currency: event.currency }));
      if (!locked) return { result: { outcome: 'unknown_payment' }, action: undefined, returned: [] };
      return decideLocked(tx, locked.order, await payments.lockCreated(tx, locked.also, event.provider, intentId));
    });
    for (const count of counts) count();
    return decision;

    /** The decision, under the order's lock and its payment's. */
    async function decideLocked(tx: DbOrTx, order: LockedOrder, payment: PaymentRow): Promise<Decision> {
      const orderId = order.id;
      const base = { orderId };
      switch (event.kind) {
        case 'failed':
          if (await payments.advance(tx, payment.id, 'failed', { failureCode: event.failureCode ?? 'declined' })) {
            counts.push(() => metrics.attempts.inc({ provider: event.provider, outcome: 'declined' }));
          }
          return { result: { ...base, outcome: 'declined' }, action: undefined, payment, returned: [] };
        case 'voided':
          if ((await payments.advance(tx, payment.id, 'voided')) && payment.late) {
            countLate('voided');
            await tellBuyerReturned(tx, payment, 'voided');
          }
          // Not while a refund is asked for: that refund's void is what released it (its event may come before our call records it).
          if (payment.applied && order.status === 'paid' && payment.status === 'authorized' && !order.refundRequested) {
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
          if ((await payments.advance(tx, payment.id, 'refunded')) && payment.late) {
            countLate('refunded');
            await tellBuyerReturned(tx, payment, 'refunded');
          }
          const refunded = payment.applied ? await lifecycle.markRefunded(tx, orderId) : undefined;
          return { result: { ...base, outcome: 'refunded' }, action: undefined, payment, returned: refunded?.productIds ?? [] };
        }
        case 'authorized':
        case 'captured': {
          const captured = event.kind === 'captured';
          const unbackedRefusal = () =>
            captured
              ? new ProviderCallRefusedError(`the provider holds no capture of ${intentId}`, { permanent: true, code: 'no_capture' })
              : new ProviderCallRefusedError(`the provider holds no authorization of ${intentId}`, { permanent: true, code: 'no_authorization' });
          // Given back, or past what an authorization can change (a refund failed, a dispute): an old event, redelivered.
          if (payment.status === 'voided' || PAYMENT_STATUS_RANK[payment.status] >= PAYMENT_STATUS_RANK.refunded) {
            return { result: { ...base, outcome: 'settled' }, action: undefined, payment, returned: [] };
          }
          // What the provider holds or took (the event's amount) must be the order total, not only what we asked for (the
          // payment's): an intent's amount can be changed at the provider after we created it (its dashboard, another
          // integration), and a capture can take part of the hold.
          const heldCents = event.amountCents ?? payment.amountCents;
          const heldCurrency = (event.currency ?? payment.currency).toUpperCase();
          const held = { amountCents: heldCents, currency: heldCurrency };
          const heldOk = isOrderTotal(order, held);
          const lateContext = { orderId, intentId, orderStatus: order.status, applied: payment.applied, heldCents, heldCurrency, totalCents: order.totalCents, currency: order.currency };
          /**
           * Gives back a payment its order cannot take: recorded late (with `wrongAmount`, what the provider holds or took,
           * which the buyer's email gives as the reason), then voided if held or refunded if taken, after the commit and
           * keyed; a failed call is made again by the redelivered event or the give-back retry. `returned`: the units the
           * order gave back with it (its expiry or its refund).
           */
          const giveBackLate = async (wrongAmount: typeof held | undefined, returned: number[]): Promise<Decision> => {
            await payments.advance(tx, payment.id, captured ? 'captured' : 'authorized', { late: true, ...wrongAmount });
            if (wrongAmount) logger.error(lateContext, 'a payment of another amount or currency than the order total arrived: not taken, giving it back');
            else logger.warn(lateContext, 'a payment arrived for an order that cannot take it: giving it back');
            return { result: { ...base, outcome: 'late' }, action: captured ? 'refund' : 'void', payment: { ...payment, ...wrongAmount, late: true }, returned };
          };
          if (payment.applied) {
            // A capture the provider does not hold recorded nothing captured (an authorized payment shown as taken, its order shippable).
            if (captured && unbacked && payment.status !== 'captured') throw unbackedRefusal();
            // A capture of another amount or currency than the order total on the payment that paid it (captured in part at
            // the provider's dashboard before ours): the order was not paid for. While it is paid, or once the payment is
            // recorded late (its give-back made again: a redelivery after the call failed), it is given back and the order
            // refunded (its units back). Shipped or refunded otherwise, it is recorded with what was taken, for a person.
            if (captured && (payment.late || !heldOk)) {
              if (payment.late || order.status === 'paid') {
                const refunded = await lifecycle.markRefunded(tx, orderId);
                return giveBackLate(held, refunded?.productIds ?? []);
              }
              await payments.advance(tx, payment.id, 'captured', held);
              logger.error(lateContext, 'a capture of another amount or currency than the order total arrived for an order past paid: recorded as taken; settle it with the buyer');
              return { result: { ...base, outcome: 'captured' }, action: undefined, payment, returned: [] };
            }
            if (captured) await payments.advance(tx, payment.id, 'captured');
            // A hold not yet captured (its capture failed so far) of an order the shop is refunding stays a hold: the
            // refund releases it. Capturing it now charged the buyer for an order being refunded (then refunded, fees kept).
            if (!captured && payment.status !== 'captured' && order.refundRequested) {
              return { result: { ...base, outcome: 'refund_requested' }, action: undefined, payment, returned: [] };
            }
            const action = !captured && payment.status !== 'captured' ? 'capture' : undefined;
            return { result: { ...base, outcome: action ? 'paid' : 'captured' }, action, payment, returned: [] };
          }
          const amountOk = heldOk && isOrderTotal(order, payment);
          if (order.status === 'pending_payment' && !order.due && amountOk) {
            if (unbacked) throw unbackedRefusal();
            // The order paid, its order-paid outbox row and this payment applied: one statement.
            const paid = await lifecycle.markPaid(tx, orderId, currentTraceContext(), order.guest, payments.applyWhenPaid(payment.id, captured ? 'captured' : 'authorized'));
            if (paid) {
              counts.push(() => {
                metrics.attempts.inc({ provider: event.provider, outcome: 'succeeded' });
                metrics.timeToPay.observe(paid.secondsToPay);
              });
              return { result: { ...base, outcome: 'paid' }, action: captured ? undefined : 'capture', payment, returned: [] };
            }
          }
          // Late: the order cannot take this payment. Expire it now if its window is over (the sweeper
          // would), then give the money back. The buyer gets one email for it: the "payment returned" one,
          // which says the reservation expired and its items went back on sale (its reason, the amount being
          // right); the "reservation expired" one would say nothing was charged, beside a refund.
          let returned: number[] = [];
          if (order.status === 'pending_payment' && order.due) {
            const expired = await lifecycle.expire(tx, { orderIds: [orderId], limit: 1, email: !amountOk });
            if (expired.length > 0) counts.push(() => metrics.expired.inc({ via: 'payment' }));
            returned = expired.flatMap((e) => e.productIds);
          }
          return giveBackLate(amountOk ? undefined : held, returned);
        }
        case 'refund_failed':
        case 'disputed':
        case 'dispute_won':
        case 'dispute_lost': {
          // The order stays as it is (refunded, paid or shipped, its units where they are): its payment shows what
          // happened, and a person settles it with the buyer or the bank. Said once per payment, whichever of the
          // provider's events about it (Stripe sends several for one failed refund) moves it first.
          const kind = event.kind;
          const reason = event.failureCode;
          if (await payments.advance(tx, payment.id, kind, reason === undefined ? {} : { failureCode: reason })) {
            const context = { orderId, intentId, orderStatus: order.status, late: payment.late, reason };
            counts.push(() => {
              if (kind !== 'dispute_won') metrics.problems.inc({ provider: event.provider, problem: kind });
              if (kind === 'refund_failed') logger.error(context, 'a refund failed at the provider after it was accepted: the buyer has not got the money back; refund them another way');
              else if (kind === 'dispute_won') logger.info(context, 'a dispute of a payment was closed in our favour');
              else logger.warn(context, kind === 'disputed' ? 'a payment was disputed (chargeback): answer it at the provider' : 'a dispute of a payment was lost: the money went back to the buyer');
            });
          }
          return { result: { ...base, outcome: kind }, action: undefined, payment, returned: [] };
        }
        default:
          return { result: { ...base, outcome: 'ignored' }, action: undefined, payment, returned: [] };
      }
    }
  }

  /**
   * Carries out a decision at the provider (keyed), then records the payment's new state. `event`: the provider's event
   * that led to it, recorded in the same statement as that state where it can be (not a late payment's give-back);
   * returns whether it recorded it (false: a concurrent delivery had), undefined if it was left to the caller.
   */
  async function act(
    action: Action,
    payment: PaymentRow | undefined,
    late: boolean,
    event?: Parameters<PaymentsRepository['recordEvent']>[1],
    options: { countRefusedVoid?: boolean } = {},
  ): Promise<boolean | undefined> {
    if (!action || !payment) return undefined;
    const input = { intentId: payment.intentId, amountCents: payment.amountCents, idempotencyKey: keyFor(payment, action) };
    try {
      // A key already answered with a 5xx: the call may have happened. Read it at the provider before using the next key.
      const done = payment.keyRetries > 0 && provider.happened ? await provider.happened({ intentId: payment.intentId, action }) : false;
      if (!done) {
        if (action === 'capture') await provider.capture(input);
        else if (action === 'void') await provider.void(input);
        else await provider.refund(input);
      }
    } catch (error) {
      // A configuration problem (our key, account or mode) is counted apart: it hits every payment until fixed, and
      // otherwise showed only as a log line and money owed back (alert PaymentProviderMisconfigured).
      const misconfigured = error instanceof ProviderCallRefusedError && error.configuration;
      // A capture refused for good (Stripe: the intent canceled, its hold released or lapsed before our capture): no
      // money taken, and no retry of ours can pass. Not our failure: counted `refused`, logged at warn with the
      // provider's code, answered 503 PAYMENT_CAPTURE_REFUSED (a webhook's provider redelivers it; by then its event
      // about the released hold has settled the payment, and the redelivery captures nothing).
      const captureRefused = action === 'capture' && error instanceof ProviderCallRefusedError && error.permanent && !error.configuration;
      // `countRefusedVoid: false`: a void refused for good is counted by the caller, once it knows what it was (the admin
      // refund's: the hold captured at the provider, refunded instead, is `refused`; anything else `failed`).
      const refusedVoidLeft = options.countRefusedVoid === false && action === 'void' && error instanceof ProviderCallRefusedError && error.permanent && !error.configuration;
      if (!refusedVoidLeft) metrics.providerCalls.inc({ provider: payment.provider, action, outcome: misconfigured ? 'misconfigured' : captureRefused ? 'refused' : 'failed' });
      if (captureRefused) {
        logger.warn(
          { orderId: payment.orderId, intentId: payment.intentId, reason: error.code, err: error },
          'the provider refused to capture a hold (released or lapsed before our capture): nothing was taken; its event about the released hold settles the payment',
        );
        throw new PaymentCaptureRefusedError(payment.orderId, error.code);
      }
      // A 5xx, or a refusal that passes (a configuration fixed, a dispute won), is kept under the key: the next call needs
      // the next key. Conditional on the key this call used: callers that got the same 5xx at once move to one next key, not several.
      if ((error instanceof PaymentProviderUnavailableError || (error instanceof ProviderCallRefusedError && !error.permanent)) && error.keySpent) {
        await payments.spendKey(db.primary, payment.id, payment.keyRetries).catch((e: unknown) => logger.warn({ err: e, intentId: payment.intentId }, 'could not record the spent idempotency key'));
      }
      throw error;
    }
    metrics.providerCalls.inc({ provider: payment.provider, action, outcome: 'succeeded' });
    const status = action === 'capture' ? 'captured' : action === 'void' ? 'voided' : 'refunded';
    // Counted, and the buyer told, by whichever moves the payment there first: this call, or the provider's event (see `decide`).
    if (!late || status === 'captured') {
      if (event) return payments.advanceAndRecordEvent(db.primary, payment.id, status, event);
      await payments.advance(db.primary, payment.id, status);
      return undefined;
    }
    const moved = await db.primary.transaction(async (tx) => {
      if (!(await payments.advance(tx, payment.id, status))) return false;
      await tellBuyerReturned(tx, payment, status);
      return true;
    });
    if (moved) metrics.latePayments.inc({ provider: payment.provider, action: status });
    return undefined;
  }

  /**
   * What an event, or a pay call finishing the capture of its paid order, answers when the provider refused the call it
   * led to: the void or refund of a late payment, or the capture of a payment that made its order paid (`act` counted
   * the call: `misconfigured` for our key, account or mode, `failed` otherwise). Not a 500 read as our bug: the one
   * mapping of a refusal (`answerForRefusal`: our key → 503 PAYMENT_PROVIDER_UNAVAILABLE, anything else → 502
   * PAYMENT_PROVIDER_ERROR), a 5xx still, so that the provider redelivers it. A late payment stays owed back (held or
   * taken): the redelivery and the give-back retry make the same keyed call, and the retry gives up on a refusal for
   * good (`refund_failed`). A capture stays to be made (the order paid, its payment authorized): the redelivery or the
   * buyer's next pay call makes it once the refusal passed (a configuration fixed). A void or refund the provider says
   * is already done (canceled, refunded) never gets here: the provider adapter takes it as done; nor does a capture
   * refused for good (its hold released), which `act` answers with 503 PAYMENT_CAPTURE_REFUSED. A card decline of our
   * call (Stripe's `card_error`) is such a refusal too: no buyer's card is being tried here (the webhook's caller is
   * the provider delivering an event, which a 402 tells nothing; a pay call's order is paid already), so
   * `answerForRefusal` for the shop's call gives the 502 of any other refusal (counted `failed`, logged at error).
   */
  function answerForCallRefused(error: unknown, action: Action, payment: PaymentRow | undefined): unknown {
    if (!(error instanceof ProviderCallRefusedError) || !payment || !action) return error;
    const passing = !error.permanent && !error.configuration;
    const context = { orderId: payment.orderId, intentId: payment.intentId, action, reason: error.code, err: error };
    const message =
      action === 'capture'
        ? error.configuration
          ? 'the provider refused to capture a payment as a configuration problem of ours (wrong key, account or mode?): paid orders stay uncaptured until it is fixed'
          : 'the provider refused to capture a payment for now: the redelivered event or the next pay call captures it'
        : error.configuration
          ? 'the provider refused to give back a late payment as a configuration problem of ours (wrong key, account or mode?): the money stays owed back until it is fixed'
          : passing
            ? 'the provider refused to give back a late payment for now: it stays owed back, retried later'
            : 'the provider refused to give back a late payment: the money is not back; the give-back retry gives up on it for good';
    if (passing) logger.warn(context, message);
    else logger.error(context, message);
    return answerForRefusal(payment.orderId, error, 'shop');
  }

  /**
   * Processes one verified provider event; safe to call any number of times, in any order. `ownPayCall`: the event is
   * the answer to this pay call's own authorization (its order id set), so no read first of whether it was seen: it was
   * only if a concurrent pay call under the same key processed it, and then its recorded decision was carried out
   * (the capture's status and the event's record are one statement, a late payment's event is recorded after its
   * give-back), so deciding it again under the order's lock does nothing more, and recording it counts it a duplicate,
   * as the read did. One round trip and one pool checkout fewer on the pay call.
   */
  async function process(event: PaymentEvent, options: { ownPayCall?: boolean } = {}): Promise<ProcessOutcome> {
    // Whether it was processed already, and its payment if known (what `decide` locks the order of), in one round trip.
    const { seen, payment: known } =
      options.ownPayCall && event.orderId !== undefined
        ? { seen: false, payment: undefined }
        : await payments.eventSeenAndPayment(db.primary, event.provider, event.id, event.kind === 'ignored' ? undefined : event.intentId || undefined);
    if (seen) {
      metrics.webhooks.inc({ provider: event.provider, outcome: 'duplicate' });
      return { outcome: 'duplicate' };
    }
    let outcome: ProcessOutcome = { outcome: 'ignored' };
    const record = (of: ProcessOutcome) => ({ provider: event.provider, eventId: event.id, type: event.type, intentId: event.intentId, outcome: of.outcome });
    let recorded: boolean | undefined;
    if (event.kind !== 'ignored') {
      // A webhook's authorization or capture the provider's own ledger does not hold (the test provider): it pays nothing.
      // A capture needs a capture there, not only an authorization (that made its order paid as captured, nothing taken).
      const unbacked =
        !options.ownPayCall && (event.kind === 'authorized' || event.kind === 'captured') && event.intentId !== undefined && provider.holds !== undefined
          ? !(await provider.holds(event.intentId, event.kind))
          : false;
      const decision = await decide(event, known, unbacked).catch((error: unknown) => {
        const orderId = known?.orderId ?? event.orderId;
        if (!(error instanceof ProviderCallRefusedError) || orderId === undefined) throw error;
        logger.error(
          { orderId, intentId: event.intentId, eventId: event.id, reason: error.code },
          event.kind === 'captured'
            ? 'a signed capture of a payment the provider holds no capture of: nothing recorded, the order not marked paid'
            : 'a signed authorization of a payment the provider holds no authorization of: the order was not marked paid',
        );
        throw answerForRefusal(orderId, error, 'shop');
      });
      await invalidate(decision.returned);
      // A capture's new status and this event's record go in one statement (`act`); otherwise it is recorded below.
      recorded = await act(decision.action, decision.payment, decision.result.outcome === 'late', record(decision.result)).catch((error: unknown) => {
        throw answerForCallRefused(error, decision.action, decision.payment);
      });
      outcome = decision.result;
    }
    // Deliveries of one event at once all get past `eventSeenAndPayment` and decide (under the order's lock, to the same
    // effect); the one that records it is the one processed, the others are duplicates.
    recorded ??= await payments.recordEvent(db.primary, record(outcome));
    metrics.webhooks.inc({ provider: event.provider, outcome: recorded ? 'processed' : 'duplicate' });
    return outcome;
  }

  async function requireOrder(orderId: number, customerId: number | undefined): Promise<Order> {
    const order = await deps.orders.find(db.primary, orderId, customerId);
    if (!order) throw new OrderNotFoundError(orderId);
    return order;
  }

  const service = {
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
      try {
        return await process(event);
      } catch (error) {
        // A signed event not applied (PostgreSQL or Redis down, a lock timeout): the provider retries it, but while
        // this lasts paid orders stay unpaid; its 5xx alone is lost in the whole shop's error ratio.
        metrics.webhooks.inc({ provider: event.provider, outcome: 'failed' });
        throw error;
      }
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
          return { order: await requireOrder(order.id, input.customerId), replayed: false };
        }
        // The retry of the call that paid (its reply lost in a timeout): answered as that call was, not as a second payment.
        if (input.idempotencyKey !== undefined && applied !== undefined && provider.tokenIntentId?.(order.id, tokenKey) === applied.intentId) return { order, replayed: true };
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
        // answered 200 with the order another payment paid.
        if (result.outcome === 'late') throw new OrderNotPayableError(order.id, after.status);
        if (after.status !== 'paid' && after.status !== 'fulfilled') throw new OrderNotPayableError(order.id, after.status);
        return { order: after, replayed: false };
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
          return payments.advance(tx, payment.id, 'refund_failed', { failureCode: refusal.code ?? 'refused' });
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
        if (order.status !== 'paid' || !(await lifecycle.startRefund(tx, orderId))) throw new OrderNotRefundableError(orderId, order.status);
        return true;
      });
      if (!started) return { order: await requireOrder(orderId, undefined) };
      const applied = await payments.applied(db.primary, orderId);
      if (applied) {
        // A dispute won leaves the money with us, to refund; one lost already gave it back.
        const action = applied.status === 'captured' || applied.status === 'dispute_won' ? 'refund' : applied.status === 'authorized' ? 'void' : undefined;
        await act(action, applied, false, undefined, { countRefusedVoid: false }).catch(async (error: unknown) => {
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
        return lifecycle.markRefunded(tx, orderId);
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
     * Admin: marks the order's failed refund or lost dispute settled with the buyer (paid another way, written off), so it
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
        if (order.status !== 'paid') throw new OrderNotFulfillableError(orderId, order.status);
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

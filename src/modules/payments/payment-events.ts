import type { Logger } from 'pino';
import { isStorableText } from '../../lib/storable-text.ts';
import type { Database } from '../../platform/db/client.ts';
import { enqueueInTransaction, type DbOrTx } from '../../platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import { currentTraceContext } from '../../platform/telemetry/trace-context.ts';
import type { StockGate } from '../inventory/index.ts';
import type { LockedOrder, OrderLifecycleRepository, PurchaseCapPassed } from '../orders/index.ts';
import { ProviderCallRefusedError, type PaymentEvent, type PaymentProvider } from './payment-provider.ts';
import {
  answerForRefusal,
  PaymentCaptureRefusedError,
  PaymentProviderUnavailableError,
  WebhookMalformedError,
  WebhookSignatureInvalidError,
} from './payments.errors.ts';
import { PAYMENT_PROBLEMS, PROVIDER_CALL_ACTIONS, PROVIDER_CALL_OUTCOMES, type PaymentMetrics } from './payments.metrics.ts';
import { PAYMENT_STATUS_RANK, type PaymentRow, type PaymentsRepository } from './payments.repository.ts';

/** What applying a provider's events to orders uses: `PaymentServiceDeps` without what only the buyer's and admin's calls need. */
export interface PaymentEventsDeps {
  db: Database;
  provider: PaymentProvider;
  lifecycle: OrderLifecycleRepository;
  payments: PaymentsRepository;
  gate: StockGate;
  metrics: PaymentMetrics;
  logger: Logger;
}

/** What processing an event decided and did. */
export interface ProcessOutcome {
  outcome: 'duplicate' | 'ignored' | 'unknown_payment' | 'declined' | 'paid' | 'captured' | 'refund_requested' | 'late' | 'voided' | 'refunded' | 'partially_refunded' | 'settled' | PaymentProblem | 'dispute_won';
  orderId?: number;
  /**
   * This delivery recorded the event (the one processed); false when another delivery of the same event had (a
   * duplicate), as a concurrent pay call under the same Idempotency-Key does: the key names the intent, so both
   * process one authorization event, and only one records it. Not set when nothing was processed.
   */
  recorded?: boolean;
  /**
   * `late` because the order is a guest's whose buyer's counts (paid and unpaid units) are over this cap: the pay call's
   * 409 ORDER_NOT_PAYABLE names it. Not set for any other late payment.
   */
  capPassed?: PurchaseCapPassed;
}

type Action = 'capture' | 'void' | 'refund' | undefined;

/** What the provider reports about taken money afterwards that a person has to act on (`salescale_payment_problems_total`). */
type PaymentProblem = 'refund_failed' | 'disputed' | 'dispute_lost';

/** The provider's reports about money a payment took, which apply only to a payment we record (never create one). */
const AFTER_PAYMENT_KINDS: ReadonlySet<PaymentEvent['kind']> = new Set(['refunded', 'refund_failed', 'disputed', 'dispute_won', 'dispute_lost']);

/** The longest event or payment id a provider sends (Stripe: "object IDs we generate will never exceed 255 characters"), and the longest failure code we take. */
const MAX_PROVIDER_ID_LENGTH = 255;

/**
 * A refusal code from the provider's API, as stored on a payment (`failure_code`, shown to admins): as sent when at most
 * `MAX_PROVIDER_ID_LENGTH` characters, the bound a webhook's failure code is held to, else a fixed marker. Not cut: a cut
 * code is one the provider never sent, to be looked up in vain; the whole code is in the log line that reports it.
 */
export function storableFailureCode(code: string | undefined): string | undefined {
  return code === undefined || code.length <= MAX_PROVIDER_ID_LENGTH ? code : 'overlong_provider_code';
}

/** What `process` decided under the order's lock: its outcome, the provider call to make, the units that came back. */
interface Decision {
  result: ProcessOutcome;
  action: Action;
  payment?: PaymentRow;
  returned: number[];
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
 * Payment events: the pay call, provider webhooks and admin refunds, all through one state machine
 * (`process`). Its rules, each decided under the order's row lock:
 * - a payment authorized or captured while the order waits within its window makes the order paid
 *   (once: the conditional status change), and is captured (once: our idempotency key);
 * - any other payment for the order — after expiry, after cancellation, a second payment — is late:
 *   an authorization is voided, a capture refunded, and it is counted and logged;
 * - a payment's status only moves forward, so replayed or reordered events change nothing.
 * The provider call happens after the commit; if it fails, the event is not recorded, the provider
 * redelivers it (or the buyer retries), and the same decision leads to the same keyed call.
 */
export function createPaymentEvents(deps: PaymentEventsDeps) {
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
   * paid → refunded (`markRefunded`), and the buyer told their money is on its way, in that transaction: the "payment
   * returned" email (reason `refunded_by_shop`) with what the order's payment now says was given back, a hold released
   * (`voided`) or a capture refunded. Written only by the conditional status change, so once per order whoever finishes the
   * refund (the admin's call, the give-back retry, the provider's event of it coming first), and only once the money is
   * back: the refund's failing call leaves the order paid and writes nothing. An order whose payment gave nothing back
   * through us (paid before payments existed, a failed refund settled by hand) is refunded without it.
   */
  async function refundOrder(tx: DbOrTx, orderId: number): Promise<{ productIds: number[] } | undefined> {
    // Read under the caller's lock on the order, which a partial refund's or a lost dispute's counting holds too: what
    // they counted is final here. Only what neither counted is left to count (nothing after a dispute lost in full).
    const payment = await payments.applied(tx, orderId);
    const refunded = await lifecycle.markRefunded(tx, orderId, payment ? payment.refundedCountedCents + payment.chargedBackCountedCents : 0);
    if (!refunded) return undefined;
    if (payment) await payments.countRefunded(tx, payment.id, payment.refundedCountedCents + refunded.refundedCents);
    const order = await lifecycle.buyerOf(tx, orderId);
    if (order && (payment?.status === 'voided' || payment?.status === 'refunded')) {
      await enqueueInTransaction(tx, {
        queue: QUEUES.email,
        name: JOBS.sendPaymentReturned,
        data: { orderId, email: order.email, name: order.name, amountCents: payment.amountCents, currency: payment.currency, action: payment.status, reason: 'refunded_by_shop' },
      });
    }
    return refunded;
  }

  /**
   * Counts money the provider gave back of the payment that paid its order, without the order becoming refunded (a
   * partial refund in its dashboard; a full one of an order shipped), in `refunds_cents`: what `refundedCents`, the
   * amount refunded so far, adds to what the payment counted, in its order's currency and the hour of the event; in the
   * transaction that decides the event, under its order's lock. A redelivered event, or an older one after a newer,
   * adds nothing. A late payment's give-back never counted as revenue, so it counts nothing. An event in another currency
   * than the order (`currency`) is not mixed into the order's: logged, counted nothing.
   */
  async function countProviderRefund(tx: DbOrTx, order: LockedOrder, payment: PaymentRow, refundedCents: number, currency: string | undefined): Promise<void> {
    if (!payment.applied) return;
    if (!sameCurrency(order, currency)) {
      logger.warn({ orderId: order.id, intentId: payment.intentId, refundedCents, currency, orderCurrency: order.currency }, 'a refund at the provider in another currency than the order: not counted in the analytics');
      return;
    }
    const added = await payments.countRefunded(tx, payment.id, refundedCents);
    if (added <= 0) return;
    await enqueueInTransaction(tx, {
      queue: QUEUES.notifications,
      name: JOBS.updateAnalytics,
      data: { eventType: 'payment_partially_refunded', orderId: order.id, amountCents: added, currency: order.currency, occurredAt: new Date().toISOString() },
    });
  }

  /**
   * Decides an event; `known` is its payment as read before (`eventSeenAndPayment`), if any. `unbacked`: the provider
   * does not hold it as the event says (`holds`: no authorization, or for a capture no capture), so it cannot make its
   * order paid, nor its payment captured: refused (a
   * `ProviderCallRefusedError`, permanent) before anything is written, the transaction rolled back. It is still given
   * back when late (a void of nothing is harmless), as any late payment. `ownPayCall`: the event is the pay call's own
   * answer (its decline is its payment's, recorded `failed`).
   */
  async function decide(event: PaymentEvent, known: PaymentRow | undefined, options: { unbacked?: boolean; ownPayCall?: boolean } = {}): Promise<Decision> {
    const { unbacked = false } = options;
    const orderId = known?.orderId ?? event.orderId;
    // What the provider reports of money taken (a refund, a dispute) concerns a payment that exists: of one no payment of
    // ours records (another integration's intent, a forged or mistaken event) nothing is invented, nothing applied.
    const afterPayment = AFTER_PAYMENT_KINDS.has(event.kind);
    // Nor is a failed attempt the provider reports of an intent no payment records: it held nothing, and nothing waits on
    // it (a Stripe intent is recorded before its client secret reaches the buyer, so its decline finds it recorded; one
    // that failed stays usable at Stripe, not dead as a canceled one, which is why a release is recorded and this is not).
    // The pay call's own decline is its payment's first news, recorded `failed` (shown on the order, counted declined).
    const failedUnknown = event.kind === 'failed' && !options.ownPayCall;
    // Counters move only for what was committed: a transaction that rolls back (a failure at COMMIT, a lost
    // connection) is redelivered and decided again, and counting inside it counted that payment twice.
    const counts: (() => void)[] = [];
    /** Nothing recorded of a payment; a report of money taken is logged (once committed), as it may need a look. */
    const unknownPayment = (lockedOrderId?: number): Decision => {
      if (afterPayment) {
        const context = { orderId: lockedOrderId, intentId: event.intentId, eventId: event.id, type: event.type };
        counts.push(() => logger.warn(context, 'a refund or dispute of a payment this shop never recorded: acknowledged, nothing recorded or applied'));
      } else if (failedUnknown) {
        const context = { orderId: lockedOrderId, intentId: event.intentId, eventId: event.id, type: event.type, reason: event.failureCode };
        counts.push(() => logger.info(context, 'a failed attempt of a payment this shop never recorded: acknowledged, nothing recorded'));
      }
      return { result: { outcome: 'unknown_payment' }, action: undefined, returned: [] };
    };
    if (!orderId || !event.intentId) {
      const decision = unknownPayment();
      for (const count of counts) count();
      return decision;
    }
    const intentId = event.intentId;
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
      // A refund or dispute of an intent no payment records (read again under the order's lock: a payment is created only
      // under it) is acknowledged as `unknown_payment`, so that the provider stops redelivering it, and logged; so is a
      // failed attempt of one (`failedUnknown`).
      if ((event.kind === 'voided' || afterPayment || failedUnknown) && !known) {
        const order = await lifecycle.lockForPayment(tx, orderId);
        if (!order) return unknownPayment();
        const payment = await payments.lockExisting(tx, event.provider, intentId);
        if (payment) return decideLocked(tx, order, payment);
        if (afterPayment || failedUnknown || order.status !== 'pending_payment' || order.due) return unknownPayment(order.id);
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
        case 'voided': {
          const moved = await payments.advance(tx, payment.id, 'voided');
          if (moved && payment.late) {
            countLate('voided');
            await tellBuyerReturned(tx, payment, 'voided');
          }
          // The shop was not paid for a paid order: a payment problem (`hold_lapsed`), open until an admin marks it resolved
          // or refunds the order (see `lapsedHoldSql`). Not while a refund is asked for: that refund's void is what released
          // it (its event may come before our call records it). Counted and logged once per payment, after the commit.
          if (moved && payment.applied && order.status === 'paid' && payment.status === 'authorized' && !order.refundRequested) {
            counts.push(() => {
              metrics.problems.inc({ provider: event.provider, problem: 'hold_lapsed' });
              logger.error({ orderId, intentId }, 'the hold of a paid, not yet captured order was released at the provider; the order needs attention');
            });
          }
          return { result: { ...base, outcome: 'voided' }, action: undefined, payment, returned: [] };
        }
        case 'refunded': {
          // A late hold we released: Stripe reports the release of a `requires_capture` intent it cancels as its charge
          // refunded too. Nothing more came back than the void gave back, and the buyer was told of it once.
          if (payment.late && payment.status === 'voided') return { result: { ...base, outcome: 'settled' }, action: undefined, payment, returned: [] };
          // A provider reports every refund with the amount refunded so far (Stripe's charge.refunded, also for a
          // partial refund made in its dashboard): only all of it refunds the order and puts its units back on sale.
          // An amount in another currency than the payment's says neither (5000 JPY is not all of 3000 USD cents, nor
          // part of it): logged, nothing changed nor counted; the provider's event in the payment's currency decides.
          if (!sameCurrency(payment, event.currency)) {
            logger.warn(
              { orderId, intentId, refundedCents: event.amountCents, currency: event.currency, paymentCurrency: payment.currency },
              'a refund at the provider in another currency than the payment: the order and its payment left as they are, nothing counted',
            );
            return { result: { ...base, outcome: 'ignored' }, action: undefined, payment, returned: [] };
          }
          if (event.amountCents !== undefined && event.amountCents < payment.amountCents) {
            logger.info({ orderId, intentId, refundedCents: event.amountCents, amountCents: payment.amountCents }, 'part of a payment was refunded at the provider; the order stays as it is');
            await countProviderRefund(tx, order, payment, event.amountCents, event.currency);
            return { result: { ...base, outcome: 'partially_refunded' }, action: undefined, payment, returned: [] };
          }
          if ((await payments.advance(tx, payment.id, 'refunded')) && payment.late) {
            countLate('refunded');
            await tellBuyerReturned(tx, payment, 'refunded');
          }
          const refunded = payment.applied ? await refundOrder(tx, orderId) : undefined;
          // Not made refunded by it (shipped, or refunded already: then counted in full, and this adds nothing): the money counted all the same.
          if (!refunded) await countProviderRefund(tx, order, payment, event.amountCents ?? payment.amountCents, event.currency);
          return { result: { ...base, outcome: 'refunded' }, action: undefined, payment, returned: refunded?.productIds ?? [] };
        }
        case 'authorized':
        case 'captured': {
          const captured = event.kind === 'captured';
          const unbackedRefusal = () =>
            captured
              ? new ProviderCallRefusedError(`the provider holds no capture of ${intentId}`, { permanent: true, code: 'no_capture' })
              : new ProviderCallRefusedError(`the provider holds no authorization of ${intentId}`, { permanent: true, code: 'no_authorization' });
          // A hold the buyer made on an intent released before its event reached us (the cancel-open-intents job's cancel of
          // an order that can no longer be paid, in the instant the buyer confirmed; or Stripe's events out of order): a late
          // payment given back, as when this event comes first, so the buyer is told (the release itself is done).
          if (!captured && payment.status === 'voided' && !payment.late && !payment.applied) {
            await payments.advance(tx, payment.id, 'voided', { late: true });
            countLate('voided');
            await tellBuyerReturned(tx, payment, 'voided');
            logger.warn({ orderId, intentId, orderStatus: order.status }, 'a payment was authorized on an intent released meanwhile: given back as late');
            return { result: { ...base, outcome: 'late' }, action: undefined, payment: { ...payment, late: true }, returned: [] };
          }
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
           * order gave back with it (its expiry or its refund); `capPassed`: the guest order's buyer is over that cap.
           */
          const giveBackLate = async (wrongAmount: typeof held | undefined, returned: number[], capPassed?: PurchaseCapPassed): Promise<Decision> => {
            await payments.advance(tx, payment.id, captured ? 'captured' : 'authorized', { late: true, ...wrongAmount });
            if (wrongAmount) logger.error(lateContext, 'a payment of another amount or currency than the order total arrived: not taken, giving it back');
            else logger.warn({ ...lateContext, ...(capPassed && { capPassed }) }, 'a payment arrived for an order that cannot take it: giving it back');
            return { result: { ...base, outcome: 'late', ...(capPassed && { capPassed }) }, action: captured ? 'refund' : 'void', payment: { ...payment, ...wrongAmount, late: true }, returned };
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
                // Not `refundOrder`: the give-back's own "payment returned" email (amount_mismatch) tells the buyer.
                const refunded = await lifecycle.markRefunded(tx, orderId, payment.refundedCountedCents + payment.chargedBackCountedCents);
                if (refunded) await payments.countRefunded(tx, payment.id, payment.refundedCountedCents + refunded.refundedCents);
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
          let capPassed: PurchaseCapPassed | undefined;
          if (order.status === 'pending_payment' && !order.due && amountOk) {
            if (unbacked) throw unbackedRefusal();
            // The order paid, its order-paid outbox row and this payment applied: one statement.
            const paid = await lifecycle.markPaid(tx, orderId, currentTraceContext(), order.guest, payments.applyWhenPaid(payment.id, captured ? 'captured' : 'authorized'));
            if (paid && 'secondsToPay' in paid) {
              counts.push(() => {
                metrics.attempts.inc({ provider: event.provider, outcome: 'succeeded' });
                metrics.timeToPay.observe(paid.secondsToPay);
              });
              return { result: { ...base, outcome: 'paid' }, action: captured ? undefined : 'capture', payment, returned: [] };
            }
            // A guest order its buyer's counts are over a cap of: late, the cap named to the pay call.
            capPassed = paid?.capPassed;
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
          return giveBackLate(amountOk ? undefined : held, returned, capPassed);
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
            // A lost dispute of the payment that paid its order: one chargeback, once (the status moves once), in the hour
            // it closed, apart from refunds: net revenue = revenue − refunds − chargebacks. Its money is the disputed
            // amount, at most what refunds counted left of the payment (kept on it, so a refund after it, the admin's
            // included, counts only what neither counted): money leaving counts once in all.
            // One in another currency than the order is not mixed into the order's: logged (once committed), counted nothing.
            if (kind === 'dispute_lost' && payment.applied) {
              if (sameCurrency(order, event.currency)) {
                const chargedBack = await payments.countChargeback(tx, payment.id, event.amountCents ?? payment.amountCents);
                await enqueueInTransaction(tx, {
                  queue: QUEUES.notifications,
                  name: JOBS.updateAnalytics,
                  data: { eventType: 'chargeback_lost', orderId, amountCents: chargedBack, currency: order.currency, occurredAt: new Date().toISOString() },
                });
              } else {
                const mismatch = { orderId, intentId, disputedCents: event.amountCents, currency: event.currency, orderCurrency: order.currency };
                counts.push(() => logger.warn(mismatch, 'a lost dispute in another currency than the order: not counted in the analytics'));
              }
            }
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
    options: { countRefusedVoid?: boolean; refundCents?: number } = {},
  ): Promise<boolean | undefined> {
    if (!action || !payment) return undefined;
    // `refundCents`: a refund of only that much (the rest of a payment a dispute lost in part), under a key of its own
    // that names the amount: never the key of a refund of all of it, which the provider would answer as that refund.
    const part = action === 'refund' && options.refundCents !== undefined ? { amountCents: options.refundCents, currency: payment.currency } : undefined;
    const input = { intentId: payment.intentId, amountCents: payment.amountCents, idempotencyKey: keyFor(payment, part ? `refund-rest-${part.amountCents}` : action), ...(part ? { part } : {}) };
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
      const decision = await decide(event, known, { unbacked, ownPayCall: options.ownPayCall }).catch((error: unknown) => {
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
    return { ...outcome, recorded };
  }

  /**
   * A provider's webhook, as received: verified and parsed by the provider over the raw bytes, then
   * processed. Refusals (400) are counted by kind, so forged or mis-signed deliveries (a webhook
   * secret rotated at the provider but not here) show in `salescale_payment_webhooks_total`.
   */
  async function receiveWebhook(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): Promise<ProcessOutcome> {
    let event: PaymentEvent;
    try {
      event = provider.parseWebhook(rawBody, headers);
      // Signed is not storable: an id with a NUL or an unpaired surrogate is no event we can record.
      const unstorable = Object.entries(event).find(([, value]) => typeof value === 'string' && !isStorableText(value));
      if (unstorable) throw new WebhookMalformedError(`${unstorable[0]} holds a NUL character or an unpaired surrogate`);
      // Nor is an id longer than any provider's (Stripe: at most 255 characters): the ids are indexed, and an entry of a
      // few kilobytes is refused by PostgreSQL, a 500 on every redelivery. Nor a failure code longer than that: the
      // providers' codes are short identifiers (Stripe's `card_declined`, `expired_or_canceled_card`), and one of any
      // length was stored on the payment and shown to buyers and admins. Refused, not cut: a cut code is one the
      // provider never sent, and the event is not recorded as seen, so a corrected redelivery is processed.
      const overlong = (['id', 'intentId', 'failureCode'] as const).find((field) => (event[field]?.length ?? 0) > MAX_PROVIDER_ID_LENGTH);
      if (overlong) throw new WebhookMalformedError(`${overlong} is longer than ${MAX_PROVIDER_ID_LENGTH} characters`);
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
  }

  return { process, receiveWebhook, act, answerForCallRefused, invalidate, refundOrder };
}

/** Whether an event's currency (absent: the payment's, so the order's) is the order's (the one the rollups count it in), or the payment's. */
function sameCurrency(order: { currency: string }, currency: string | undefined): boolean {
  return currency === undefined || currency.toUpperCase() === order.currency.toUpperCase();
}

import { ConflictError, DomainError, InvalidInputError, UnprocessableError } from '../../shared/errors.ts';
import type { PurchaseCapPassed } from '../orders/index.ts';
import type { ProviderCallRefusedError } from './payment-provider.ts';

export class PaymentDeclinedError extends DomainError {
  constructor(orderId: number, code: string | undefined) {
    super('PAYMENT_DECLINED', 'payment_required', 'the payment was declined; the order keeps waiting for a payment until its window ends', {
      orderId,
      declineCode: code ?? 'card_declined',
    });
  }
}

/** An admin marked resolved an order whose payments have no refund failure or lost dispute to resolve. */
export class PaymentProblemNotFoundError extends ConflictError {
  constructor(orderId: number, paymentStatus: string | null) {
    super('PAYMENT_PROBLEM_NOT_FOUND', `order ${orderId} has no failed refund, lost dispute or lapsed hold to mark resolved`, { orderId, paymentStatus });
  }
}

/** `details.reason` of an ORDER_NOT_PAYABLE whose guest order's buyer is over a purchase cap: a cause, not a code. */
const PURCHASE_LIMIT_REASON = 'PURCHASE_LIMIT';

/**
 * An order that cannot take a payment now. `capPassed`: a guest order still waiting (`pending_payment`, the status that
 * is otherwise payable) whose buyer's paid and unpaid units are over that cap (its payment was voided): still 409
 * ORDER_NOT_PAYABLE, its message naming the cap and its details carrying `reason: 'PURCHASE_LIMIT'` with the fields of
 * checkout's PURCHASE_LIMIT_EXCEEDED, so a client can tell the buyer why.
 */
export class OrderNotPayableError extends ConflictError {
  constructor(orderId: number, status: string, capPassed?: PurchaseCapPassed) {
    const overCap = status === 'pending_payment' ? capPassed : undefined;
    super(
      status === 'expired' ? 'ORDER_EXPIRED' : status === 'paid' || status === 'fulfilled' ? 'ORDER_ALREADY_PAID' : 'ORDER_NOT_PAYABLE',
      overCap
        ? `order ${orderId} cannot be paid: its buyer's paid and unpaid units would pass the purchase cap of product ${overCap.productId} (at most ${overCap.limit} per customer${overCap.saleEventId === null ? '' : ` in sale event ${overCap.saleEventId}`})`
        : `order ${orderId} cannot be paid (${status})`,
      overCap ? { orderId, status, reason: PURCHASE_LIMIT_REASON, ...overCap } : { orderId, status },
    );
  }
}

export class OrderNotRefundableError extends ConflictError {
  constructor(orderId: number, status: string, paymentStatus?: 'disputed') {
    super(
      'ORDER_NOT_REFUNDABLE',
      paymentStatus ? `order ${orderId} cannot be refunded while its payment is disputed: the dispute's outcome gives the money back or not` : `order ${orderId} cannot be refunded (${status}); only paid orders can`,
      paymentStatus ? { orderId, status, paymentStatus } : { orderId, status },
    );
  }
}

/**
 * An admin asked again for the refund of an order whose refund the provider refused for good (the payment
 * `refund_failed`, not yet marked resolved): asking again moves no money. Settle it with the buyer at the provider or
 * another way, mark it resolved (`/payment-problem/resolve`), then the refund finishes the order without a provider call.
 */
export class PaymentProblemOpenError extends ConflictError {
  constructor(orderId: number, paymentStatus: string, failureCode: string | null) {
    super(
      'PAYMENT_PROBLEM_OPEN',
      `order ${orderId} cannot be refunded by asking again: the provider refused its refund for good (${failureCode ?? 'refused'}); pay the buyer back another way, then mark it resolved`,
      { orderId, paymentStatus, failureCode },
    );
  }
}

/** Why a paid order cannot ship: its refund was asked for, or its payment was never captured. */
export type UnfulfillableReason = { refundRequested: true } | { paymentStatus: string };

export class OrderNotFulfillableError extends ConflictError {
  constructor(orderId: number, status: string, reason?: UnfulfillableReason) {
    const message =
      reason === undefined
        ? `order ${orderId} cannot be fulfilled (${status}); only paid orders can`
        : 'refundRequested' in reason
          ? `order ${orderId} cannot be fulfilled: its refund was asked for`
          : `order ${orderId} cannot be fulfilled: its payment was not captured (${reason.paymentStatus})`;
    super('ORDER_NOT_FULFILLABLE', message, { orderId, status, ...reason });
  }
}

export class PaymentTokenRequiredError extends UnprocessableError {
  constructor() {
    super('PAYMENT_TOKEN_REQUIRED', 'the test provider needs `token`: "tok_ok" (approved) or "tok_declined"');
  }
}

export class UnknownPaymentTokenError extends UnprocessableError {
  constructor(token: string) {
    super('UNKNOWN_PAYMENT_TOKEN', 'unknown test card token; use "tok_ok" or "tok_declined"', { token: token.slice(0, 40) });
  }
}

export class PaymentAmountUnsupportedError extends UnprocessableError {
  constructor(orderId: number, amountCents: number, currency: string, reason: string | undefined) {
    super('PAYMENT_AMOUNT_UNSUPPORTED', `the payment provider does not take ${amountCents} (minor units) in ${currency}; the order cannot be paid this way`, {
      orderId,
      amountCents,
      currency,
      reason: reason ?? 'amount_invalid',
    });
  }
}

export class PaymentCurrencyUnsupportedError extends UnprocessableError {
  constructor(orderId: number, currency: string) {
    super('PAYMENT_CURRENCY_UNSUPPORTED', `the payment provider does not take payments in ${currency}; the order cannot be paid this way`, { orderId, currency });
  }
}

export class TestPaymentsRefusedError extends DomainError {
  constructor() {
    super('TEST_PAYMENTS_REFUSED', 'forbidden', 'the test payment provider is refused in production; configure PAYMENT_PROVIDER=stripe');
  }
}

export class UnknownPaymentProviderError extends DomainError {
  constructor(provider: string) {
    super('PAYMENT_PROVIDER_NOT_FOUND', 'not_found', `no payment provider "${provider.slice(0, 40)}" is configured here`, { provider: provider.slice(0, 40) });
  }
}

export class WebhookSignatureInvalidError extends InvalidInputError {
  constructor(reason: string) {
    super('WEBHOOK_SIGNATURE_INVALID', `the webhook signature does not verify: ${reason}`);
  }
}

export class WebhookMalformedError extends InvalidInputError {
  constructor(reason: string) {
    super('WEBHOOK_MALFORMED', `the webhook body is not an event we understand: ${reason}`);
  }
}

/**
 * The payment provider refused one of our calls for a reason that is neither the buyer's (a decline, an amount or
 * currency it does not take) nor our key's (PAYMENT_PROVIDER_UNAVAILABLE): a parameter it does not take, a charge too
 * old to refund. A bug or a change at the provider: 502 with this stable code, the provider's own wording only in the
 * log (its code in `providerCode`, for the audit trail).
 */
export class PaymentProviderError extends DomainError {
  readonly providerCode: string | undefined;
  constructor(providerCode: string | undefined) {
    super('PAYMENT_PROVIDER_ERROR', 'bad_gateway', 'the payment provider refused the request; nothing was charged; the shop has been told');
    this.providerCode = providerCode;
  }
}

/** `Retry-After` of a 503 PAYMENT_PROVIDER_UNAVAILABLE: a dependency down (the web role's RETRY_AFTER_S.unavailable). */
export const PAYMENT_PROVIDER_RETRY_AFTER_S = 2;

export class PaymentProviderUnavailableError extends DomainError {
  /**
   * The provider answered with a 5xx (not a timeout or a lost connection): it kept that answer under the call's
   * idempotency key (Stripe: "including 500 errors", at least 24 hours), so retrying under that key cannot succeed.
   */
  readonly keySpent: boolean;
  /**
   * `misconfigured`: the provider refused our own call as a configuration problem of ours (a wrong, revoked or
   * restricted key; the buyer did nothing wrong, and nothing was charged): the same 503 and code, a message that does
   * not promise it passes shortly.
   */
  constructor(options: { keySpent?: boolean; misconfigured?: boolean } = {}) {
    super(
      'PAYMENT_PROVIDER_UNAVAILABLE',
      'unavailable',
      options.misconfigured
        ? 'the payment provider cannot take payments from this shop right now; nothing was charged; please try again later'
        : 'the payment provider did not answer; retry shortly (nothing was charged twice)',
    );
    this.keySpent = options.keySpent ?? false;
    // A dependency down, as DATABASE_UNAVAILABLE and REDIS_UNAVAILABLE (RETRY_AFTER_S.unavailable): clients and load
    // balancers back off 2 s rather than the 1 s of a busy instance.
    this.retryAfterS = PAYMENT_PROVIDER_RETRY_AFTER_S;
  }
}

/**
 * The provider refused to capture a hold for good (Stripe: the intent `canceled`, its authorization lapsed or released in
 * the dashboard, `payment_intent_unexpected_state`): no money was taken, and nothing we can do makes this capture pass.
 * The webhook that asked for it answers 503 with this stable code (it was a 500 INTERNAL_ERROR, read as our bug) so
 * that the provider redelivers it: by then the provider's own event about the released hold (`payment_intent.canceled`)
 * has settled the payment, and the redelivery no longer captures. A buyer's pay call finishing that capture answers the
 * same (so its message names no webhook); once the payment is settled, a pay call is 409 ORDER_ALREADY_PAID.
 */
export class PaymentCaptureRefusedError extends DomainError {
  readonly providerCode: string | undefined;
  constructor(orderId: number, providerCode: string | undefined) {
    super('PAYMENT_CAPTURE_REFUSED', 'unavailable', 'the payment provider refused to capture the payment (its hold was released); nothing was charged', { orderId });
    this.providerCode = providerCode;
    this.retryAfterS = PAYMENT_PROVIDER_RETRY_AFTER_S;
  }
}

/**
 * The one mapping of a provider's refusal of our call to what is answered (the error handler turns its kind into the
 * status) and what the admin audit trail records as `error.code`: our key, account or mode refused → 503
 * PAYMENT_PROVIDER_UNAVAILABLE; the buyer's card declined while the buyer pays (`caller` 'buyer') → 402
 * PAYMENT_DECLINED; anything else → 502 PAYMENT_PROVIDER_ERROR, a decline of a call the shop made too (an admin's
 * refund, a webhook's void, refund or capture, the worker's give-back: no buyer's card is being tried there, and their
 * routes do not document a 402). Never a 500: the provider's wording stays in the log.
 */
export function answerForRefusal(orderId: number, refusal: ProviderCallRefusedError, caller: 'buyer' | 'shop'): PaymentProviderUnavailableError | PaymentDeclinedError | PaymentProviderError {
  if (refusal.configuration) return new PaymentProviderUnavailableError({ misconfigured: true });
  if (caller === 'buyer' && refusal.declineCode !== undefined) return new PaymentDeclinedError(orderId, refusal.declineCode);
  return new PaymentProviderError(refusal.code);
}

/** What the admin audit trail records of a provider call that failed: the answer's code and the provider's, if any. */
export function auditError(answer: PaymentProviderUnavailableError | PaymentProviderError | PaymentDeclinedError, refusal?: ProviderCallRefusedError): { code: string; providerCode?: string } {
  const providerCode = refusal?.code;
  return { code: answer.code, ...(providerCode === undefined ? {} : { providerCode }) };
}

import type { PaymentProviderName } from '../../platform/config/payments.config.ts';

/**
 * What a provider told us about one payment, whatever its wire format: a verified webhook, or the
 * test provider's pay call. Every event goes through the same processing (`PaymentService.process`).
 *
 * `kind` is the state the payment reached at the provider when the event was emitted:
 * - `authorized`: funds held, to be captured (Stripe `requires_capture`);
 * - `captured`: funds taken (Stripe `succeeded`);
 * - `failed`: the attempt was declined; the buyer may try again;
 * - `voided`: the hold was released (Stripe `canceled`);
 * - `refunded`: money returned;
 * - `refund_failed`: a refund the provider had accepted could not be paid out (the buyer has not got the money back);
 * - `disputed`, `dispute_won`, `dispute_lost`: the buyer's bank opened a chargeback, then closed it for us or for them;
 * - `ignored`: an event type we do not act on (acknowledged, recorded).
 */
export interface PaymentEvent {
  /** The provider's event id: replays of one event are recognised by it. */
  id: string;
  provider: PaymentProviderName;
  /** The provider's own event type, e.g. `payment_intent.succeeded`. */
  type: string;
  kind: 'authorized' | 'captured' | 'failed' | 'voided' | 'refunded' | 'refund_failed' | 'disputed' | 'dispute_won' | 'dispute_lost' | 'ignored';
  intentId?: string;
  orderId?: number;
  amountCents?: number;
  currency?: string;
  failureCode?: string;
}

export interface CreatedIntent {
  intentId: string;
  /** For the buyer's browser to confirm the payment (Stripe.js); absent for the test provider. */
  clientSecret?: string;
}

/**
 * The payment provider port. Every money-moving call carries our idempotency key, so a retry after a
 * lost reply (or a crash) is the same operation at the provider, never a second one.
 */
export interface PaymentProvider {
  readonly name: PaymentProviderName;
  /** Creates the payment of an order (for the same key, the same one again). */
  createIntent(input: { orderId: number; amountCents: number; currency: string; idempotencyKey: string }): Promise<CreatedIntent>;
  /**
   * Authorizes with a card token and reports the outcome as an event (the test provider; a real
   * provider's buyer confirms in the browser instead and the outcome arrives by webhook).
   */
  authorizeWithToken?(input: { orderId: number; amountCents: number; currency: string; token: string; idempotencyKey: string }): Promise<PaymentEvent>;
  /** The payment `authorizeWithToken` makes of an order under this key (the same every time), so that a retry of a call that paid is known. */
  tokenIntentId?(orderId: number, idempotencyKey: string): string;
  capture(input: { intentId: string; amountCents: number; idempotencyKey: string }): Promise<void>;
  /** Releases an authorization that will not be captured. */
  void(input: { intentId: string; amountCents: number; idempotencyKey: string }): Promise<void>;
  /**
   * Refunds what is left of the payment; with `part`, only that much (in the payment's currency): the rest of a payment
   * that a dispute lost in part already gave back the other part of.
   */
  refund(input: { intentId: string; amountCents: number; idempotencyKey: string; part?: { amountCents: number; currency: string } }): Promise<void>;
  /**
   * Whether `action` already happened to the payment at the provider (read, never written): asked before a call whose
   * earlier key was answered with a 5xx (its outcome unknown), so that a new key never does it a second time. Absent
   * for a provider that keeps no 5xx under a key (the test provider).
   */
  happened?(input: { intentId: string; action: 'capture' | 'void' | 'refund' }): Promise<boolean>;
  /**
   * Whether the provider holds this payment in the state an event says it reached (read, never written): an
   * authorization for `authorized`, a capture for `captured` (an authorization alone backs no capture). Asked of a
   * webhook's authorization or capture before it makes its order paid, so that an event the provider's own ledger
   * contradicts pays nothing. Absent for a provider whose signed events are its ledger's word (Stripe).
   */
  holds?(intentId: string, state: 'authorized' | 'captured'): Promise<boolean>;
  /**
   * Verifies a webhook's signature over the raw body and parses it; throws
   * `WebhookSignatureInvalidError` or `WebhookMalformedError`.
   */
  parseWebhook(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): PaymentEvent;
}

/**
 * The provider refused one of our calls (a 4xx), as opposed to being unreachable or erring (a 5xx, a timeout:
 * `PaymentProviderUnavailableError`). `permanent`: the refusal is about this payment and the same call will be
 * refused every time (a charge too old to refund, a payment in a state that cannot take it), so retrying is pointless
 * and a person has to act; otherwise it is about our own setup (a wrong or revoked key, missing permissions), which
 * a fix on our side lets through. `code` is the provider's error code, when it gave one.
 */
export class ProviderCallRefusedError extends Error {
  readonly permanent: boolean;
  /** About our setup (a key of another account, revoked, lacking permission), never permanent: alert, fix, it passes. */
  readonly configuration: boolean;
  readonly code: string | undefined;
  /** The provider keeps this refusal under the call's idempotency key: a retry once it passes needs the next key. */
  readonly keySpent: boolean;
  /** The buyer's card was declined (Stripe `card_error`): the buyer's refusal (402), with the decline code. */
  readonly declineCode: string | undefined;
  constructor(message: string, options: { permanent: boolean; configuration?: boolean; keySpent?: boolean; code: string | undefined; declineCode?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'ProviderCallRefusedError';
    this.permanent = options.permanent;
    this.configuration = options.configuration ?? false;
    this.keySpent = options.keySpent ?? false;
    this.code = options.code;
    this.declineCode = options.declineCode;
  }
}

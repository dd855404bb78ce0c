import Stripe from 'stripe';
import { ProviderCallRefusedError, type PaymentEvent, type PaymentProvider } from './payment-provider.ts';
import type { StripeSettings } from '../../platform/config/payments.config.ts';
import { fromStripeAmount, toStripeAmount } from './stripe-amounts.ts';
import { PaymentAmountUnsupportedError, PaymentCurrencyUnsupportedError, PaymentProviderUnavailableError, WebhookMalformedError, WebhookSignatureInvalidError } from './payments.errors.ts';

/** The PaymentIntent events we act on; other `payment_intent.*` events are acknowledged and recorded. */
const KIND_OF_TYPE: Record<string, PaymentEvent['kind']> = {
  'payment_intent.amount_capturable_updated': 'authorized',
  'payment_intent.succeeded': 'captured',
  'payment_intent.payment_failed': 'failed',
  'payment_intent.canceled': 'voided',
  'charge.refunded': 'refunded',
};

function stripeCode(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

/**
 * How old a signed event may be (seconds), as Stripe's SDK default: older is refused as a possible replay. Only the age
 * is checked, as the SDK does: an event dated ahead of this server's clock (Stripe's clock ahead of ours) cannot be a
 * replay of an old one, and refusing it would drop every event of a shop whose clock lags (README, "Webhooks").
 */
export const STRIPE_WEBHOOK_TOLERANCE_S = 300;

/** Stripe's refusals that mean "already in the state you asked for" (a retry after a lost reply). */
const ALREADY_DONE = new Set(['payment_intent_unexpected_state', 'charge_already_refunded', 'charge_already_captured']);

/**
 * Stripe through its official SDK: PaymentIntents with manual capture (funds are held when the buyer
 * confirms, captured only if the order is still payable, released otherwise), our idempotency key
 * on every call, webhooks verified with the endpoint's signing secret (`Stripe-Signature`).
 */
export function createStripeProvider(settings: StripeSettings): PaymentProvider & { client: Stripe } {
  const client = new Stripe(settings.secretKey, {
    maxNetworkRetries: 2,
    timeout: 10_000,
    telemetry: false,
    appInfo: { name: 'salescale' },
    ...(settings.api ? { host: settings.api.host, port: settings.api.port, protocol: settings.api.protocol } : {}),
  });

  /** Runs a call; a network failure or a 5xx becomes a retryable 503, "already done" a success. */
  async function call<T>(run: () => Promise<T>, intentId?: string, wanted?: Stripe.PaymentIntent.Status[]): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      const code = stripeCode(error);
      if (intentId && wanted && code !== undefined && ALREADY_DONE.has(code)) {
        const intent = await client.paymentIntents.retrieve(intentId).catch(() => undefined);
        if (intent && wanted.includes(intent.status)) return undefined;
      }
      if (code === 'charge_already_refunded') return undefined;
      if (error instanceof Stripe.errors.StripeConnectionError || error instanceof Stripe.errors.StripeAPIError || error instanceof Stripe.errors.StripeRateLimitError) {
        // A 5xx answer is kept under the idempotency key (a 429 or a lost connection is not known to be).
        throw new PaymentProviderUnavailableError({ keySpent: error instanceof Stripe.errors.StripeAPIError && (error.statusCode ?? 500) >= 500 });
      }
      if (error instanceof Stripe.errors.StripeError) {
        // Stripe refusing our own call (a wrong or revoked key, an unknown intent) is our fault, not the buyer's:
        // without this, its `statusCode` (401, 404) and message reached the buyer as their 4xx.
        throw new StripeCallRefusedError(error);
      }
      throw error;
    }
  }

  return {
    name: 'stripe',
    client,

    async createIntent(input) {
      // Our minor unit is not always Stripe's (ISK, HUF: Stripe counts hundredths of what we count): see stripe-amounts.ts.
      const amount = toStripeAmount(input.amountCents, input.currency);
      if (amount === undefined) throw new PaymentAmountUnsupportedError(input.orderId, input.amountCents, input.currency, 'amount_not_in_stripe_units');
      const intent = await call(() =>
        client.paymentIntents.create(
          {
            amount,
            currency: input.currency.toLowerCase(),
            capture_method: 'manual',
            metadata: { orderId: String(input.orderId) },
          },
          { idempotencyKey: input.idempotencyKey },
        ),
      ).catch((error: unknown) => {
        // Stripe takes amounts within per-currency bounds (0.50 to 999,999.99 USD): an order total outside them
        // is the buyer's refusal (422), not a bug.
        const refusal = error instanceof StripeCallRefusedError ? error.cause : undefined;
        if (refusal instanceof Stripe.errors.StripeInvalidRequestError && refusal.param === 'amount') {
          throw new PaymentAmountUnsupportedError(input.orderId, input.amountCents, input.currency, refusal.code);
        }
        // A currency the catalog takes (any ISO 4217 code in use) that Stripe does not (IRR, KPW, …): refused on every pay
        // call of such an order, so it is the buyer's 422 with a stable code, not a 500 each time. Stripe's own list is
        // the authority (it changes, and depends on the account), so its refusal is what we read.
        if (refusal instanceof Stripe.errors.StripeInvalidRequestError && refusal.param === 'currency') {
          throw new PaymentCurrencyUnsupportedError(input.orderId, input.currency);
        }
        throw error;
      });
      return { intentId: intent!.id, clientSecret: intent!.client_secret ?? undefined };
    },

    async capture(input) {
      await call(() => client.paymentIntents.capture(input.intentId, {}, { idempotencyKey: input.idempotencyKey }), input.intentId, ['succeeded']);
    },

    async void(input) {
      await call(
        () => client.paymentIntents.cancel(input.intentId, { cancellation_reason: 'abandoned' }, { idempotencyKey: input.idempotencyKey }),
        input.intentId,
        ['canceled'],
      );
    },

    async refund(input) {
      // Without an amount Stripe refunds all that is left of the charge; `part` states how much (POST /v1/refunds `amount`).
      const amount = input.part ? toStripeAmount(input.part.amountCents, input.part.currency) : undefined;
      if (input.part && amount === undefined) {
        throw new ProviderCallRefusedError(`a refund of ${input.part.amountCents} ${input.part.currency} cannot be stated in Stripe's unit`, { permanent: true, code: 'amount_not_stated' });
      }
      await call(() => client.refunds.create({ payment_intent: input.intentId, ...(amount === undefined ? {} : { amount }) }, { idempotencyKey: input.idempotencyKey }));
    },

    async happened(input) {
      const intent = await call(() => client.paymentIntents.retrieve(input.intentId));
      if (!intent) return false;
      if (input.action === 'capture') return intent.status === 'succeeded';
      if (input.action === 'void') return intent.status === 'canceled';
      // A refund Stripe took (pending, succeeded, or needing action) for all that was received; failed or canceled ones gave nothing back.
      const refunds = await call(() => client.refunds.list({ payment_intent: input.intentId, limit: 100 }));
      const refunded = (refunds?.data ?? []).filter((r) => r.status !== 'failed' && r.status !== 'canceled').reduce((sum, r) => sum + r.amount, 0);
      return intent.amount_received > 0 && refunded >= intent.amount_received;
    },

    parseWebhook(rawBody, headers) {
      const signature = headers['stripe-signature'];
      if (typeof signature !== 'string') throw new WebhookSignatureInvalidError('missing Stripe-Signature header');
      let event: Stripe.Event;
      try {
        // The SDK alone reads the header: the age it judges is that of the timestamp its signature covers (the last
        // `t=`), which a header re-parsed here could disagree with (a fresh `t=` put in front of a stale signed one).
        event = client.webhooks.constructEvent(rawBody, signature, settings.webhookSecret, STRIPE_WEBHOOK_TOLERANCE_S);
      } catch (error) {
        if (error instanceof Stripe.errors.StripeSignatureVerificationError) throw signatureRefusal(client, rawBody, signature, settings.webhookSecret);
        throw new WebhookMalformedError('not a Stripe event');
      }
      if (typeof event?.id !== 'string' || typeof event.type !== 'string' || typeof event.data?.object !== 'object' || event.data.object === null) {
        throw new WebhookMalformedError('expected a Stripe event { id, type, data: { object } }');
      }
      const object = event.data.object as unknown as Record<string, unknown>;
      const kind = KIND_OF_TYPE[event.type] ?? 'ignored';
      if (object.object === 'refund' || object.object === 'dispute') return afterPayment(event, object);
      if (object.object === 'charge') {
        const charge = object as unknown as Stripe.Charge;
        const intent = charge.payment_intent;
        const intentId = typeof intent === 'object' && intent !== null ? intent.id : intent;
        const currency = optionalText(charge.currency, 'currency')?.toUpperCase();
        return {
          id: event.id,
          provider: 'stripe',
          type: event.type,
          kind,
          intentId: optionalText(intentId, 'payment_intent'),
          amountCents: inOurUnit(optionalCents(charge.amount_refunded, 'amount_refunded'), currency),
          currency,
        };
      }
      if (object.object !== 'payment_intent') return { id: event.id, provider: 'stripe', type: event.type, kind: 'ignored' };
      const intent = object as unknown as Stripe.PaymentIntent;
      const orderId = orderIdOf(intent.metadata?.orderId);
      const failure = intent.last_payment_error;
      const currency = optionalText(intent.currency, 'currency')?.toUpperCase();
      return {
        id: event.id,
        provider: 'stripe',
        type: event.type,
        kind,
        intentId: optionalText(intent.id, 'id'),
        orderId,
        amountCents: inOurUnit(heldAmount(intent, kind), currency),
        currency,
        failureCode: optionalText(failure?.decline_code ?? failure?.code, 'last_payment_error'),
      };
    },
  };
}

/**
 * Why the SDK refused a Stripe-Signature, for the operator who reads it: a genuine signature too old (a replayed event,
 * or this server's clock ahead of Stripe's) or one that does not match the body (forged, tampered, another secret).
 * The SDK says which only in its message text ("Timestamp outside the tolerance zone"; its error carries no code or
 * subclass for it), so it is asked again without the age check (tolerance 0): a header it then takes was refused for
 * its age alone, as it verifies the signature before the age.
 */
function signatureRefusal(client: Stripe, rawBody: Buffer, signature: string, secret: string): WebhookSignatureInvalidError {
  try {
    client.webhooks.constructEvent(rawBody, signature, secret, 0);
  } catch (error) {
    // Anything else (a body that is not JSON) comes after the signature matched.
    if (error instanceof Stripe.errors.StripeSignatureVerificationError) return new WebhookSignatureInvalidError('Stripe-Signature does not match the body');
  }
  return new WebhookSignatureInvalidError(
    `Stripe-Signature is older than ${STRIPE_WEBHOOK_TOLERANCE_S} s (a replayed event, or this server's clock ahead of Stripe's)`,
  );
}

/**
 * What Stripe reports about taken money afterwards. A refund it accepted may fail when paid out (the card closed):
 * `charge.refund.updated` / `refund.updated` / `refund.failed` with the refund's `status: failed` (the buyer has not got
 * the money back; Stripe may send all three for one failure). A dispute (chargeback): `charge.dispute.created`, then
 * `charge.dispute.closed` with `status` `lost` (the money went back to the buyer) or `won` / `warning_closed` (it stays).
 * Other refund and dispute events (a refund succeeding, evidence updated) are acknowledged and recorded.
 */
function afterPayment(event: Stripe.Event, object: Record<string, unknown>): PaymentEvent {
  const status = optionalText(object.status, 'status');
  const intentId = optionalText(typeof object.payment_intent === 'object' && object.payment_intent !== null ? (object.payment_intent as { id?: unknown }).id : object.payment_intent, 'payment_intent');
  let kind: PaymentEvent['kind'] = 'ignored';
  if (object.object === 'refund' && REFUND_TYPES.has(event.type) && status === 'failed') kind = 'refund_failed';
  else if (object.object === 'dispute' && event.type === 'charge.dispute.created') kind = 'disputed';
  else if (object.object === 'dispute' && event.type === 'charge.dispute.closed') kind = status === 'lost' ? 'dispute_lost' : 'dispute_won';
  const failureCode = object.object === 'refund' ? optionalText(object.failure_reason, 'failure_reason') : optionalText(object.reason, 'reason');
  const currency = optionalText(object.currency, 'currency')?.toUpperCase();
  return {
    id: event.id,
    provider: 'stripe',
    type: event.type,
    kind,
    intentId,
    amountCents: inOurUnit(optionalCents(object.amount, 'amount'), currency),
    currency,
    failureCode,
  };
}

const REFUND_TYPES = new Set(['charge.refund.updated', 'refund.updated', 'refund.failed']);

/**
 * Stripe's refusals (https://docs.stripe.com/error-codes) that are about our setup, not the payment: the payment is not
 * found with this key (`resource_missing`: another account's key, live vs test mode; it hits every payment at once),
 * or the key or account cannot make the call. A fix on our side lets them through.
 */
const CONFIGURATION_CODES = new Set([
  'resource_missing',
  'livemode_mismatch',
  'testmode_charges_only',
  'account_invalid',
  'api_key_expired',
  'platform_api_key_expired',
  'secret_key_required',
]);

/**
 * Refusals about the payment that pass with time, so not a refund that failed: the charge is disputed (the dispute
 * decides where the money goes; its `charge.dispute.*` event takes the payment out of what is owed back, and a dispute
 * won makes it owed again), or the account's balance cannot cover the refund yet.
 */
const PASSING_CODES = new Set(['charge_disputed', 'balance_insufficient']);

/**
 * A Stripe refusal of one of our calls: a bug or a misconfiguration (a 500, logged with Stripe's answer as the cause).
 * Permanent when Stripe refuses the request itself for good (`invalid_request_error`, `card_error`: the charge too
 * old to refund `charge_expired_for_refund`, more than is left to refund `amount_too_large`, the intent in a state that
 * cannot take it): the same call is refused every time. Not so for a configuration problem (`CONFIGURATION_CODES`, a
 * refused key or permission: 401, 403), which our fix lets through, a refusal that passes (`PASSING_CODES`), or a reused
 * idempotency key (our bug). `charge_already_refunded` never gets here: it is the refund done (`call`).
 */
export class StripeCallRefusedError extends ProviderCallRefusedError {
  constructor(refusal: InstanceType<typeof Stripe.errors.StripeError>) {
    const code = refusal.code;
    const configuration =
      refusal instanceof Stripe.errors.StripeAuthenticationError || refusal instanceof Stripe.errors.StripePermissionError || (code !== undefined && CONFIGURATION_CODES.has(code));
    const aboutRequest = refusal instanceof Stripe.errors.StripeInvalidRequestError || refusal instanceof Stripe.errors.StripeCardError;
    super(`Stripe refused the call: ${refusal.type} ${refusal.statusCode ?? ''} ${code ?? ''}`.trim(), {
      cause: refusal,
      permanent: aboutRequest && !configuration && !(code !== undefined && PASSING_CODES.has(code)),
      configuration,
      // Stripe keeps a refusal of a request it ran under its key, as a 5xx: a retry once it passes needs the next key.
      keySpent: aboutRequest,
      code,
      ...(refusal instanceof Stripe.errors.StripeCardError ? { declineCode: refusal.decline_code ?? code ?? 'card_declined' } : {}),
    });
    this.name = 'StripeCallRefusedError';
  }
}

/**
 * The order an intent's `metadata.orderId` names: only the text `createIntent` writes (`String(order.id)`: decimal digits,
 * no leading zero, a safe integer above 0). `Number()` took " 12 ", "1e1", "0x10", "12.0" or "+12" (metadata set in
 * Stripe's dashboard or by another integration on the account) as order 12, 10 or 16; anything else names no order.
 */
function orderIdOf(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^[1-9][0-9]{0,15}$/.test(value)) return undefined;
  const orderId = Number(value);
  return Number.isSafeInteger(orderId) ? orderId : undefined;
}

/**
 * A field of a signed event's object: absent, or of the type Stripe documents. Anything else is a
 * malformed event (400), never a crash on `.toUpperCase()` or a value PostgreSQL refuses.
 */
function optionalText(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new WebhookMalformedError(`${field} is not a string`);
  return value;
}

/** A signed amount in Stripe's unit of `currency`, in ours; a currency that is no ISO 4217 code is a malformed event. */
function inOurUnit(amount: number | undefined, currency: string | undefined): number | undefined {
  if (amount === undefined || currency === undefined) return amount;
  try {
    return fromStripeAmount(amount, currency);
  } catch {
    throw new WebhookMalformedError('currency is not an ISO 4217 code');
  }
}

/**
 * The amount an intent's event is about, in Stripe's unit: what is held for an authorization (`amount_capturable`), what
 * was taken for a capture (`amount_received`), else the amount asked for. The order is paid only if it is the order's total.
 */
function heldAmount(intent: Stripe.PaymentIntent, kind: PaymentEvent['kind']): number | undefined {
  const asked = optionalCents(intent.amount, 'amount');
  if (kind === 'authorized') return optionalCents(intent.amount_capturable, 'amount_capturable') ?? asked;
  if (kind === 'captured') return optionalCents(intent.amount_received, 'amount_received') ?? asked;
  return asked;
}

function optionalCents(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  // Stripe's amounts are never negative: a negative one is no amount, not a hold or capture of the wrong amount to give back.
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new WebhookMalformedError(`${field} is not an amount in minor units`);
  return value as number;
}

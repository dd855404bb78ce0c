import type { Logger } from 'pino';
import type { Database } from '../../platform/db/client.ts';
import { ProviderCallRefusedError, type PaymentProvider } from './payment-provider.ts';
import type { PaymentMetrics } from './payments.metrics.ts';
import type { PaymentRow, PaymentsRepository } from './payments.repository.ts';

export interface OpenIntentsDeps {
  db: Database;
  provider: PaymentProvider;
  payments: PaymentsRepository;
  metrics: PaymentMetrics;
  logger: Logger;
}

/**
 * The idempotency key of the cancel of an intent left open by its order (cancelled, expired): scoped by the order and the
 * intent, as the pay call's cancel of an intent created for an order that stopped being payable. `attempt` (the job's
 * attempts made) moves a retry to a key of its own: Stripe keeps a 5xx under its key for a day or more, so a retry under
 * the same key would be answered the same 5xx. A cancel made twice is still one: Stripe refuses to cancel a canceled
 * intent, which the provider adapter takes as done.
 */
export function openIntentCancelKey(orderId: number, intentId: string, attempt: number): string {
  const key = `salescale-order-${orderId}-abandoned-${intentId}-cancel`;
  return attempt > 0 ? `${key}-retry-${attempt}` : key;
}

/** What became of an open intent the job tried to cancel. */
export type OpenIntentOutcome = 'canceled' | 'paid_meanwhile';

/**
 * Cancels at the provider the payments an order that can no longer be paid (cancelled, expired) left open there, for the
 * `cancel-open-intents` job its transaction wrote. Stripe's advice ("cancel a PaymentIntent when it's no longer needed",
 * reason `abandoned`): while open, the buyer holding its client secret can confirm it, and a payment that then arrives is
 * late, given back with the provider's fees kept.
 *
 * Contract: a cancel the provider answers done (succeeded, or the intent canceled already) records the payment `voided`
 * (its `payment_intent.canceled` event, arriving after, changes nothing). An intent the buyer paid meanwhile (Stripe
 * refuses to cancel a succeeded one) is left alone: its event makes it late, and the webhook path gives it back, as
 * before. A hold confirmed in the same instant is released by the cancel, which is what the webhook path would do with it.
 * Any other failure is thrown, for BullMQ to retry with the order queue's attempts and backoff.
 */
export function createOpenIntentsCancel(deps: OpenIntentsDeps) {
  const { db, provider, payments, metrics, logger } = deps;
  const count = (outcome: 'succeeded' | 'misconfigured' | 'refused' | 'failed') => metrics.providerCalls.inc({ provider: provider.name, action: 'void', outcome });

  /** Whether the provider's refusal to cancel says the buyer paid the intent (Stripe: it succeeded). */
  async function paidMeanwhile(payment: PaymentRow, error: unknown): Promise<boolean> {
    if (!(error instanceof ProviderCallRefusedError) || !error.permanent || error.configuration || !provider.happened) return false;
    return provider.happened({ intentId: payment.intentId, action: 'capture' });
  }

  async function cancelOne(payment: PaymentRow, attempt: number): Promise<OpenIntentOutcome> {
    const context = { orderId: payment.orderId, intentId: payment.intentId, attempt };
    try {
      await provider.void({ intentId: payment.intentId, amountCents: payment.amountCents, idempotencyKey: openIntentCancelKey(payment.orderId, payment.intentId, attempt) });
    } catch (error) {
      if (await paidMeanwhile(payment, error)) {
        count('refused');
        logger.info(context, 'the open intent of an order that can no longer be paid was paid before its cancel: left to its webhook, which gives the late payment back');
        return 'paid_meanwhile';
      }
      count(error instanceof ProviderCallRefusedError && error.configuration ? 'misconfigured' : 'failed');
      logger.warn({ ...context, err: error }, 'could not cancel the open intent of an order that can no longer be paid; retrying');
      throw error;
    }
    count('succeeded');
    await payments.advance(db.primary, payment.id, 'voided');
    logger.info(context, 'canceled at the provider the open intent of an order that can no longer be paid');
    return 'canceled';
  }

  return {
    /**
     * Cancels every payment of the order still open at the provider; `attempt`: the job's attempts made before this one.
     * Each is tried, whatever became of those before it (an intent the provider refuses to cancel, e.g. Stripe's in
     * `processing`, must not keep the order's later ones open); then a failure is thrown: one a retry may get past if
     * any (the retry finds those canceled recorded voided and tries the others again), else the first refusal for good.
     */
    async cancelOpenIntents(orderId: number, attempt: number): Promise<{ canceled: number; paidMeanwhile: number }> {
      const open = await payments.stillOpen(db.primary, orderId, provider.name);
      let canceled = 0;
      let paid = 0;
      const failures: unknown[] = [];
      for (const payment of open) {
        try {
          if ((await cancelOne(payment, attempt)) === 'canceled') canceled++;
          else paid++;
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures.find((error) => !(error instanceof ProviderCallRefusedError && error.permanent)) ?? failures[0];
      return { canceled, paidMeanwhile: paid };
    },
  };
}

export type OpenIntentsCancel = ReturnType<typeof createOpenIntentsCancel>;

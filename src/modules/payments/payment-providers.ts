import type { Database } from '../../platform/db/client.ts';
import type { PaymentsConfig } from '../../platform/config/payments.config.ts';
import type { PaymentProvider } from './payment-provider.ts';
import { createStripeProvider } from './stripe-provider.ts';
import { createTestProvider, testWebhookSecret } from './test-provider.ts';

/**
 * The configured provider (PAYMENT_PROVIDER), for every role that calls it (web: pay calls, webhooks, refunds;
 * worker: give-back retries); the test provider signs its webhooks with a key derived from SESSION_SECRET.
 */
export function createPaymentProvider(config: PaymentsConfig, sessionSecret: string, db: Database): PaymentProvider {
  if (config.provider === 'stripe') return createStripeProvider(config.stripe!);
  return createTestProvider({ db, webhookSecret: testWebhookSecret(sessionSecret) });
}

import type { Database } from '../../platform/db/client.ts';
import type { PaymentsConfig } from '../../platform/config/payments.config.ts';
import type { PaymentProvider } from './payment-provider.ts';
import { createTestProvider, testWebhookSecret } from './test-provider.ts';

/**
 * The configured provider (PAYMENT_PROVIDER), for every role that calls it (web: pay calls, webhooks, refunds;
 * worker: give-back retries); the test provider signs its webhooks with a key derived from SESSION_SECRET.
 * The Stripe SDK (over 200 modules, about 0.2 s of a role's start-up on 2 cores) is loaded only when it is the one configured.
 */
export async function createPaymentProvider(config: PaymentsConfig, sessionSecret: string, db: Database): Promise<PaymentProvider> {
  if (config.provider === 'stripe') {
    const { createStripeProvider } = await import('./stripe-provider.ts');
    return createStripeProvider(config.stripe!);
  }
  return createTestProvider({ db, webhookSecret: testWebhookSecret(sessionSecret) });
}

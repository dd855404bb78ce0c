import { ConfigError, int, oneOf, secretStr, url, timerMs } from './env-schema.ts';

export const PAYMENT_PROVIDERS = ['test', 'stripe'] as const;
export type PaymentProviderName = (typeof PAYMENT_PROVIDERS)[number];

/** Payments: the provider, the payment window and the expiry sweeper. */
export const paymentsEnv = {
  PAYMENT_PROVIDER: oneOf(PAYMENT_PROVIDERS, 'test'),
  PAYMENT_WINDOW_S: int({ default: 600, min: 1, max: 7 * 86_400 }),
  PAYMENT_SWEEP_INTERVAL_MS: timerMs({ default: 5000, min: 100 }),
  PAYMENT_GIVE_BACK_AFTER_S: int({ default: 300, min: 1, max: 86_400 }),
  // Secrets: whitespace around one (a secret file written with `echo`) is refused at start, as ADMIN_API_TOKEN's.
  STRIPE_SECRET_KEY: secretStr(),
  STRIPE_WEBHOOK_SECRET: secretStr(),
  STRIPE_API_URL: url({ protocols: ['http:', 'https:'], optional: true }),
};

type PaymentsEnv = { [K in keyof typeof paymentsEnv]: ReturnType<(typeof paymentsEnv)[K]['parse']> };

export interface StripeSettings {
  secretKey: string;
  webhookSecret: string;
  /** Another API endpoint than api.stripe.com (a local Stripe-shaped server in tests, stripe-mock). */
  api: { host: string; port: number; protocol: 'http' | 'https' } | undefined;
}

export interface PaymentsConfig {
  provider: PaymentProviderName;
  /**
   * False in production without a provider configured: reservations still work, but the test provider
   * refuses every payment (it accepts made-up cards, so it never takes part in production).
   */
  testPaymentsAllowed: boolean;
  /** How long a reservation waits for its payment before its units go back on sale. */
  windowS: number;
  /** How often each worker sweeps for reservations past their window (their delayed job is the first line). */
  sweepIntervalMs: number;
  /**
   * How long money owed back (a late payment, an admin refund) waits, its call having failed, before a worker makes
   * the same keyed call again (on the sweep's interval); then the wait between retries, doubled each time up to 6 h.
   * @defaultValue 300
   */
  giveBackAfterS: number;
  stripe: StripeSettings | undefined;
}

/** `providerSet`: PAYMENT_PROVIDER was given explicitly (the test provider may not be chosen in production). */
export function paymentsConfigFrom(e: PaymentsEnv, isProduction: boolean, providerSet: boolean): PaymentsConfig {
  if (e.PAYMENT_PROVIDER === 'test' && isProduction && providerSet) {
    throw new ConfigError('PAYMENT_PROVIDER', 'the test provider accepts made-up cards and is refused in production: set PAYMENT_PROVIDER=stripe');
  }
  let stripe: StripeSettings | undefined;
  if (e.PAYMENT_PROVIDER === 'stripe') {
    if (!e.STRIPE_SECRET_KEY) throw new ConfigError('STRIPE_SECRET_KEY', 'is required with PAYMENT_PROVIDER=stripe');
    if (!e.STRIPE_WEBHOOK_SECRET) throw new ConfigError('STRIPE_WEBHOOK_SECRET', 'is required with PAYMENT_PROVIDER=stripe (webhooks are verified)');
    let api: StripeSettings['api'];
    if (e.STRIPE_API_URL) {
      const u = new URL(e.STRIPE_API_URL);
      const protocol = u.protocol === 'http:' ? 'http' : 'https';
      api = { host: u.hostname, port: Number(u.port || (protocol === 'http' ? 80 : 443)), protocol };
    }
    stripe = { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, api };
  }
  return { provider: e.PAYMENT_PROVIDER, testPaymentsAllowed: !isProduction, windowS: e.PAYMENT_WINDOW_S, sweepIntervalMs: e.PAYMENT_SWEEP_INTERVAL_MS, giveBackAfterS: e.PAYMENT_GIVE_BACK_AFTER_S, stripe };
}

import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from './app.ts';
import { capturingLogger, type LogLine } from './log-lines.ts';
import { signedWebhook, startStripeServer, type StripeEvent, type StripeServer } from './stripe-server.ts';

/** A test app paying through the local Stripe-shaped server, and one product on sale to buy from it. */
export interface StripeTestApp {
  stripe: StripeServer;
  t: TestApp;
  productId: number;
  webhookSecret: string;
  /** The app's log lines at the `logged` level and above, parsed (none unless `logged` was given). */
  logged: LogLine[];
  /** Delivers an event to the app's Stripe webhook, signed with its secret. */
  deliver(event: StripeEvent): Promise<Awaited<ReturnType<TestApp['app']['inject']>>>;
  /** Places a guest order of one unit of the product under this Idempotency-Key (also the buyer's email name); asserts 201. */
  placeGuestOrder(key: string): Promise<{ orderId: number; accessToken: string }>;
  close(): Promise<void>;
}

/**
 * Starts the fake Stripe, a test app using it (its own database and Redis prefix, checkout rate limit out of the way)
 * and a product of 4200 cents with `available` units. `name` makes the keys and the product's SKU its own. With
 * `logged`, the app's log lines at that level and above are kept in `logged`.
 */
export async function startStripeTestApp(options: { name: string; sku: string; productName: string; available: number; logged?: 'info' | 'warn' }): Promise<StripeTestApp> {
  const secretKey = `sk_test_salescale_${options.name}_0123456789`;
  const webhookSecret = `whsec_salescale_${options.name}_0123456789abcdef`;
  const stripe = await startStripeServer({ secretKey });
  const log = options.logged ? capturingLogger(options.logged) : undefined;
  let t: TestApp | undefined;
  try {
    t = await createTestApp(
      { PAYMENT_PROVIDER: 'stripe', STRIPE_SECRET_KEY: secretKey, STRIPE_WEBHOOK_SECRET: webhookSecret, STRIPE_API_URL: stripe.url, RATE_LIMIT_CHECKOUT_MAX: '10000' },
      undefined,
      log ? { logger: log.logger } : {},
    );
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: options.sku, name: options.productName, priceCents: 4200, available: options.available } });
    assert.equal(created.statusCode, 201, created.body);
    const productId = created.json().id as number;
    const app = t;
    return {
      stripe,
      t: app,
      productId,
      webhookSecret,
      logged: log?.lines ?? [],
      deliver: (event) => app.app.inject(signedWebhook(event, webhookSecret)),
      async placeGuestOrder(key) {
        const placed = await app.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': key }, payload: { email: `${key}@example.com`, items: [{ productId, quantity: 1 }] } });
        assert.equal(placed.statusCode, 201, placed.body);
        return { orderId: placed.json().id as number, accessToken: placed.json().accessToken as string };
      },
      async close() {
        await app.close();
        await stripe.close();
      },
    };
  } catch (error) {
    await t?.close();
    await stripe.close();
    throw error;
  }
}

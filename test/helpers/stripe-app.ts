import assert from 'node:assert/strict';
import Stripe from 'stripe';
import { createTestApp, type TestApp } from './app.ts';
import { insertCustomers, mintSessionCookies } from './commerce.ts';
import type { Json } from './http.ts';
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

/** A test app paying through the local Stripe-shaped server, with one signed-in buyer and helpers to sell and pay. */
export interface StripeShop {
  stripe: StripeServer;
  t: TestApp;
  /** The session cookie of the one signed-in buyer. */
  buyer: string;
  webhookSecret: string;
  /** The app's log lines at the `logged` level and above, parsed (none unless `logged` was given). */
  logged: LogLine[];
  /** Creates a product through the admin API (a SKU of its own); asserts 201 and returns its id. */
  product(available?: number, priceCents?: number, currency?: string): Promise<number>;
  /** Places the buyer's order of one unit of the product and starts its payment; asserts 201, 200 and a client secret. */
  placeAndStartPayment(productId: number): Promise<{ order: Json; intentId: string }>;
  /**
   * Posts to the app's Stripe webhook: an event (serialized) or a raw body, signed with the app's webhook secret
   * unless a `signature` is given.
   */
  deliver(event: StripeEvent | string, signature?: string, contentType?: string): Promise<Awaited<ReturnType<TestApp['app']['inject']>>>;
  close(): Promise<void>;
}

/**
 * Starts the fake Stripe and a test app using it (its own database and Redis prefix, checkout rate limit out of the
 * way) and signs in one buyer. `name` makes the keys, SKUs and idempotency keys its own; `env` adds to or overrides the
 * app's environment (e.g. PAYMENT_WINDOW_S). With `logged`, the app's log lines at that level and above are kept in `logged`.
 */
export async function startStripeShop(options: { name: string; env?: Record<string, string>; logged?: 'info' | 'warn' }): Promise<StripeShop> {
  const { name } = options;
  const secretKey = `sk_test_salescale_${name}_0123456789`;
  const webhookSecret = `whsec_salescale_${name}_0123456789abcdef`;
  const stripe = await startStripeServer({ secretKey });
  const log = options.logged ? capturingLogger(options.logged) : undefined;
  let started: TestApp | undefined;
  try {
    started = await createTestApp(
      { PAYMENT_PROVIDER: 'stripe', STRIPE_SECRET_KEY: secretKey, STRIPE_WEBHOOK_SECRET: webhookSecret, STRIPE_API_URL: stripe.url, RATE_LIMIT_CHECKOUT_MAX: '10000', ...options.env },
      undefined,
      log ? { logger: log.logger } : {},
    );
    const t = started;
    const [id] = await insertCustomers(t.platform.db.primary, 1, name);
    const [buyer] = (await mintSessionCookies(t.env, [id!])) as [string];
    return {
      stripe,
      t,
      buyer,
      webhookSecret,
      logged: log?.lines ?? [],
      async product(available = 10, priceCents = 4200, currency = 'USD') {
        const reply = await t.app.inject({
          method: 'POST',
          url: '/api/v1/admin/products',
          headers: t.admin,
          payload: { sku: `${name}-${Math.random().toString(36).slice(2)}`, name: `${name} item`, priceCents, available, currency },
        });
        assert.equal(reply.statusCode, 201, reply.body);
        return reply.json().id as number;
      },
      async placeAndStartPayment(productId) {
        const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: buyer, 'idempotency-key': `${name}-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
        assert.equal(placed.statusCode, 201, placed.body);
        const pay = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.json().id}/pay`, headers: { cookie: buyer }, payload: {} });
        assert.equal(pay.statusCode, 200, pay.body);
        const secret = pay.json().payment.clientSecret as string;
        assert.match(secret, /^pi_[0-9a-f]+_secret_/);
        return { order: pay.json() as Json, intentId: secret.split('_secret_')[0]! };
      },
      deliver(event, signature, contentType = 'application/json') {
        const payload = typeof event === 'string' ? event : JSON.stringify(event);
        return t.app.inject({
          method: 'POST',
          url: '/api/v1/payments/webhooks/stripe',
          headers: { 'content-type': contentType, 'stripe-signature': signature ?? Stripe.webhooks.generateTestHeaderString({ payload, secret: webhookSecret }) },
          payload,
        });
      },
      async close() {
        await t.close();
        await stripe.close();
      },
    };
  } catch (error) {
    await started?.close();
    await stripe.close();
    throw error;
  }
}

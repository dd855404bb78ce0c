import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { createLogger } from '../src/platform/logger/logger.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import type { Json } from './helpers/http.ts';
import { parsePrometheusText, total } from './helpers/prometheus-text.ts';
import { startStripeServer, type StripeEvent, type StripeServer } from './helpers/stripe-server.ts';

const SECRET_KEY = 'sk_test_salescale_qapay_0123456789';
const WEBHOOK_SECRET = 'whsec_salescale_qapay_0123456789abcdef';
const signer = new Stripe(SECRET_KEY);
const lines: { msg?: string; orderId?: number; intentId?: string; level?: number }[] = [];
const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });

describe('QA payments: Stripe webhooks against a local Stripe-shaped server', () => {
  let stripe: StripeServer;
  let t: TestApp;
  let buyer: string;

  before(async () => {
    stripe = await startStripeServer({ secretKey: SECRET_KEY });
    t = await createTestApp({
      PAYMENT_PROVIDER: 'stripe',
      STRIPE_SECRET_KEY: SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_URL: stripe.url,
      PAYMENT_WINDOW_S: '600',
      RATE_LIMIT_CHECKOUT_MAX: '10000',
    }, undefined, { logger });
    const [id] = await insertCustomers(t.platform.db.primary, 1, 'qapay');
    [buyer] = (await mintSessionCookies(t.env, [id!])) as [string];
  });
  after(async () => {
    await t?.close();
    await stripe?.close();
  });

  async function product(available = 10, priceCents = 4200, currency = 'USD'): Promise<number> {
    const reply = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/products',
      headers: t.admin,
      payload: { sku: `qapay-${Math.random().toString(36).slice(2)}`, name: 'QA pay item', priceCents, available, currency },
    });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json().id;
  }

  async function placeAndStartPayment(productId: number): Promise<{ order: Json; intentId: string }> {
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: buyer, 'idempotency-key': `qapay-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    const pay = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.json().id}/pay`, headers: { cookie: buyer }, payload: {} });
    assert.equal(pay.statusCode, 200, pay.body);
    const secret = pay.json().payment.clientSecret as string;
    return { order: pay.json(), intentId: secret.split('_secret_')[0]! };
  }

  function deliver(event: StripeEvent | string, signature?: string, contentType = 'application/json') {
    const payload = typeof event === 'string' ? event : JSON.stringify(event);
    return t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/webhooks/stripe',
      headers: { 'content-type': contentType, 'stripe-signature': signature ?? signer.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }) },
      payload,
    });
  }

  const orderStatus = async (orderId: number) => (await t.app.inject({ method: 'GET', url: `/api/v1/orders/${orderId}`, headers: { cookie: buyer } })).json().status;

  it('an authorization for less than the order total does not mark the order paid (the intent was changed to a smaller amount)', async () => {
    const productId = await product(10, 4200);
    const { order, intentId } = await placeAndStartPayment(productId);
    // The intent's amount lowered at Stripe (an update by the dashboard or another integration) before the buyer confirms.
    stripe.intents.get(intentId)!.amount = 100;
    const [event] = stripe.confirm(intentId, 'authorize');
    assert.equal((event!.data.object as Json).amount_capturable, 100);
    const reply = await deliver(event!);
    assert.equal(reply.statusCode, 200, reply.body);
    assert.notEqual(await orderStatus(order.id), 'paid', `order ${order.id} of 42.00 USD marked paid by an authorization of 1.00 USD (outcome ${reply.json().outcome}; captured ${stripe.captures.get(intentId) ?? 0}×)`);
  });
  it('a pay call whose order is cancelled while it creates the intent answers 409 ORDER_NOT_PAYABLE and records no payment for the cancelled order', async () => {
    const productId = await product(5);
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: buyer, 'idempotency-key': `qapay-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    const orderId = placed.json().id as number;
    // The intent's creation is held at "Stripe" (2: it waits for a second that never comes) until released.
    stripe.holdCreates = 2;
    const paying = t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/pay`, headers: { cookie: buyer }, payload: {} });
    const deadline = Date.now() + 10_000;
    while (stripe.heldCreates < 1) {
      assert.ok(Date.now() < deadline, 'the pay call never reached Stripe');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const cancel = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/cancel`, headers: { cookie: buyer } });
    assert.equal(cancel.statusCode, 200, cancel.body);
    assert.equal(cancel.json().status, 'cancelled');
    stripe.releaseCreates();
    const pay = await paying;
    const recorded = (await t.platform.db.primary.execute(sql`select status from payments where order_id = ${orderId}`)).rows;
    assert.equal(pay.statusCode, 409, `the pay call of a cancelled order answered ${pay.statusCode} (order status ${pay.json().status}); payments recorded for it: ${JSON.stringify(recorded)}`);
    assert.equal(pay.json().error.code, 'ORDER_NOT_PAYABLE');
    assert.deepEqual(recorded.filter((row) => row.status === 'requires_payment'), [], 'no open payment is left recorded for the cancelled order');
  });

  it('an admin refund after a capture whose answer was lost (Stripe captured, then answered 500) refunds the money taken', async () => {
    const productId = await product(5);
    const { order, intentId } = await placeAndStartPayment(productId);
    // Stripe runs the capture, then answers 500: its outcome unknown to us, the money taken.
    stripe.refusals.set(intentId, { status: 500, message: 'An unknown error occurred', afterRunning: true, calls: ['capture'] });
    const [authorized] = stripe.confirm(intentId, 'authorize');
    const reply = await deliver(authorized!);
    assert.equal(reply.statusCode, 503, reply.body);
    assert.equal(stripe.intents.get(intentId)!.status, 'succeeded', 'the capture ran at Stripe');
    assert.equal(await orderStatus(order.id), 'paid');
    stripe.refusals.delete(intentId);
    // Before Stripe's payment_intent.succeeded reaches us (webhooks delayed), the shop refunds the order.
    const refund = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.id}/refund`, headers: t.admin });
    assert.equal(refund.statusCode, 200, `the refund of a paid order whose money Stripe holds as captured answered ${refund.statusCode} ${refund.body} (intent ${stripe.intents.get(intentId)!.status}, refunds at Stripe: ${stripe.refunds.get(intentId) ?? 0})`);
    assert.equal(refund.json().status, 'refunded');
    assert.equal(stripe.refunds.get(intentId), 1, 'the money taken is refunded once');
  });

  it('an authorization of another amount is given back: voided once at Stripe, recorded late with the amount held, the order still waiting', async () => {
    const productId = await product(10, 4200);
    const { order, intentId } = await placeAndStartPayment(productId);
    stripe.intents.get(intentId)!.amount = 100;
    const [event] = stripe.confirm(intentId, 'authorize');
    const reply = await deliver(event!);
    assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(reply.json().outcome, 'late');
    assert.equal(stripe.cancels.get(intentId), 1, 'the hold is released');
    assert.equal(stripe.captures.get(intentId) ?? 0, 0, 'nothing captured');
    const rows = (await t.platform.db.primary.execute(sql`select status, amount_cents, late from payments where intent_id = ${intentId}`)).rows;
    assert.deepEqual(rows, [{ status: 'voided', amount_cents: 100, late: true }]);
    assert.equal(await orderStatus(order.id), 'pending_payment');
  });

  it('a pay call whose order is cancelled while it creates the intent cancels that intent at Stripe', async () => {
    const productId = await product(5);
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: buyer, 'idempotency-key': `qapay-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
    const orderId = placed.json().id as number;
    const before = new Set(stripe.intents.keys());
    stripe.holdCreates = 2;
    const paying = t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/pay`, headers: { cookie: buyer }, payload: {} });
    const deadline = Date.now() + 10_000;
    while (stripe.heldCreates < 1) {
      assert.ok(Date.now() < deadline, 'the pay call never reached Stripe');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/cancel`, headers: { cookie: buyer } })).statusCode, 200);
    stripe.releaseCreates();
    assert.equal((await paying).statusCode, 409);
    const created = [...stripe.intents.values()].filter((intent) => !before.has(intent.id));
    assert.deepEqual(created.map((intent) => intent.status), ['canceled'], 'the intent created for the cancelled order is canceled at Stripe');
  });

  const providerCalls = async (action: string, outcome: string) =>
    total(parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body), 'salescale_payment_provider_calls_total', { provider: 'stripe', action, outcome });

  /** Places an order and pays it while it is cancelled: the intent's creation is held at "Stripe" until the cancel is done. */
  async function payWhileCancelled(): Promise<{ orderId: number; intentId: string }> {
    const productId = await product(5);
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: buyer, 'idempotency-key': `qapay-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    const orderId = placed.json().id as number;
    stripe.holdCreates = 2;
    const paying = t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/pay`, headers: { cookie: buyer }, payload: {} });
    const deadline = Date.now() + 10_000;
    while (stripe.heldCreates < 1) {
      assert.ok(Date.now() < deadline, 'the pay call never reached Stripe');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const cancel = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/cancel`, headers: { cookie: buyer } });
    assert.equal(cancel.statusCode, 200, cancel.body);
    stripe.releaseCreates();
    const pay = await paying;
    assert.equal(pay.statusCode, 409, pay.body);
    const intent = [...stripe.intents.values()].find((i) => i.metadata.orderId === String(orderId));
    assert.ok(intent, 'the pay call created an intent at Stripe');
    return { orderId, intentId: intent.id };
  }

  const logged = (orderId: number, intentId: string) => lines.filter((l) => l.orderId === orderId && l.intentId === intentId).map((l) => l.msg);

  it('the cancel of the intent of an order that stopped being payable while it was created is counted as a void call', async () => {
    const before = await providerCalls('void', 'succeeded');
    const { orderId, intentId } = await payWhileCancelled();
    assert.equal(stripe.cancels.get(intentId), 1, 'the intent is canceled at Stripe once');
    assert.equal(
      await providerCalls('void', 'succeeded'),
      before + 1,
      `the cancel of ${intentId} at Stripe was not counted in salescale_payment_provider_calls_total{action="void",outcome="succeeded"} (logged: ${JSON.stringify(logged(orderId, intentId))})`,
    );
    assert.ok(logged(orderId, intentId).some((m) => m?.includes('canceled at the provider')), JSON.stringify(logged(orderId, intentId)));
  });

  it('a refused cancel of that intent is counted failed, and not logged as canceled at the provider', async () => {
    const before = await providerCalls('void', 'failed');
    // The intent's id is known only once the pay call created it: every cancel of an intent of an order placed from
    // now on is refused (Stripe refusing it for good).
    const refusal = { status: 400, code: 'parameter_invalid_empty', message: 'Refused by the test', calls: ['cancel'] as const };
    const knownOrders = new Set([...stripe.intents.values()].map((i) => i.metadata.orderId));
    const ownGet = stripe.refusals.get.bind(stripe.refusals);
    stripe.refusals.get = (id: string) => {
      const orderOf = stripe.intents.get(id)?.metadata.orderId;
      return orderOf !== undefined && !knownOrders.has(orderOf) ? refusal : ownGet(id);
    };
    try {
      const { orderId, intentId } = await payWhileCancelled();
      assert.equal(stripe.cancels.get(intentId) ?? 0, 0, 'the cancel was refused at Stripe');
      const said = logged(orderId, intentId);
      assert.equal(await providerCalls('void', 'failed'), before + 1, `the refused cancel is counted failed (logged: ${JSON.stringify(said)})`);
      assert.ok(!said.some((m) => m?.includes('canceled at the provider')), `a refused cancel was logged as done: ${JSON.stringify(said)}`);
    } finally {
      stripe.refusals.get = ownGet;
    }
  });

  it('an admin refund whose void Stripe refuses because the money was captured counts that void refused (handled by the refund), not failed', async () => {
    const productId = await product(5);
    const { order, intentId } = await placeAndStartPayment(productId);
    stripe.refusals.set(intentId, { status: 500, message: 'An unknown error occurred', afterRunning: true, calls: ['capture'] });
    const [authorized] = stripe.confirm(intentId, 'authorize');
    assert.equal((await deliver(authorized!)).statusCode, 503);
    stripe.refusals.delete(intentId);
    const before = { failed: await providerCalls('void', 'failed'), refused: await providerCalls('void', 'refused'), refunds: await providerCalls('refund', 'succeeded') };
    const refund = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.id}/refund`, headers: t.admin });
    assert.equal(refund.statusCode, 200, refund.body);
    assert.equal(stripe.refunds.get(intentId), 1, 'the money taken is refunded once');
    const after = { failed: await providerCalls('void', 'failed'), refused: await providerCalls('void', 'refused'), refunds: await providerCalls('refund', 'succeeded') };
    assert.deepEqual(
      { failed: after.failed - before.failed, refused: after.refused - before.refused, refunds: after.refunds - before.refunds },
      { failed: 0, refused: 1, refunds: 1 },
      'the void refused because the intent was captured, then refunded, is no failing provider call (alert PaymentProviderCallsFailing)',
    );
  });
});

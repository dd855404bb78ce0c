import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import Stripe from 'stripe';
import type { TestApp } from './helpers/app.ts';
import type { Json } from './helpers/http.ts';
import { startStripeShop, type StripeShop } from './helpers/stripe-app.ts';
import type { StripeServer } from './helpers/stripe-server.ts';

const NAME = 'payreview';

describe('Stripe: a wrong-amount capture on a paid order, and a cancel arriving before its intent is recorded', () => {
  let shop: StripeShop;
  let stripe: StripeServer;
  let t: TestApp;
  let buyer: string;

  before(async () => {
    shop = await startStripeShop({ name: NAME, env: { PAYMENT_WINDOW_S: '600' } });
    ({ stripe, t, buyer } = shop);
  });
  after(async () => {
    await shop?.close();
  });

  it('the redelivered capture of another amount, whose refund call failed, refunds it (as any late payment)', async () => {
    const productId = await shop.product(10, 4200);
    const { order, intentId } = await shop.placeAndStartPayment(productId);
    const [authorized] = stripe.confirm(intentId, 'authorize');
    // Captured for 1.00 at Stripe (its dashboard) before our capture.
    const intent = stripe.intents.get(intentId)!;
    Object.assign(intent, { status: 'succeeded', amount_received: 100, amount_capturable: 0 });
    const captured = stripe.event('payment_intent.succeeded', structuredClone(intent) as unknown as Record<string, unknown>);
    assert.equal((await shop.deliver(authorized!)).json().outcome, 'paid');
    // Stripe is busy when the refund is asked for (429: nothing kept under the key): the event is answered with a 5xx.
    stripe.refusals.set(intentId, { status: 429, message: 'Too many requests', calls: ['refund'] });
    const first = await shop.deliver(captured);
    assert.ok(first.statusCode >= 500, `first delivery answered ${first.statusCode} ${first.body}`);
    stripe.refusals.delete(intentId);
    // Stripe redelivers the event.
    const again = await shop.deliver(captured);
    assert.equal(again.statusCode, 200, again.body);
    const rows = (await t.platform.db.primary.execute(sql`select status, amount_cents, late from payments where intent_id = ${intentId}`)).rows;
    assert.equal(
      stripe.refunds.get(intentId) ?? 0,
      1,
      `the redelivered capture of 1.00 on order ${order.id} of 42.00 made no refund call: outcome ${again.json().outcome}, payments ${JSON.stringify(rows)}, refunds at Stripe ${stripe.refunds.get(intentId) ?? 0}`,
    );
  });

  it('an intent canceled at Stripe, its canceled event arriving before the pay call records it, is not left as the order\'s open payment', async () => {
    const productId = await shop.product(10, 4200);
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: buyer, 'idempotency-key': `${NAME}-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    const orderId = placed.json().id as number;
    // The pay call's create reaches Stripe (same key and parameters as the app's key-less pay call) ...
    const url = new URL(stripe.url);
    const client = new Stripe(`sk_test_salescale_${NAME}_0123456789`, { host: url.hostname, port: Number(url.port), protocol: url.protocol.replace(':', '') as 'http', telemetry: false, maxNetworkRetries: 0 });
    const intent = await client.paymentIntents.create(
      { amount: 4200, currency: 'usd', capture_method: 'manual', metadata: { orderId: String(orderId) } },
      { idempotencyKey: `salescale-order-${orderId}-intent-default` },
    );
    // ... the intent is canceled at Stripe and its event delivered before the pay call records the intent.
    await client.paymentIntents.cancel(intent.id, {});
    const canceled = stripe.events.find((e) => e.type === 'payment_intent.canceled' && (e.data.object as Json).id === intent.id);
    assert.ok(canceled, 'Stripe sent payment_intent.canceled');
    const reply = await shop.deliver(canceled);
    assert.equal(reply.statusCode, 200, reply.body);
    // The pay call now gets its create answered (replayed under its key) and records the intent.
    const pay = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/pay`, headers: { cookie: buyer }, payload: {} });
    const payAgain = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/pay`, headers: { cookie: buyer }, payload: {} });
    assert.equal(payAgain.statusCode, 200, payAgain.body);
    const offered = (payAgain.json().payment.clientSecret as string).split('_secret_')[0]!;
    const rows = (await t.platform.db.primary.execute(sql`select status, intent_id from payments where order_id = ${orderId}`)).rows;
    assert.notEqual(
      stripe.intents.get(offered)!.status,
      'canceled',
      `the buyer of order ${orderId} (pending_payment) is offered intent ${offered}, canceled at Stripe (its canceled event answered ${reply.json().outcome}; pay ${pay.statusCode}); payments ${JSON.stringify(rows)}`,
    );
  });

  it('the pay call whose intent was canceled at Stripe before it recorded it offers the buyer a new intent', async () => {
    const productId = await shop.product(10, 4200);
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: buyer, 'idempotency-key': `${NAME}-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    const orderId = placed.json().id as number;
    const url = new URL(stripe.url);
    const client = new Stripe(`sk_test_salescale_${NAME}_0123456789`, { host: url.hostname, port: Number(url.port), protocol: url.protocol.replace(':', '') as 'http', telemetry: false, maxNetworkRetries: 0 });
    // The pay call reads the order (no payment yet) and its create is held at "Stripe" until a second create arrives.
    stripe.holdCreates = 2;
    const paying = t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/pay`, headers: { cookie: buyer }, payload: {} });
    const deadline = Date.now() + 10_000;
    while (stripe.heldCreates < 1) {
      assert.ok(Date.now() < deadline, 'the pay call never reached Stripe');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Under the order's lock (the pay call cannot record its intent meanwhile): the same create (same key), which releases
    // both, the intent canceled at Stripe, and what its canceled event records for the waiting order, a voided payment
    // (written here: delivering the event would wait for this same lock).
    const intentId = await t.platform.db.primary.transaction(async (tx) => {
      await tx.execute(sql`select id from orders where id = ${orderId} for update`);
      const intent = await client.paymentIntents.create(
        { amount: 4200, currency: 'usd', capture_method: 'manual', metadata: { orderId: String(orderId) } },
        { idempotencyKey: `salescale-order-${orderId}-intent-default` },
      );
      await client.paymentIntents.cancel(intent.id, {});
      await tx.execute(sql`insert into payments (order_id, provider, intent_id, amount_cents, currency, status) values (${orderId}, 'stripe', ${intent.id}, 4200, 'USD', 'voided')`);
      return intent.id;
    });
    const pay = await paying;
    assert.equal(pay.statusCode, 200, pay.body);
    const secret = pay.json().payment?.clientSecret as string | undefined;
    const rows = (await t.platform.db.primary.execute(sql`select status, intent_id from payments where order_id = ${orderId} order by id`)).rows;
    assert.ok(secret !== undefined, `the pay call of order ${orderId} offers no intent to confirm: payment ${JSON.stringify(pay.json().payment)}, payments ${JSON.stringify(rows)}`);
    const offered = secret.split('_secret_')[0]!;
    assert.notEqual(offered, intentId, 'not the canceled intent');
    assert.equal(stripe.intents.get(offered)!.status, 'requires_payment_method');
  });
});

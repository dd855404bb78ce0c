import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import Stripe from 'stripe';
import type { TestApp } from './helpers/app.ts';
import type { Json } from './helpers/http.ts';
import type { LogLine } from './helpers/log-lines.ts';
import { parsePrometheusText, total } from './helpers/prometheus-text.ts';
import { startStripeShop, type StripeShop } from './helpers/stripe-app.ts';
import type { StripeServer } from './helpers/stripe-server.ts';

const NAME = 'payreview';

/**
 * Stripe payments that do not match their order (another amount authorized or captured), orders cancelled while their
 * intent is being created or before it is recorded, and captures whose answer was lost: one shop whose payment window
 * (600 s) outlasts every test, its log kept at info level.
 */
describe('Stripe: payments of another amount, cancels racing the intent, and captures whose answer was lost', () => {
  let shop: StripeShop;
  let stripe: StripeServer;
  let t: TestApp;
  let buyer: string;
  let lines: LogLine[];

  before(async () => {
    shop = await startStripeShop({ name: NAME, env: { PAYMENT_WINDOW_S: '600' }, logged: 'info' });
    ({ stripe, t, buyer, logged: lines } = shop);
  });
  after(async () => {
    await shop?.close();
  });

  const product = (...args: Parameters<StripeShop['product']>) => shop.product(...args);
  const placeAndStartPayment = (productId: number) => shop.placeAndStartPayment(productId);
  const deliver = (...args: Parameters<StripeShop['deliver']>) => shop.deliver(...args);

  /** Until a pay call's intent creation is held at "Stripe" (after `stripe.holdCreates` was set). */
  async function untilACreateIsHeld(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (stripe.heldCreates < 1) {
      assert.ok(Date.now() < deadline, 'the pay call never reached Stripe');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  const orderStatus = async (orderId: number) => (await t.app.inject({ method: 'GET', url: `/api/v1/orders/${orderId}`, headers: { cookie: buyer } })).json().status;

  /** Places the buyer's order of one unit of `productId` (asserts 201); answers its id. */
  async function placeOrder(productId: number): Promise<number> {
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: buyer, 'idempotency-key': `${NAME}-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    return placed.json().id as number;
  }

  /** A Stripe client of the shop's own account at the fake Stripe: calls made as another integration (or the dashboard) would. */
  function stripeClient(): Stripe {
    const url = new URL(stripe.url);
    return new Stripe(`sk_test_salescale_${NAME}_0123456789`, { host: url.hostname, port: Number(url.port), protocol: url.protocol.replace(':', '') as 'http', telemetry: false, maxNetworkRetries: 0 });
  }

  /**
   * Places the buyer's order of one unit (asserts 201) and pays it while it is cancelled (asserts 200): the intent's
   * creation is held at "Stripe" (2: it waits for a second that never comes) until the cancel is done.
   */
  async function placeAndPayWhileCancelling(productId: number) {
    const orderId = await placeOrder(productId);
    stripe.holdCreates = 2;
    const paying = t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/pay`, headers: { cookie: buyer }, payload: {} });
    await untilACreateIsHeld();
    const cancel = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/cancel`, headers: { cookie: buyer } });
    assert.equal(cancel.statusCode, 200, cancel.body);
    stripe.releaseCreates();
    return { orderId, cancel, pay: await paying };
  }

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
    const { orderId, cancel, pay } = await placeAndPayWhileCancelling(productId);
    assert.equal(cancel.json().status, 'cancelled');
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

  it('a capture of less than the order total, arriving after the order is paid, is given back: refunded, the order refunded', async () => {
    const productId = await product(10, 4200);
    const { order, intentId } = await placeAndStartPayment(productId);
    const [authorized] = stripe.confirm(intentId, 'authorize');
    // Captured for 1.00 at Stripe (its dashboard) before our capture: ours finds it captured, its event comes after.
    const intent = stripe.intents.get(intentId)!;
    Object.assign(intent, { status: 'succeeded', amount_received: 100, amount_capturable: 0 });
    const captured = stripe.event('payment_intent.succeeded', structuredClone(intent) as unknown as Record<string, unknown>);
    assert.equal((await deliver(authorized!)).json().outcome, 'paid');
    const reply = await deliver(captured);
    assert.equal(reply.statusCode, 200, reply.body);
    const rows = (await t.platform.db.primary.execute(sql`select status, amount_cents, late from payments where intent_id = ${intentId}`)).rows;
    const status = await orderStatus(order.id);
    assert.equal(
      reply.json().outcome,
      'late',
      `a capture of 1.00 USD on order ${order.id} of 42.00 USD, arriving once it was paid, was taken: outcome ${reply.json().outcome}, order ${status}, payments ${JSON.stringify(rows)}, refunds at Stripe ${stripe.refunds.get(intentId) ?? 0}`,
    );
    assert.deepEqual(rows, [{ status: 'refunded', amount_cents: 100, late: true }]);
    assert.equal(stripe.refunds.get(intentId), 1, 'the 1.00 taken is refunded once');
    assert.equal(status, 'refunded', 'the order, not paid for, is refunded (its units back on sale)');
  });

  it('the canceled event of the intent of an order cancelled while it was created records no payment for the order', async () => {
    const { orderId, intentId } = await payWhileCancelled();
    const canceled = stripe.events.find((e) => e.type === 'payment_intent.canceled' && (e.data.object as Json).id === intentId);
    assert.ok(canceled, 'Stripe sent payment_intent.canceled');
    const reply = await deliver(canceled);
    assert.equal(reply.statusCode, 200, reply.body);
    const recorded = (await t.platform.db.primary.execute(sql`select status, intent_id from payments where order_id = ${orderId}`)).rows;
    assert.deepEqual(recorded, [], `the canceled event of an intent never recorded (outcome ${reply.json().outcome}) recorded a payment on cancelled order ${orderId}: ${JSON.stringify(recorded)}`);
    assert.equal(await orderStatus(orderId), 'cancelled');
  });

  it('a pay call whose order is cancelled while it creates the intent cancels that intent at Stripe', async () => {
    const productId = await product(5);
    const before = new Set(stripe.intents.keys());
    assert.equal((await placeAndPayWhileCancelling(productId)).pay.statusCode, 409);
    const created = [...stripe.intents.values()].filter((intent) => !before.has(intent.id));
    assert.deepEqual(created.map((intent) => intent.status), ['canceled'], 'the intent created for the cancelled order is canceled at Stripe');
  });

  const providerCalls = async (action: string, outcome: string) =>
    total(parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body), 'salescale_payment_provider_calls_total', { provider: 'stripe', action, outcome });

  /** Places an order and pays it while it is cancelled: the intent's creation is held at "Stripe" until the cancel is done. */
  async function payWhileCancelled(): Promise<{ orderId: number; intentId: string }> {
    const { orderId, pay } = await placeAndPayWhileCancelling(await product(5));
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
    const orderId = await placeOrder(productId);
    // The pay call's create reaches Stripe (same key and parameters as the app's key-less pay call) ...
    const client = stripeClient();
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
    const orderId = await placeOrder(productId);
    const client = stripeClient();
    // The pay call reads the order (no payment yet) and its create is held at "Stripe" until a second create arrives.
    stripe.holdCreates = 2;
    const paying = t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/pay`, headers: { cookie: buyer }, payload: {} });
    await untilACreateIsHeld();
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

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import client from 'prom-client';
import Stripe from 'stripe';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../../../test/helpers/commerce.ts';
import type { Json } from '../../../test/helpers/http.ts';
import type { LogLine } from '../../../test/helpers/log-lines.ts';
import { startInstance, type Instance } from '../../../test/helpers/instances.ts';
import { waitFor } from '../../../test/helpers/queues.ts';
import { createPaymentsRepository, OPEN_PAYMENT_PROBLEMS, registerGiveBackGauges } from './index.ts';
import { startStripeShop, type StripeShop } from '../../../test/helpers/stripe-app.ts';
import type { StripeEvent, StripeServer } from '../../../test/helpers/stripe-server.ts';

describe('Stripe provider against a local Stripe-shaped server', () => {
  let shop: StripeShop;
  let stripe: StripeServer;
  let t: TestApp;
  let alice: string;
  /** The app's log lines at warn level and above, parsed. */
  let logged: LogLine[];
  const WINDOW_S = 3;

  before(async () => {
    shop = await startStripeShop({ name: 'local', env: { PAYMENT_WINDOW_S: String(WINDOW_S) }, logged: 'warn' });
    ({ stripe, t, buyer: alice, logged } = shop);
  });
  after(async () => {
    await shop?.close();
  });

  const product = (...args: Parameters<StripeShop['product']>) => shop.product(...args);
  const placeAndStartPayment = (productId: number) => shop.placeAndStartPayment(productId);
  const deliver = (event: StripeEvent | string, signature?: string) => shop.deliver(event, signature);

  const eventsOf = (intentId: string) => stripe.events.filter((e) => (e.data.object as Json).id === intentId || (e.data.object as Json).payment_intent === intentId);
  const orderStatus = async (orderId: number) => (await t.app.inject({ method: 'GET', url: `/api/v1/orders/${orderId}`, headers: { cookie: alice } })).json().status;
  async function stock(productId: number): Promise<number> {
    const result = await t.platform.db.primary.execute<{ sum: string }>(sql`select coalesce(sum(available), 0) as sum from product_stock where product_id = ${productId}`);
    return Number(result.rows[0]!.sum);
  }

  it('creates one manual-capture PaymentIntent per order with our idempotency key, and reuses it', async () => {
    const productId = await product();
    const { order, intentId } = await placeAndStartPayment(productId);
    const intent = stripe.intents.get(intentId)!;
    assert.equal(intent.capture_method, 'manual');
    assert.equal(intent.amount, 4200);
    assert.equal(intent.currency, 'usd');
    assert.equal(intent.metadata.orderId, String(order.id));
    const created = stripe.requests.filter((r) => r.path === '/v1/payment_intents');
    assert.ok(created.at(-1)!.idempotencyKey?.startsWith(`salescale-order-${order.id}-intent`), 'our idempotency key is forwarded');
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${order.id}/pay`, headers: { cookie: alice }, payload: {} });
    assert.equal(again.json().payment.clientSecret, intent.client_secret, 'the open intent is reused');
    assert.equal(stripe.requests.filter((r) => r.path === '/v1/payment_intents').length, created.length);
  });

  it("keeps a buyer's client secret out of the admin's order list: only the buyer's own replies carry it", async () => {
    const productId = await product();
    const { order } = await placeAndStartPayment(productId);
    const mine = await t.app.inject({ method: 'GET', url: `/api/v1/orders/${order.id}`, headers: { cookie: alice } });
    assert.match(mine.json().payment.clientSecret, /_secret_/, 'the buyer still gets it, to confirm the payment with Stripe.js');
    const listed = await t.app.inject({ method: 'GET', url: '/api/v1/admin/orders?status=pending_payment&limit=100', headers: t.admin });
    assert.equal(listed.statusCode, 200, listed.body);
    const row = listed.json().items.find((item: Json) => item.id === order.id);
    assert.ok(row, 'the order is listed');
    assert.equal(row.payment.provider, 'stripe');
    assert.equal(row.payment.clientSecret, undefined, 'no client secret in the admin list');
    assert.doesNotMatch(listed.body, /_secret_/);
    // Opened on its own (GET /admin/orders/:id), the order names the PaymentIntent, still without its secret.
    const opened = await t.app.inject({ method: 'GET', url: `/api/v1/admin/orders/${order.id}`, headers: t.admin });
    assert.equal(opened.statusCode, 200, opened.body);
    assert.equal(opened.json().payment.provider, 'stripe');
    assert.match(opened.json().payment.intentId, /^pi_/);
    assert.equal(opened.json().payment.status, 'requires_payment');
    assert.doesNotMatch(opened.body, /_secret_/, 'no client secret in the admin order');
  });

  it('pays on payment_intent.amount_capturable_updated, captures once; events replayed 3× and shuffled change nothing', async () => {
    const productId = await product(10);
    const started = await Promise.all([1, 2, 3, 4].map(() => placeAndStartPayment(productId)));
    // Two buyers authorize, one is declined, one never confirms.
    for (const { intentId } of started.slice(0, 2)) stripe.confirm(intentId, 'authorize');
    stripe.confirm(started[2]!.intentId, 'decline');
    for (const { intentId } of started.slice(0, 3)) {
      for (const event of eventsOf(intentId).filter((e) => e.type !== 'payment_intent.created')) {
        const reply = await deliver(event);
        assert.equal(reply.statusCode, 200, reply.body);
      }
    }
    assert.equal(await orderStatus(started[0]!.order.id), 'paid');
    assert.equal(await orderStatus(started[1]!.order.id), 'paid');
    assert.equal(await orderStatus(started[2]!.order.id), 'pending_payment');
    assert.equal(await orderStatus(started[3]!.order.id), 'pending_payment');
    for (const { intentId } of started.slice(0, 2)) {
      assert.equal(stripe.captures.get(intentId), 1, 'captured once');
      assert.equal(stripe.intents.get(intentId)!.status, 'succeeded');
    }
    const before = {
      statuses: await Promise.all(started.map((s) => orderStatus(s.order.id))),
      stock: await stock(productId),
      payments: (await t.platform.db.primary.execute(sql`select intent_id, status, applied, late from payments order by id`)).rows,
    };
    // Every event Stripe sent for these intents (the capture's payment_intent.succeeded too), three times, shuffled.
    const all = started.flatMap((s) => eventsOf(s.intentId));
    const replays = [...all, ...all, ...all].sort(() => Math.random() - 0.5);
    for (const event of replays) {
      const reply = await deliver(event);
      assert.equal(reply.statusCode, 200, reply.body);
    }
    assert.deepEqual(await Promise.all(started.map((s) => orderStatus(s.order.id))), before.statuses);
    assert.equal(await stock(productId), before.stock);
    assert.deepEqual((await t.platform.db.primary.execute(sql`select intent_id, status, applied, late from payments order by id`)).rows, before.payments);
    for (const { intentId } of started) assert.ok((stripe.captures.get(intentId) ?? 0) <= 1);
    assert.equal(stripe.cancels.size, 0, 'nothing voided');
  });

  it('refuses a forged or tampered signature with 400 and changes nothing', async () => {
    const productId = await product();
    const { order, intentId } = await placeAndStartPayment(productId);
    const [event] = stripe.confirm(intentId, 'authorize');
    const payload = JSON.stringify(event);
    const forged = Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_someone_else' });
    const tampered = Stripe.webhooks.generateTestHeaderString({ payload, secret: shop.webhookSecret });
    const cases: [string, string][] = [
      [payload, forged],
      [payload.replace('"amount":4200', '"amount":1'), tampered],
      [payload, 't=1,v1=deadbeef'],
      [payload, Stripe.webhooks.generateTestHeaderString({ payload, secret: shop.webhookSecret, timestamp: Math.floor(Date.now() / 1000) - 3600 })],
    ];
    for (const [body, signature] of cases) {
      const reply = await deliver(body, signature);
      assert.equal(reply.statusCode, 400, reply.body);
      assert.equal(reply.json().error.code, 'WEBHOOK_SIGNATURE_INVALID');
    }
    const unsigned = await t.app.inject({ method: 'POST', url: '/api/v1/payments/webhooks/stripe', headers: { 'content-type': 'application/json' }, payload });
    assert.equal(unsigned.json().error.code, 'WEBHOOK_SIGNATURE_INVALID');
    // Correctly signed, but not what Stripe sends: refused as malformed, never a 500 or a database error.
    const object = event!.data.object as Json;
    const reshaped = (fields: Json) => JSON.stringify({ ...event, data: { ...event!.data, object: { ...object, ...fields } } });
    const odd = [
      'null',
      reshaped({ currency: 840 }),
      reshaped({ amount: 'lots' }),
      reshaped({ amount: 42.5 }),
      // A negative amount is no amount in minor units either (it was taken as a hold of the wrong amount: the buyer's hold voided).
      reshaped({ amount_capturable: -4200 }),
      reshaped({ amount: -4200 }),
      reshaped({ id: 7 }),
      reshaped({ object: 'charge', payment_intent: intentId, amount_refunded: 4200, currency: ['usd'] }),
      reshaped({ object: 'charge', payment_intent: 7, amount_refunded: 4200, currency: 'usd' }),
      // Text PostgreSQL cannot store (was 400 INVALID_VALUE from the database).
      JSON.stringify({ ...event, id: 'evt_\u0000' }),
      reshaped({ id: 'pi_\ud800' }),
    ];
    for (const body of ['not json at all', JSON.stringify({ hello: 'world' }), ...odd]) {
      const malformed = await deliver(body);
      assert.equal(malformed.statusCode, 400, malformed.body);
      assert.equal(malformed.json().error.code, 'WEBHOOK_MALFORMED');
    }
    assert.equal(await orderStatus(order.id), 'pending_payment');
    assert.equal(stripe.captures.get(intentId) ?? 0, 0);
    // The genuine event still works afterwards.
    assert.equal((await deliver(event!)).json().outcome, 'paid');
  });

  it("refuses a genuinely signed event more than 300 s old as stale, saying so (not a body mismatch); takes one dated ahead, as Stripe's SDK does", async () => {
    const productId = await product();
    const { order, intentId } = await placeAndStartPayment(productId);
    const [event] = stripe.confirm(intentId, 'authorize');
    const payload = JSON.stringify(event);
    const signedAt = (offsetS: number) => Stripe.webhooks.generateTestHeaderString({ payload, secret: shop.webhookSecret, timestamp: Math.floor(Date.now() / 1000) + offsetS });
    const stale = await deliver(payload, signedAt(-3600));
    assert.equal(stale.statusCode, 400, stale.body);
    assert.equal(stale.json().error.code, 'WEBHOOK_SIGNATURE_INVALID');
    // An operator reading the log must see a replay or a clock problem, not a wrong secret or a tampered body.
    assert.match(stale.json().error.message, /older than 300 s/, stale.body);
    assert.doesNotMatch(stale.json().error.message, /does not match/, stale.body);
    assert.equal(await orderStatus(order.id), 'pending_payment');
    // Dated ahead of this server's clock (Stripe's clock ahead of ours): no replay, taken (README: only the age is checked).
    const ahead = await deliver(payload, signedAt(600));
    assert.equal(ahead.statusCode, 200, ahead.body);
    assert.equal(ahead.json().outcome, 'paid');
  });

  it('refuses a stale genuine signature whose header is given a second, fresh timestamp (the age judged is the signed one)', async () => {
    const productId = await product();
    const { order, intentId } = await placeAndStartPayment(productId);
    const [event] = stripe.confirm(intentId, 'authorize');
    const payload = JSON.stringify(event);
    const nowS = Math.floor(Date.now() / 1000);
    // A genuine header captured an hour ago; a replayer puts a fresh `t=` in front of it. Stripe's SDK signs and checks
    // the last `t=` (the old one, which the signature matches), so the age must be judged from that one too.
    const captured = Stripe.webhooks.generateTestHeaderString({ payload, secret: shop.webhookSecret, timestamp: nowS - 3600 });
    const replayed = await deliver(payload, `t=${nowS},${captured}`);
    assert.equal(replayed.statusCode, 400, replayed.body);
    assert.equal(replayed.json().error.code, 'WEBHOOK_SIGNATURE_INVALID');
    assert.equal(await orderStatus(order.id), 'pending_payment');
  });

  it('a payment after expiry: the hold is voided (never captured), a captured one refunded once, replays change nothing', async () => {
    const productId = await product(10);
    const held = await placeAndStartPayment(productId);
    const captured = await placeAndStartPayment(productId);
    assert.equal(await stock(productId), 8);
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000 + 300));
    const late1 = stripe.confirm(held.intentId, 'authorize');
    const late2 = stripe.confirm(captured.intentId, 'capture');
    for (const event of [...late1, ...late2]) {
      const reply = await deliver(event);
      assert.equal(reply.statusCode, 200, reply.body);
      assert.equal(reply.json().outcome, 'late');
    }
    assert.equal(await orderStatus(held.order.id), 'expired');
    assert.equal(await orderStatus(captured.order.id), 'expired');
    assert.equal(await stock(productId), 10, 'the expired units came back once');
    assert.equal(stripe.captures.get(held.intentId) ?? 0, 0, 'no capture on an expired order');
    assert.equal(stripe.cancels.get(held.intentId), 1, 'the late hold voided');
    assert.equal(stripe.refunds.get(captured.intentId), 1, 'the late capture refunded');
    // Everything Stripe sent about them, replayed 3× and shuffled.
    const all = [...eventsOf(held.intentId), ...eventsOf(captured.intentId)];
    for (const event of [...all, ...all, ...all].sort(() => Math.random() - 0.5)) assert.equal((await deliver(event)).statusCode, 200);
    assert.equal(stripe.refunds.get(captured.intentId), 1, 'refunded once');
    assert.equal(stripe.cancels.get(held.intentId), 1);
    assert.equal(stripe.captures.get(held.intentId) ?? 0, 0);
    assert.equal(await stock(productId), 10);
    const late = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from payments where late`);
    assert.equal(Number(late.rows[0]!.n), 2, 'both reported as late');
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^salescale_late_payments_total\{provider="stripe",action="voided"[^}]*\} 1$/m);
    assert.match(metrics, /^salescale_late_payments_total\{provider="stripe",action="refunded"[^}]*\} 1$/m);
  });

  it('a late payment given back writes one "payment returned" email, whatever the duplicate or concurrent deliveries', async () => {
    const returnedEmails = async (orderId: number) =>
      (await t.platform.db.primary.execute<{ data: Json }>(sql`select data from outbox where name = 'send-payment-returned' and (data->>'orderId')::bigint = ${orderId} order by id`)).rows.map((r) => r.data);
    const productId = await product(10);
    const held = await placeAndStartPayment(productId);
    const captured = await placeAndStartPayment(productId);
    const alice = (await t.platform.db.primary.execute<{ email: string; name: string }>(sql`select c.email, c.name from customers c join orders o on o.customer_id = c.id where o.id = ${held.order.id}`)).rows[0]!;
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000 + 300));
    const [lateHold] = stripe.confirm(held.intentId, 'authorize');
    const [lateCapture] = stripe.confirm(captured.intentId, 'capture');

    // Stripe's redeliveries of both events, three at once each.
    const replies = await Promise.all([lateHold!, lateHold!, lateHold!, lateCapture!, lateCapture!, lateCapture!].map((event) => deliver(event)));
    for (const reply of replies) assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(stripe.cancels.get(held.intentId), 1);
    assert.equal(stripe.refunds.get(captured.intentId), 1);
    // And everything Stripe sent about them (its own payment_intent.canceled and charge.refunded), again, at once.
    const all = [...eventsOf(held.intentId), ...eventsOf(captured.intentId)];
    for (const reply of await Promise.all([...all, ...all].map((event) => deliver(event)))) assert.equal(reply.statusCode, 200, reply.body);

    assert.deepEqual(await returnedEmails(held.order.id), [
      { orderId: held.order.id, email: alice.email, name: alice.name, amountCents: 4200, currency: 'USD', action: 'voided', reason: 'expired' },
    ]);
    const refunded = await returnedEmails(captured.order.id);
    assert.equal(refunded.length, 1, JSON.stringify(refunded));
    assert.equal(refunded[0]!.action, 'refunded');
    assert.equal(refunded[0]!.reason, 'expired');
    assert.equal(refunded[0]!.email, alice.email);

    // A second payment for an order already paid: its hold is released, and the buyer told why.
    const paid = await placeAndStartPayment(productId);
    for (const event of stripe.confirm(paid.intentId, 'authorize')) assert.equal((await deliver(event)).json().outcome, 'paid');
    const secondId = `${paid.intentId}x`;
    stripe.intents.set(secondId, { ...structuredClone(stripe.intents.get(paid.intentId)!), id: secondId, status: 'requires_capture', amount_capturable: 4200, amount_received: 0 });
    const second = stripe.event('payment_intent.amount_capturable_updated', stripe.intents.get(secondId) as unknown as Json);
    assert.equal((await deliver(second)).json().outcome, 'late');
    assert.equal((await deliver(second)).statusCode, 200);
    const secondEmails = await returnedEmails(paid.order.id);
    assert.equal(secondEmails.length, 1);
    assert.equal(secondEmails[0]!.reason, 'already_paid');
    assert.equal(secondEmails[0]!.action, 'voided');
  });

  it("Stripe's charge.refunded for a late hold it released on our cancel gives nothing back again: one email, the payment stays voided", async () => {
    const productId = await product(10);
    const paid = await placeAndStartPayment(productId);
    for (const event of stripe.confirm(paid.intentId, 'authorize')) assert.equal((await deliver(event)).json().outcome, 'paid');
    // A second hold on the paid order: late, voided (the intent canceled at Stripe), the buyer told once.
    const secondId = `${paid.intentId}late`;
    stripe.intents.set(secondId, { ...structuredClone(stripe.intents.get(paid.intentId)!), id: secondId, status: 'requires_capture', amount_capturable: 4200, amount_received: 0 });
    assert.equal((await deliver(stripe.event('payment_intent.amount_capturable_updated', stripe.intents.get(secondId) as unknown as Json))).json().outcome, 'late');
    assert.equal(stripe.cancels.get(secondId), 1);
    // Stripe refunds the amount_capturable of a requires_capture intent it cancels: its charge reads refunded, and says so, several times at once.
    const released = stripe.event('charge.refunded', { id: `ch_${secondId}`, object: 'charge', amount: 4200, amount_refunded: 4200, captured: false, refunded: true, currency: 'usd', payment_intent: secondId });
    for (const reply of await Promise.all([released, released, released].map((event) => deliver(event)))) assert.equal(reply.statusCode, 200, reply.body);
    const emails = (await t.platform.db.primary.execute<{ data: Json }>(sql`select data from outbox where name = 'send-payment-returned' and (data->>'orderId')::bigint = ${paid.order.id}`)).rows.map((r) => r.data);
    assert.deepEqual(emails.map((d) => [d.action, d.reason]), [['voided', 'already_paid']], 'the buyer is told once that the hold was released, not again that it was refunded');
    const second = (await t.platform.db.primary.execute(sql`select status, late from payments where intent_id = ${secondId}`)).rows;
    assert.deepEqual(second, [{ status: 'voided', late: true }]);
    assert.equal(await orderStatus(paid.order.id), 'paid');
    assert.equal(stripe.refunds.get(secondId) ?? 0, 0, 'nothing refunded by us');
  });

  it('a full refund delivered before the capture it refunds (events out of order) leaves the order unpaid: nothing captured, refunded or applied', async () => {
    const productId = await product(10);
    const started = await placeAndStartPayment(productId);
    const [succeeded] = stripe.confirm(started.intentId, 'capture');
    const refunded = stripe.event('charge.refunded', { id: `ch_${started.intentId}`, object: 'charge', amount: 4200, amount_refunded: 4200, captured: true, refunded: true, currency: 'usd', payment_intent: started.intentId });
    assert.equal((await deliver(refunded)).json().outcome, 'refunded');
    assert.equal((await deliver(succeeded!)).json().outcome, 'settled', 'the capture arriving after its refund pays nothing');
    assert.equal((await deliver(refunded)).json().outcome, 'duplicate');
    assert.equal(await orderStatus(started.order.id), 'pending_payment', 'its money went back: the order still waits (and expires)');
    const payments = (await t.platform.db.primary.execute(sql`select status, applied from payments where intent_id = ${started.intentId}`)).rows;
    assert.deepEqual(payments, [{ status: 'refunded', applied: false }]);
    assert.equal(await t.platform.db.primary.execute(sql`select 1 from outbox where name = 'order-paid' and (data->>'orderId')::bigint = ${started.order.id}`).then((r) => r.rows.length), 0);
    assert.equal(stripe.refunds.get(started.intentId) ?? 0, 0, 'no refund of ours on top of it');
  });

  it('after its intent was canceled at Stripe, the next pay call of a still payable order creates a new intent (its retries reuse it), and the buyer can pay', async () => {
    const productId = await product(10);
    const { order, intentId } = await placeAndStartPayment(productId);
    // Canceled at Stripe while the order still waits (in the dashboard, or by Stripe): its payment_intent.canceled arrives.
    const intent = stripe.intents.get(intentId)!;
    intent.status = 'canceled';
    intent.canceled_at = Math.floor(Date.now() / 1000);
    assert.equal((await deliver(stripe.event('payment_intent.canceled', intent as unknown as Json))).json().outcome, 'voided');
    assert.equal(await orderStatus(order.id), 'pending_payment');
    const pay = () => t.app.inject({ method: 'POST', url: `/api/v1/orders/${order.id}/pay`, headers: { cookie: alice }, payload: {} });
    const again = await pay();
    assert.equal(again.statusCode, 200, again.body);
    const secret = again.json().payment.clientSecret as string;
    const newIntentId = secret.split('_secret_')[0]!;
    assert.notEqual(newIntentId, intentId, 'a new intent, not the canceled one replayed by Stripe');
    assert.equal(stripe.intents.get(newIntentId)?.status, 'requires_payment_method');
    // Retries of this attempt (its reply lost, two tabs) get the same live intent.
    const retries = await Promise.all([pay(), pay()]);
    for (const retry of retries) assert.equal(retry.json().payment.clientSecret, secret);
    assert.ok(stripe.requests.some((r) => r.path === '/v1/payment_intents' && r.idempotencyKey === `salescale-order-${order.id}-intent-after-${intentId}-default`));
    for (const event of stripe.confirm(newIntentId, 'authorize')) assert.equal((await deliver(event)).json().outcome, 'paid');
    assert.equal(await orderStatus(order.id), 'paid');
    assert.equal(stripe.captures.get(newIntentId), 1);
  });

  it('a partial refund made at Stripe leaves the order paid and its units sold; refunding the rest refunds the order, once', async () => {
    const productId = await product(10);
    const { order, intentId } = await placeAndStartPayment(productId);
    for (const event of stripe.confirm(intentId, 'authorize')) assert.equal((await deliver(event)).json().outcome, 'paid');
    assert.equal(stripe.captures.get(intentId), 1);
    assert.equal(await stock(productId), 9);
    // Refunds made in Stripe's dashboard (a goodwill partial refund, then the rest): Stripe sends charge.refunded for
    // each, with the amount refunded so far; `refunded` is true only once all of it is.
    const intent = stripe.intents.get(intentId)!;
    const refunded = (amountRefunded: number) =>
      stripe.event('charge.refunded', {
        id: intent.latest_charge,
        object: 'charge',
        amount: intent.amount,
        amount_refunded: amountRefunded,
        currency: intent.currency,
        payment_intent: intentId,
        refunded: amountRefunded === intent.amount,
        metadata: intent.metadata,
      });
    const paymentStatus = async () => (await t.platform.db.primary.execute<{ status: string }>(sql`select status from payments where intent_id = ${intentId}`)).rows[0]!.status;
    const partial = refunded(1000);
    const reply = await deliver(partial);
    assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(reply.json().outcome, 'partially_refunded');
    assert.equal(await orderStatus(order.id), 'paid', 'the buyer keeps the order');
    assert.equal(await stock(productId), 9, 'its unit stays sold');
    assert.equal(await paymentStatus(), 'captured');
    const fulfil = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.id}/fulfill`, headers: t.admin });
    assert.equal(fulfil.statusCode, 200, fulfil.body);
    assert.equal(fulfil.json().status, 'fulfilled', 'and it still ships');

    const second = await placeAndStartPayment(productId);
    for (const event of stripe.confirm(second.intentId, 'authorize')) assert.equal((await deliver(event)).json().outcome, 'paid');
    const secondIntent = stripe.intents.get(second.intentId)!;
    const partOfSecond = stripe.event('charge.refunded', {
      id: secondIntent.latest_charge,
      object: 'charge',
      amount: 4200,
      amount_refunded: 200,
      currency: 'usd',
      payment_intent: second.intentId,
      refunded: false,
    });
    const restOfSecond = stripe.event('charge.refunded', {
      id: secondIntent.latest_charge,
      object: 'charge',
      amount: 4200,
      amount_refunded: 4200,
      currency: 'usd',
      payment_intent: second.intentId,
      refunded: true,
    });
    assert.equal((await deliver(partOfSecond)).json().outcome, 'partially_refunded');
    assert.equal(await orderStatus(second.order.id), 'paid');
    assert.equal(await stock(productId), 8);
    assert.equal((await deliver(restOfSecond)).json().outcome, 'refunded');
    assert.equal(await orderStatus(second.order.id), 'refunded');
    assert.equal(await stock(productId), 9, 'the fully refunded unit came back');
    for (const event of [partial, partOfSecond, restOfSecond, partOfSecond]) assert.equal((await deliver(event)).statusCode, 200);
    assert.equal(await orderStatus(order.id), 'fulfilled');
    assert.equal(await orderStatus(second.order.id), 'refunded');
    assert.equal(await stock(productId), 9, 'once');
  });

  it('a hold Stripe released before our capture (the capture refused) leaves the order paid but never shipped; refunding it puts its unit back', async () => {
    const productId = await product(10);
    const { order, intentId } = await placeAndStartPayment(productId);
    const [authorized] = stripe.confirm(intentId, 'authorize');
    // The authorization lapses (or is canceled in the dashboard) before our capture reaches Stripe.
    const intent = stripe.intents.get(intentId)!;
    intent.status = 'canceled';
    intent.amount_capturable = 0;
    const canceled = stripe.event('payment_intent.canceled', intent as unknown as Json);
    const refusedCaptures = async () => {
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      return Number(/^salescale_payment_provider_calls_total\{provider="stripe",action="capture",outcome="refused"[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const refusedBefore = await refusedCaptures();
    const refused = await deliver(authorized!);
    // A 5xx, so that Stripe redelivers it; a stable 503, not a 500 INTERNAL_ERROR read as our bug.
    assert.equal(refused.statusCode, 503, refused.body);
    assert.equal(refused.json().error.code, 'PAYMENT_CAPTURE_REFUSED');
    assert.ok(Number(refused.headers['retry-after']) >= 1, 'with Retry-After');
    assert.equal(await refusedCaptures(), refusedBefore + 1, 'counted as a refused capture');
    const line = logged.find((l) => l.msg.startsWith('the provider refused to capture a hold') && l.orderId === order.id);
    assert.equal(line?.level, 40, 'logged at warn');
    assert.equal(line?.reason, 'payment_intent_unexpected_state', "with Stripe's code");
    assert.ok(!logged.some((l) => l.level >= 50 && l.orderId === order.id), 'no error line for it');
    assert.equal(await orderStatus(order.id), 'paid');
    assert.equal(stripe.captures.get(intentId) ?? 0, 0, 'no money taken');
    assert.equal((await deliver(canceled)).json().outcome, 'voided');
    assert.equal((await deliver(authorized!)).json().outcome, 'settled', 'the redelivery no longer tries to capture');
    const fulfil = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.id}/fulfill`, headers: t.admin });
    assert.equal(fulfil.statusCode, 409, fulfil.body);
    assert.equal(fulfil.json().error.code, 'ORDER_NOT_FULFILLABLE');
    assert.equal(fulfil.json().error.details.paymentStatus, 'voided');
    assert.equal(await orderStatus(order.id), 'paid');
    const refund = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.id}/refund`, headers: t.admin });
    assert.equal(refund.statusCode, 200, refund.body);
    assert.equal(refund.json().status, 'refunded');
    assert.equal(await stock(productId), 10, 'its unit back on sale');
    assert.equal(stripe.refunds.get(intentId) ?? 0, 0, 'nothing to give back');
  });

  it('a late payment whose void or refund Stripe refuses answers a stable 502 or 503 (never a 500), counted and logged; one already given back at Stripe is done', async () => {
    const productId = await product(10);
    const voidRefused = await placeAndStartPayment(productId);
    const refundRefused = await placeAndStartPayment(productId);
    const keyRefused = await placeAndStartPayment(productId);
    const alreadyCanceled = await placeAndStartPayment(productId);
    const alreadyRefunded = await placeAndStartPayment(productId);
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000 + 300));
    const calls = async (action: string, outcome: string) => {
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      const line = new RegExp(`^salescale_payment_provider_calls_total\\{provider="stripe",action="${action}",outcome="${outcome}"[^}]*\\} (\\d+)$`, 'm');
      return Number(line.exec(text)?.[1] ?? 0);
    };
    const from = logged.length;
    const before = { voidFailed: await calls('void', 'failed'), refundFailed: await calls('refund', 'failed'), voidMisconfigured: await calls('void', 'misconfigured') };

    // The hold is no longer cancelable (captured at Stripe meanwhile): Stripe refuses the cancel for good.
    stripe.refusals.set(voidRefused.intentId, { status: 400, code: 'payment_intent_unexpected_state', message: 'This PaymentIntent could not be canceled' });
    const [voidEvent] = stripe.confirm(voidRefused.intentId, 'authorize');
    const voidReply = await deliver(voidEvent!);
    assert.equal(voidReply.statusCode, 502, voidReply.body);
    assert.equal(voidReply.json().error.code, 'PAYMENT_PROVIDER_ERROR');
    assert.equal(await calls('void', 'failed'), before.voidFailed + 1, 'counted as a failed void');
    const voidLine = logged.find((l) => l.msg.startsWith('the provider refused to give back a late payment') && l.orderId === voidRefused.order.id);
    assert.equal(voidLine?.level, 50, 'logged at error: the money is not back');
    assert.equal(voidLine?.reason, 'payment_intent_unexpected_state', "with Stripe's code");
    assert.ok(!logged.slice(from).some((l) => l.msg === 'unhandled error'), 'no unhandled error');

    // The charge is too old to refund.
    stripe.refusals.set(refundRefused.intentId, { status: 400, code: 'charge_expired_for_refund', message: 'Charge is too old to refund' });
    const refundEvents = stripe.confirm(refundRefused.intentId, 'capture');
    const refundReply = await deliver(refundEvents.find((e) => e.type === 'payment_intent.succeeded')!);
    assert.equal(refundReply.statusCode, 502, refundReply.body);
    assert.equal(refundReply.json().error.code, 'PAYMENT_PROVIDER_ERROR');
    assert.equal(await calls('refund', 'failed'), before.refundFailed + 1, 'counted as a failed refund');
    assert.equal(logged.find((l) => l.msg.startsWith('the provider refused to give back a late payment') && l.orderId === refundRefused.order.id)?.reason, 'charge_expired_for_refund');

    // Our key refused (401): a configuration problem of ours, 503 with Retry-After.
    const [keyEvent] = stripe.confirm(keyRefused.intentId, 'authorize');
    stripe.refuseAll = { status: 401, message: 'Invalid API Key provided' };
    const keyReply = await deliver(keyEvent!).finally(() => (stripe.refuseAll = undefined));
    assert.equal(keyReply.statusCode, 503, keyReply.body);
    assert.equal(keyReply.json().error.code, 'PAYMENT_PROVIDER_UNAVAILABLE');
    assert.ok(Number(keyReply.headers['retry-after']) >= 1, 'with Retry-After');
    assert.equal(await calls('void', 'misconfigured'), before.voidMisconfigured + 1, 'counted as misconfigured');
    assert.equal((await deliver(keyEvent!)).json().outcome, 'late', 'the redelivery, the key fixed, voids it');
    assert.equal(stripe.cancels.get(keyRefused.intentId), 1);

    // Already where we wanted it at Stripe (canceled, refunded): done, not a refusal.
    const [canceledEvent] = stripe.confirm(alreadyCanceled.intentId, 'authorize');
    stripe.intents.get(alreadyCanceled.intentId)!.status = 'canceled';
    stripe.refusals.set(alreadyCanceled.intentId, { status: 400, code: 'payment_intent_unexpected_state', message: 'This PaymentIntent is already canceled' });
    const canceledReply = await deliver(canceledEvent!);
    assert.equal(canceledReply.statusCode, 200, canceledReply.body);
    assert.equal(canceledReply.json().outcome, 'late');
    const refundedEvents = stripe.confirm(alreadyRefunded.intentId, 'capture');
    stripe.refusals.set(alreadyRefunded.intentId, { status: 400, code: 'charge_already_refunded', message: 'Charge has already been refunded' });
    const refundedReply = await deliver(refundedEvents.find((e) => e.type === 'payment_intent.succeeded')!);
    assert.equal(refundedReply.statusCode, 200, refundedReply.body);
    assert.equal(refundedReply.json().outcome, 'late');
    const given = await t.platform.db.primary.execute<{ intent_id: string; status: string }>(
      sql`select intent_id, status from payments where intent_id in (${alreadyCanceled.intentId}, ${alreadyRefunded.intentId})`,
    );
    assert.deepEqual(Object.fromEntries(given.rows.map((r) => [r.intent_id, r.status])), { [alreadyCanceled.intentId]: 'voided', [alreadyRefunded.intentId]: 'refunded' });
    for (const { intentId } of [voidRefused, refundRefused, alreadyCanceled, alreadyRefunded]) stripe.refusals.delete(intentId);
  });

  it('a late payment whose refund Stripe refuses as a card decline answers 502 PAYMENT_PROVIDER_ERROR to the webhook (not 402), counted failed and logged', async () => {
    const productId = await product(10);
    const late = await placeAndStartPayment(productId);
    // Past the order's payment window (a deadline, not a wait for something to happen): its payment is late.
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000 + 300));
    const failed = async () => {
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      return Number(/^salescale_payment_provider_calls_total\{provider="stripe",action="refund",outcome="failed"[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const failedBefore = await failed();
    const from = logged.length;
    stripe.refusals.set(late.intentId, { status: 402, type: 'card_error', code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.', calls: ['refund'] });
    const events = stripe.confirm(late.intentId, 'capture');
    const reply = await deliver(events.find((e) => e.type === 'payment_intent.succeeded')!);
    // Stripe delivering an event is not the buyer paying: a decline of our call is a provider refusal like any other.
    assert.equal(reply.statusCode, 502, reply.body);
    assert.equal(reply.json().error.code, 'PAYMENT_PROVIDER_ERROR', reply.body);
    assert.doesNotMatch(reply.body, /declined|generic_decline/);
    assert.equal(await failed(), failedBefore + 1, 'counted as a failed refund');
    const line = logged.slice(from).find((l) => l.msg.startsWith('the provider refused to give back a late payment') && l.orderId === late.order.id);
    assert.equal(line?.level, 50, 'logged at error: the money is not back');
    assert.equal(line?.reason, 'card_declined', "with Stripe's code");
    assert.ok(!logged.slice(from).some((l) => l.msg === 'unhandled error'), 'no unhandled error');
    stripe.refusals.delete(late.intentId);

    // Every status the webhook route answers is in its documented responses.
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const documented = Object.keys(doc.paths['/api/v1/payments/webhooks/{provider}'].post.responses).sort();
    for (const status of ['200', '400', '404', '502', '503']) assert.ok(documented.includes(status), `${status} in ${documented.join(', ')}`);
    assert.ok(!documented.includes('402'), 'no 402: the webhook never answers a decline');
  });

  it('an admin refund Stripe refuses as a card decline answers the admin 502 PAYMENT_PROVIDER_ERROR (not the buyer\'s 402), audited with Stripe\'s code', async () => {
    const productId = await product(10);
    const paid = await placeAndStartPayment(productId);
    for (const event of stripe.confirm(paid.intentId, 'authorize')) assert.equal((await deliver(event)).statusCode, 200);
    assert.equal(stripe.captures.get(paid.intentId), 1);
    stripe.refusals.set(paid.intentId, { status: 402, type: 'card_error', code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.', calls: ['refund'] });
    const refund = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${paid.order.id}/refund`, headers: t.admin });
    stripe.refusals.delete(paid.intentId);
    // The admin refunding is not a buyer paying: a decline of our call is a provider refusal like any other.
    assert.equal(refund.statusCode, 502, refund.body);
    assert.equal(refund.json().error.code, 'PAYMENT_PROVIDER_ERROR', refund.body);
    // The audit row is written after the reply: poll for it.
    const row = await waitFor(`the audit row of order ${paid.order.id}'s refund`, async () => {
      const actions = (await t.app.inject({ method: 'GET', url: '/api/v1/admin/actions?limit=100', headers: t.admin })).json().items as Json[];
      return actions.find((a) => String((a.target as Json).id) === String(paid.order.id) && (a.route as string).endsWith('/refund'));
    }, 10_000);
    assert.deepEqual(row.error, { code: 'PAYMENT_PROVIDER_ERROR', providerCode: 'card_declined' }, JSON.stringify(row));
    // Every status the admin refund route answers is in its documented responses, and 402 is not one.
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const documented = Object.keys(doc.paths['/api/v1/admin/orders/{id}/refund'].post.responses);
    assert.ok(!documented.includes('402') && documented.includes('502'), documented.join(', '));
  });

  it('a refund Stripe accepted and then failed, and a dispute, show on the order, are counted once and logged; the order keeps its status', async () => {
    const productId = await product(10);
    async function paidOrder() {
      const started = await placeAndStartPayment(productId);
      for (const event of stripe.confirm(started.intentId, 'authorize')) assert.equal((await deliver(event)).statusCode, 200);
      assert.equal(stripe.captures.get(started.intentId), 1);
      return started;
    }
    const view = async (orderId: number) => ({
      buyer: (await t.app.inject({ method: 'GET', url: `/api/v1/orders/${orderId}`, headers: { cookie: alice } })).json(),
      admin: (await t.app.inject({ method: 'GET', url: `/api/v1/admin/orders/${orderId}`, headers: t.admin })).json(),
    });
    const problems = async (problem: string) => {
      const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      return Number(new RegExp(`^salescale_payment_problems_total\\{provider="stripe",problem="${problem}"[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    };
    assert.equal(await problems('refund_failed'), 0, 'created at zero, so an alert sees the first one');

    // Refunded by the shop, then the refund fails at the card's bank (a closed card): Stripe says so in three events.
    const refundedOrder = await paidOrder();
    const refund = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${refundedOrder.order.id}/refund`, headers: t.admin });
    assert.equal(refund.statusCode, 200, refund.body);
    for (const event of eventsOf(refundedOrder.intentId).filter((e) => e.type === 'charge.refunded')) assert.equal((await deliver(event)).json().outcome, 'refunded');
    const failedRefund = { id: 're_failed_1', object: 'refund', amount: 4200, currency: 'usd', payment_intent: refundedOrder.intentId, charge: 'ch_1', status: 'failed', failure_reason: 'expired_or_canceled_card' };
    for (const type of ['charge.refund.updated', 'refund.updated', 'refund.failed']) {
      const reply = await deliver(stripe.event(type, failedRefund));
      assert.equal(reply.statusCode, 200, reply.body);
      assert.equal(reply.json().outcome, 'refund_failed', type);
    }
    // A refund that succeeded is nothing to act on.
    assert.equal((await deliver(stripe.event('refund.updated', { ...failedRefund, id: 're_ok', status: 'succeeded', failure_reason: null }))).json().outcome, 'ignored');
    let seen = await view(refundedOrder.order.id);
    assert.equal(seen.buyer.status, 'refunded', 'the order keeps its status');
    assert.equal(seen.buyer.payment.status, 'refund_failed');
    assert.equal(seen.admin.payment.status, 'refund_failed');
    assert.equal(seen.admin.payment.failureCode, 'expired_or_canceled_card');
    assert.equal(await problems('refund_failed'), 1, 'counted once for three events');
    const errors = logged.filter((l) => l.level >= 50 && l.orderId === refundedOrder.order.id);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0]!.msg, /refund failed/);
    // A charge.refunded delivered late does not hide the failure.
    for (const event of eventsOf(refundedOrder.intentId).filter((e) => e.type === 'charge.refunded')) await deliver(event);
    assert.equal((await view(refundedOrder.order.id)).buyer.payment.status, 'refund_failed');

    // A chargeback on a paid order: it cannot ship nor be refunded while disputed; lost, the money is the buyer's.
    const disputedOrder = await paidOrder();
    const dispute = { id: 'dp_1', object: 'dispute', amount: 4200, currency: 'usd', charge: 'ch_2', payment_intent: disputedOrder.intentId, status: 'needs_response', reason: 'fraudulent' };
    assert.equal((await deliver(stripe.event('charge.dispute.created', dispute))).json().outcome, 'disputed');
    seen = await view(disputedOrder.order.id);
    assert.deepEqual([seen.buyer.status, seen.buyer.payment.status, seen.admin.payment.status, seen.admin.payment.failureCode], ['paid', 'disputed', 'disputed', 'fraudulent']);
    const fulfil = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${disputedOrder.order.id}/fulfill`, headers: t.admin });
    assert.equal(fulfil.statusCode, 409, fulfil.body);
    assert.equal(fulfil.json().error.details.paymentStatus, 'disputed');
    const refused = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${disputedOrder.order.id}/refund`, headers: t.admin });
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(refused.json().error.code, 'ORDER_NOT_REFUNDABLE');
    assert.equal(stripe.refunds.get(disputedOrder.intentId) ?? 0, 0);
    assert.equal((await deliver(stripe.event('charge.dispute.closed', { ...dispute, status: 'lost' }))).json().outcome, 'dispute_lost');
    assert.equal((await view(disputedOrder.order.id)).buyer.payment.status, 'dispute_lost');
    assert.equal(await problems('disputed'), 1);
    assert.equal(await problems('dispute_lost'), 1);

    // Won: the money stays with the shop, and the order ships.
    const wonOrder = await paidOrder();
    const won = { ...dispute, id: 'dp_2', payment_intent: wonOrder.intentId };
    assert.equal((await deliver(stripe.event('charge.dispute.created', won))).json().outcome, 'disputed');
    assert.equal((await deliver(stripe.event('charge.dispute.closed', { ...won, status: 'won' }))).json().outcome, 'dispute_won');
    assert.equal((await view(wonOrder.order.id)).buyer.payment.status, 'dispute_won');
    const shipped = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${wonOrder.order.id}/fulfill`, headers: t.admin });
    assert.equal(shipped.statusCode, 200, shipped.body);
    assert.equal(await problems('disputed'), 2);
    assert.equal(await problems('dispute_lost'), 1);

    // The analytics: the lost dispute's amount once (its close sent again changes nothing), in the order's currency; the won one nothing.
    await deliver(stripe.event('charge.dispute.closed', { ...dispute, status: 'lost' }));
    const chargebacks = async (orderId: number) =>
      (await t.platform.db.primary.execute<{ data: Json }>(sql`select data from outbox where name = 'update-analytics' and data->>'eventType' = 'chargeback_lost' and (data->>'orderId')::bigint = ${orderId}`)).rows.map((r) => r.data);
    const lostJobs = await chargebacks(disputedOrder.order.id as number);
    assert.deepEqual(lostJobs.map((d) => [d.amountCents, d.currency]), [[4200, disputedOrder.order.currency]]);
    assert.deepEqual(await chargebacks(wonOrder.order.id as number), []);
  });

  it('a refund, failed refund or dispute of an intent the shop never recorded is answered 200 unknown_payment, recorded and logged, with no payment invented', async () => {
    const db = t.platform.db.primary;
    const paymentCount = async () => (await db.execute<{ n: number }>(sql`select count(*)::int as n from payments`)).rows[0]!.n;
    const before = await paymentCount();
    const intentId = `pi_never_ours_${Math.random().toString(36).slice(2)}`;
    const charge = { id: 'ch_never_ours', object: 'charge', amount: 4200, amount_refunded: 4200, currency: 'usd', payment_intent: intentId, refunded: true };
    const dispute = { id: 'dp_never_ours', object: 'dispute', amount: 4200, currency: 'usd', charge: 'ch_never_ours', payment_intent: intentId, status: 'needs_response', reason: 'fraudulent' };
    const failedRefund = { id: 're_never_ours', object: 'refund', amount: 4200, currency: 'usd', payment_intent: intentId, charge: 'ch_never_ours', status: 'failed', failure_reason: 'expired_or_canceled_card' };
    const events = [
      stripe.event('charge.refunded', charge),
      stripe.event('charge.dispute.created', dispute),
      stripe.event('charge.dispute.closed', { ...dispute, status: 'lost' }),
      stripe.event('refund.failed', failedRefund),
    ];
    for (const event of events) {
      const reply = await deliver(event);
      assert.equal(reply.statusCode, 200, `${event.type}: ${reply.body}`);
      assert.equal(reply.json().outcome, 'unknown_payment', event.type);
      assert.equal((await deliver(event)).json().outcome, 'duplicate', `${event.type}: recorded, its redelivery a duplicate`);
      assert.ok(logged.some((line) => line.eventId === event.id && /never recorded/.test(line.msg)), `${event.type}: logged`);
    }
    assert.equal(await paymentCount(), before, 'no payment invented');
  });

  it('an order total Stripe does not take (under $0.50, over $999,999.99) is 422 PAYMENT_AMOUNT_UNSUPPORTED and changes nothing', async () => {
    for (const [priceCents, reason] of [
      [25, 'amount_too_small'],
      [2_000_000_000, 'amount_too_large'],
    ] as const) {
      const productId = await product(10, priceCents);
      const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: alice, 'idempotency-key': `amount-${reason}` }, payload: { items: [{ productId, quantity: 1 }] } });
      assert.equal(placed.statusCode, 201, placed.body);
      const pay = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.json().id}/pay`, headers: { cookie: alice }, payload: {} });
      // Was Stripe's own 400 passed through: code BAD_REQUEST, Stripe's message.
      assert.equal(pay.statusCode, 422, pay.body);
      assert.equal(pay.json().error.code, 'PAYMENT_AMOUNT_UNSUPPORTED');
      assert.equal(pay.json().error.details.reason, reason);
      assert.equal(await orderStatus(placed.json().id), 'pending_payment');
      const rows = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from payments where order_id = ${placed.json().id}`);
      assert.equal(Number(rows.rows[0]!.n), 0);
    }
  });

  it('an order in a currency Stripe does not take is 422 PAYMENT_CURRENCY_UNSUPPORTED on every pay call, never a 500, and changes nothing', async () => {
    const productId = await product(10, 500_000, 'IRR');
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: alice, 'idempotency-key': 'currency-irr' }, payload: { items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    for (let attempt = 0; attempt < 2; attempt++) {
      const pay = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.json().id}/pay`, headers: { cookie: alice }, payload: {} });
      assert.equal(pay.statusCode, 422, pay.body);
      assert.equal(pay.json().error.code, 'PAYMENT_CURRENCY_UNSUPPORTED');
      assert.equal(pay.json().error.details.currency, 'IRR');
      assert.doesNotMatch(pay.body, /Stripe currently supports/);
    }
    assert.equal(await orderStatus(placed.json().id), 'pending_payment');
    const rows = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from payments where order_id = ${placed.json().id}`);
    assert.equal(Number(rows.rows[0]!.n), 0);
  });

  it("charges an order's total in Stripe's unit of its currency (ISK and HUF in hundredths, JPY and KWD as we count them) and pays and refunds it", async () => {
    // Our minor unit is the currency's own (the storefront and the emails show 5000 ISK as "ISK 5,000"); Stripe counts
    // ISK and HUF in hundredths (an ISK amount of 100 is 1 króna), JPY in yen and KWD in fils.
    for (const [currency, priceCents, stripeAmount] of [
      ['ISK', 5000, 500_000],
      ['HUF', 12_000, 1_200_000],
      ['JPY', 5000, 5000],
      ['KWD', 5120, 5120],
    ] as const) {
      const productId = await product(10, priceCents, currency);
      const { order, intentId } = await placeAndStartPayment(productId);
      assert.equal(order.totalCents, priceCents);
      const intent = stripe.intents.get(intentId)!;
      assert.equal(intent.currency, currency.toLowerCase());
      assert.equal(intent.amount, stripeAmount, `${currency} ${priceCents} is ${stripeAmount} in Stripe's unit`);
      for (const event of stripe.confirm(intentId, 'authorize')) assert.equal((await deliver(event)).json().outcome, 'paid', currency);
      assert.equal(await orderStatus(order.id), 'paid');
      const refund = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.id}/refund`, headers: t.admin });
      assert.equal(refund.statusCode, 200, refund.body);
      const refunded = eventsOf(intentId).find((e) => e.type === 'charge.refunded')!;
      assert.equal((refunded.data.object as Json).amount_refunded, stripeAmount);
      assert.equal((await deliver(refunded)).json().outcome, 'refunded', `${currency}: all of it is refunded, not a part`);
      const row = (await t.platform.db.primary.execute<{ amount_cents: string; status: string }>(sql`select amount_cents, status from payments where intent_id = ${intentId}`)).rows[0]!;
      assert.deepEqual([Number(row.amount_cents), row.status], [priceCents, 'refunded']);
    }
  });

  it('a buyer\'s Idempotency-Key of the longest length we take (255) starts the payment, and the same key reuses its intent', async () => {
    const productId = await product();
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: alice, 'idempotency-key': `long-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    // Stripe takes keys of at most 255 characters; ours wrap the buyer's in a per-order prefix.
    const key = 'k'.repeat(255);
    const pay = () => t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.json().id}/pay`, headers: { cookie: alice, 'idempotency-key': key }, payload: {} });
    const first = await pay();
    assert.equal(first.statusCode, 200, first.body);
    assert.match(first.json().payment.clientSecret, /^pi_[0-9a-f]+_secret_/);
    const sent = stripe.requests.filter((r) => r.path === '/v1/payment_intents').at(-1)!.idempotencyKey!;
    assert.ok(sent.length <= 255 && sent.startsWith(`salescale-order-${placed.json().id}-intent-`), sent);
    await t.platform.db.primary.execute(sql`update payments set status = 'failed' where order_id = ${placed.json().id}`);
    const again = await pay();
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().payment.clientSecret, first.json().payment.clientSecret, 'the same key, the same intent');
  });

  it("Stripe refusing our own call (a wrong API key) is a 503 PAYMENT_PROVIDER_UNAVAILABLE, never its 401 and words passed to the buyer", async () => {
    const misconfigured = await createTestApp({
      PAYMENT_PROVIDER: 'stripe',
      STRIPE_SECRET_KEY: 'sk_test_not_the_key_stripe_knows_0000',
      STRIPE_WEBHOOK_SECRET: shop.webhookSecret,
      STRIPE_API_URL: stripe.url,
      RATE_LIMIT_CHECKOUT_MAX: '10000',
    });
    try {
      const [id] = await insertCustomers(misconfigured.platform.db.primary, 1, 'stripe-misconfigured');
      const [cookie] = (await mintSessionCookies(misconfigured.env, [id!])) as [string];
      const created = await misconfigured.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: misconfigured.admin, payload: { sku: 'st-wrong-key', name: 'Item', priceCents: 4200, available: 5 } });
      const placed = await misconfigured.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': 'wrong-key' }, payload: { items: [{ productId: created.json().id, quantity: 1 }] } });
      assert.equal(placed.statusCode, 201, placed.body);
      const pay = await misconfigured.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.json().id}/pay`, headers: { cookie }, payload: {} });
      assert.equal(pay.statusCode, 503, pay.body);
      assert.equal(pay.json().error.code, 'PAYMENT_PROVIDER_UNAVAILABLE');
      assert.doesNotMatch(pay.body, /API Key|sk_test/);
    } finally {
      await misconfigured.close();
    }
  });

  it('an admin marks a failed refund or a lost dispute resolved: the open-problems gauge drops, the audit trail keeps before → after', async () => {
    const productId = await product(10);
    async function paidOrder() {
      const started = await placeAndStartPayment(productId);
      for (const event of stripe.confirm(started.intentId, 'authorize')) assert.equal((await deliver(event)).statusCode, 200);
      return started;
    }
    // The worker's gauge, read from this test's database as the worker reads it.
    const registry = new client.Registry();
    const repo = createPaymentsRepository();
    registerGiveBackGauges(registry, { provider: 'stripe', owed: () => repo.countOwed(t.platform.db.primary, 300), problems: () => repo.countProblems(t.platform.db.primary, OPEN_PAYMENT_PROBLEMS) });
    const open = async (problem: string) => Number(new RegExp(`^salescale_payment_problems_open\\{provider="stripe",problem="${problem}"\\} (\\S+)$`, 'm').exec(await registry.metrics())?.[1]);
    const before = { refund_failed: await open('refund_failed'), dispute_lost: await open('dispute_lost') };

    const failed = await paidOrder();
    assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${failed.order.id}/refund`, headers: t.admin })).statusCode, 200);
    const refundFailed = { id: 're_resolve_1', object: 'refund', amount: 4200, currency: 'usd', payment_intent: failed.intentId, charge: 'ch_r1', status: 'failed', failure_reason: 'expired_or_canceled_card' };
    assert.equal((await deliver(stripe.event('refund.failed', refundFailed))).json().outcome, 'refund_failed');
    const lost = await paidOrder();
    const dispute = { id: 'dp_resolve_1', object: 'dispute', amount: 4200, currency: 'usd', charge: 'ch_r2', payment_intent: lost.intentId, status: 'needs_response', reason: 'fraudulent' };
    assert.equal((await deliver(stripe.event('charge.dispute.created', dispute))).json().outcome, 'disputed');
    assert.equal((await deliver(stripe.event('charge.dispute.closed', { ...dispute, status: 'lost' }))).json().outcome, 'dispute_lost');
    assert.equal(await open('refund_failed'), before.refund_failed + 1, 'open until someone acts');
    assert.equal(await open('dispute_lost'), before.dispute_lost + 1);

    // An order with nothing to resolve is a 409 with a stable code, never a 500; an unknown one a 404.
    const fine = await paidOrder();
    const nothing = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${fine.order.id}/payment-problem/resolve`, headers: t.admin });
    assert.equal(nothing.statusCode, 409, nothing.body);
    assert.equal(nothing.json().error.code, 'PAYMENT_PROBLEM_NOT_FOUND');
    assert.equal(nothing.json().error.details.paymentStatus, 'captured');
    assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/admin/orders/999999999/payment-problem/resolve', headers: t.admin })).statusCode, 404);

    for (const [order, problem] of [[failed, 'refund_failed'], [lost, 'dispute_lost']] as const) {
      const resolved = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.order.id}/payment-problem/resolve`, headers: { ...t.admin, 'x-admin-actor': 'dana (payments)' } });
      assert.equal(resolved.statusCode, 200, resolved.body);
      assert.equal(resolved.json().payment.status, problem, 'what happened stays visible');
      assert.match(resolved.json().payment.problemResolvedAt, /^\d{4}-/);
      const again = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.order.id}/payment-problem/resolve`, headers: t.admin });
      assert.equal(again.statusCode, 200, 'resolving again answers the order as it is');
      assert.equal(again.json().payment.problemResolvedAt, resolved.json().payment.problemResolvedAt);
      const rows = async () =>
        (await t.platform.db.primary.execute<{ actor: string | null; change: unknown }>(sql`select actor, change from admin_actions where route = '/api/v1/admin/orders/:id/payment-problem/resolve' and target->>'id' = ${String(order.order.id)} order by id`)).rows;
      for (const deadline = Date.now() + 30_000; (await rows()).length < 2 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
      const actions = await rows();
      assert.equal(actions.length, 2, 'both calls recorded');
      assert.deepEqual(actions[0], { actor: 'dana (payments)', change: { problemResolvedAt: { before: null, after: resolved.json().payment.problemResolvedAt } } });
      assert.equal(actions[1]!.change, null, 'the repeat changed nothing');
    }
    assert.equal(await open('refund_failed'), before.refund_failed, 'the gauge drops once resolved');
    assert.equal(await open('dispute_lost'), before.dispute_lost);
  });

  /**
   * An order that stops being payable (cancelled, expired) has the intents still open at Stripe canceled by a worker
   * (the `cancel-open-intents` job its transaction wrote), so the buyer holding the client secret can no longer pay it.
   * A real worker process, on this file's database, Redis prefix and Stripe stand-in, for these tests only.
   */
  describe('with a worker: the open intents of an order that can no longer be paid are canceled at Stripe', () => {
    let worker: Instance | undefined;
    before(async () => {
      worker = await startInstance({
        // Retries of the order queue after 200 ms (5 s in production), so that a retried cancel is seen within the test.
        env: { ...t.env, OUTBOX_POLL_INTERVAL_MS: '50', LOG_LEVEL: 'error', WORKER_QUEUES: 'order', QUEUE_BACKOFF_MS: 'order=200', PAYMENT_SWEEP_INTERVAL_MS: '200' },
        command: 'worker',
        timeoutMs: 60_000,
      });
    });
    after(async () => {
      await worker?.stop();
    });

    const cancelByAdmin = async (orderId: number) => {
      const reply = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${orderId}/cancel`, headers: t.admin });
      assert.equal(reply.statusCode, 200, reply.body);
      assert.equal(reply.json().status, 'cancelled');
    };
    const paymentOf = async (intentId: string) =>
      (await t.platform.db.primary.execute<{ status: string; late: boolean }>(sql`select status, late from payments where intent_id = ${intentId}`)).rows[0]!;
    const cancelRequests = (intentId: string) => stripe.requests.filter((r) => r.method === 'POST' && r.path === `/v1/payment_intents/${intentId}/cancel`);
    const workerMetric = async (line: RegExp) => Number(line.exec(await fetch(`${worker!.url}/metrics`).then((r) => r.text()))?.[1] ?? 0);

    it('a cancelled order: its open intent is canceled at Stripe (abandoned, keyed by order and intent), recorded voided, and the buyer can no longer confirm it', async () => {
      const productId = await product(10);
      const { order, intentId } = await placeAndStartPayment(productId);
      await cancelByAdmin(order.id as number);
      await waitFor('the intent canceled at Stripe', () => stripe.intents.get(intentId)!.status === 'canceled', 20_000);
      assert.equal(stripe.intents.get(intentId)!.cancellation_reason, 'abandoned');
      assert.equal(stripe.cancels.get(intentId), 1, 'canceled once');
      assert.deepEqual(
        cancelRequests(intentId).map((r) => r.idempotencyKey),
        [`salescale-order-${order.id}-abandoned-${intentId}-cancel`],
      );
      await waitFor('the payment recorded voided', async () => (await paymentOf(intentId)).status === 'voided', 10_000);
      assert.equal((await paymentOf(intentId)).late, false, 'no late payment: nothing was paid');
      assert.throws(() => stripe.confirm(intentId, 'authorize'), /is canceled/, 'the buyer holding the client secret cannot pay it any more');
      assert.equal(stripe.captures.get(intentId) ?? 0, 0);
    });

    it('an expired order: its open intent is canceled at Stripe and cannot be confirmed', async () => {
      const productId = await product(10);
      const { order, intentId } = await placeAndStartPayment(productId);
      await waitFor('the order expired by the worker', async () => {
        const rows = (await t.platform.db.primary.execute<{ status: string }>(sql`select status from orders where id = ${order.id as number}`)).rows;
        return rows[0]!.status === 'expired';
      }, 20_000);
      await waitFor('the intent canceled at Stripe', () => stripe.intents.get(intentId)!.status === 'canceled', 20_000);
      assert.equal(stripe.cancels.get(intentId), 1);
      await waitFor('the payment recorded voided', async () => (await paymentOf(intentId)).status === 'voided', 10_000);
      assert.throws(() => stripe.confirm(intentId, 'authorize'), /is canceled/);
      assert.equal(await stock(productId), 10, 'its unit back on sale');
    });

    it('a cancel Stripe answers with a 500 is retried under the next key and done once', async () => {
      const productId = await product(10);
      const { order, intentId } = await placeAndStartPayment(productId);
      // Stripe keeps a 500 under its idempotency key (and its SDK retries it, replayed): only another key can pass.
      stripe.refusals.set(intentId, { status: 500, message: 'An unknown error occurred', calls: ['cancel'] });
      await cancelByAdmin(order.id as number);
      await waitFor('the first cancel answered 500', () => cancelRequests(intentId).length > 0, 20_000);
      stripe.refusals.delete(intentId);
      await waitFor('the intent canceled at Stripe', () => stripe.intents.get(intentId)!.status === 'canceled', 20_000);
      assert.equal(stripe.cancels.get(intentId), 1, 'canceled once');
      const keys = new Set(cancelRequests(intentId).map((r) => r.idempotencyKey));
      assert.ok(keys.has(`salescale-order-${order.id}-abandoned-${intentId}-cancel`), 'the first try under the order and intent key');
      assert.ok(keys.size >= 2, `retried under another key: ${[...keys].join(', ')}`);
      await waitFor('the payment recorded voided', async () => (await paymentOf(intentId)).status === 'voided', 10_000);
    });

    it('an intent Stripe refuses to cancel for good does not keep the order\'s later open intents open: each is canceled, then the job fails for the refused one', async () => {
      const productId = await product(10);
      const { order, intentId: first } = await placeAndStartPayment(productId);
      // The buyer's card is declined: that intent waits for another card (still open at Stripe); a pay call under another
      // key starts a second one.
      for (const event of stripe.confirm(first, 'decline')) assert.equal((await deliver(event)).statusCode, 200);
      assert.equal((await paymentOf(first)).status, 'failed');
      const again = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${order.id}/pay`, headers: { cookie: alice, 'idempotency-key': 'another-card' }, payload: {} });
      assert.equal(again.statusCode, 200, again.body);
      const second = (again.json().payment.clientSecret as string).split('_secret_')[0]!;
      assert.notEqual(second, first);
      assert.equal((await paymentOf(second)).status, 'requires_payment');
      // Stripe refuses to cancel the first for good (it is processing, say).
      stripe.refusals.set(first, { status: 400, code: 'payment_intent_unexpected_state', message: 'You cannot cancel this PaymentIntent because it has a status of processing.', calls: ['cancel'] });
      try {
        await cancelByAdmin(order.id as number);
        await waitFor('the second intent canceled at Stripe', () => stripe.intents.get(second)!.status === 'canceled', 20_000);
        await waitFor('the second payment recorded voided', async () => (await paymentOf(second)).status === 'voided', 10_000);
        // Then the job fails, for good (every attempt left would be refused the same): its dead letter says why.
        const letter = await waitFor('the dead letter of the job', async () =>
          (await t.platform.db.primary.execute<{ failed_reason: string }>(
            sql`select failed_reason from dead_letters where name = 'cancel-open-intents' and (data->>'orderId')::bigint = ${order.id as number}`,
          )).rows[0], 20_000);
        assert.match(letter.failed_reason, new RegExp(`refused for good to cancel an open intent of order ${order.id}`));
        assert.equal(stripe.intents.get(first)!.status, 'requires_payment_method', 'the refused intent is left as Stripe has it');
        assert.equal((await paymentOf(first)).status, 'failed', 'and not recorded voided');
        assert.equal(stripe.cancels.get(second), 1, 'the second canceled once');
      } finally {
        stripe.refusals.delete(first);
      }
    });

    it('a hold the buyer confirms as the job cancels it is given back as late, as the webhook path would: the buyer is told', async () => {
      const productId = await product(10);
      const { order, intentId } = await placeAndStartPayment(productId);
      // The buyer confirms (Stripe holds the funds); its events have not reached us when the admin cancels the order.
      const events = stripe.confirm(intentId, 'authorize');
      await cancelByAdmin(order.id as number);
      await waitFor('the intent canceled at Stripe', () => stripe.intents.get(intentId)!.status === 'canceled', 20_000);
      await waitFor('the payment recorded voided', async () => (await paymentOf(intentId)).status === 'voided', 10_000);
      for (const event of events) assert.equal((await deliver(event)).statusCode, 200);
      // The cancel released a hold the buyer made: a late payment given back, as when the webhook comes first.
      assert.deepEqual(await paymentOf(intentId), { status: 'voided', late: true }, 'a hold made and released is a late payment given back');
      const returned = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from outbox where name = 'send-payment-returned' and (data->>'orderId')::bigint = ${order.id as number}`);
      assert.equal(Number(returned.rows[0]!.n), 1, 'the buyer is told the hold on their card was released');
    });

    it('an intent paid at Stripe before the worker cancels it is not voided by the job: the webhook gives the late payment back', async () => {
      const refused = /^salescale_payment_provider_calls_total\{provider="stripe",action="void",outcome="refused"[^}]*\} (\S+)$/m;
      const refusedBefore = await workerMetric(refused);
      const productId = await product(10);
      const { order, intentId } = await placeAndStartPayment(productId);
      // The buyer's payment succeeds at Stripe; its event has not reached us when the admin cancels the order.
      const [succeeded, ...rest] = stripe.confirm(intentId, 'capture');
      await cancelByAdmin(order.id as number);
      await waitFor('the job to find the intent paid', async () => (await workerMetric(refused)) > refusedBefore, 20_000);
      assert.equal(stripe.intents.get(intentId)!.status, 'succeeded');
      assert.equal(stripe.cancels.get(intentId) ?? 0, 0, 'not canceled');
      assert.equal((await paymentOf(intentId)).status, 'requires_payment', 'the job recorded nothing: the webhook owns the payment');
      for (const event of [succeeded!, ...rest]) assert.equal((await deliver(event)).statusCode, 200);
      assert.equal(stripe.refunds.get(intentId), 1, 'the late payment refunded by the webhook path, once');
      assert.deepEqual(await paymentOf(intentId), { status: 'refunded', late: true });
    });
  });
});

describe('the order a Stripe event names', () => {
  it('is read from metadata.orderId only when it is a plain decimal number we could have written: no spaces, exponents, hex or fractions', async () => {
    const { createStripeProvider } = await import('./stripe-provider.ts');
    const webhookSecret = 'whsec_metadata_test';
    const provider = createStripeProvider({ secretKey: 'sk_test_metadata', webhookSecret, api: undefined });
    const orderIdOf = (orderId: unknown) => {
      const payload = JSON.stringify({
        id: `evt_meta_${Math.random().toString(36).slice(2)}`,
        object: 'event',
        type: 'payment_intent.amount_capturable_updated',
        data: { object: { id: 'pi_meta', object: 'payment_intent', amount: 4200, amount_capturable: 4200, currency: 'usd', metadata: { orderId } } },
      });
      const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: webhookSecret });
      return provider.parseWebhook(Buffer.from(payload), { 'stripe-signature': signature }).orderId;
    };
    assert.equal(orderIdOf('12'), 12, 'what createIntent writes (String(order.id))');
    assert.equal(orderIdOf('9007199254740991'), 9007199254740991);
    for (const foreign of [' 12 ', '1e1', '0x10', '12.0', '+12', '012', '0', '-3', '', '9007199254740993', '１２']) {
      assert.equal(orderIdOf(foreign), undefined, `metadata.orderId ${JSON.stringify(foreign)} names no order`);
    }
  });
});

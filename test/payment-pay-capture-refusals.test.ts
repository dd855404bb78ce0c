import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { RETRY_AFTER_S } from '../src/web/error-handler.ts';
import type { TestApp } from './helpers/app.ts';
import { parsePrometheusText, total } from './helpers/prometheus-text.ts';
import { startStripeTestApp, type StripeTestApp } from './helpers/stripe-app.ts';
import type { StripeEvent, StripeServer } from './helpers/stripe-server.ts';

type Json = Record<string, unknown>;

/**
 * A pay call of an order paid but whose hold is not captured yet (its webhook's capture failed) finishes that capture.
 * When Stripe refuses it, the pay call answers as the webhook does (answerForRefusal: 503 for our configuration, 502
 * otherwise; 503 PAYMENT_CAPTURE_REFUSED for a released hold), counted and logged as the webhook's capture is, never a
 * 500, and the order stays paid with its hold to capture: a later pay call (or the redelivered event) captures it once.
 */
describe('pay call finishing a capture Stripe refuses', () => {
  let stripe: StripeServer;
  let t: TestApp;
  let app: StripeTestApp;
  const run = randomUUID().slice(0, 8);
  let logged: StripeTestApp['logged'];

  before(async () => {
    app = await startStripeTestApp({ name: 'pay_capture', sku: `pay-capture-${run}`, productName: 'Pay capture item', available: 20, logged: 'warn' });
    ({ stripe, t, logged } = app);
  });
  after(async () => {
    if (stripe) stripe.refuseAll = undefined;
    await app?.close();
  });

  const captureCalls = async (outcome: string) =>
    total(parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body), 'salescale_payment_provider_calls_total', { provider: 'stripe', action: 'capture', outcome });
  const orderStatus = async (orderId: number) => (await t.platform.db.primary.execute<{ status: string }>(sql`select status from orders where id = ${orderId}`)).rows[0]!.status;
  const paymentStatus = async (intentId: string) => (await t.platform.db.primary.execute<{ status: string }>(sql`select status from payments where intent_id = ${intentId}`)).rows[0]!.status;

  /** An order whose buyer authorized at Stripe; its event not delivered yet. `pay` is a pay call of the order. */
  async function authorizedOrder(name: string) {
    const key = `pay-capture-${name}-${run}`;
    const placed = await app.placeGuestOrder(key);
    const pay = () => t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${placed.accessToken}/pay`, headers: { 'idempotency-key': `${key}-pay` }, payload: {} });
    const started = await pay();
    assert.equal(started.statusCode, 200, started.body);
    const intentId = (started.json().payment.clientSecret as string).split('_secret_')[0]!;
    const [authorized] = stripe.confirm(intentId, 'authorize');
    return { orderId: placed.orderId, intentId, authorized: authorized! as StripeEvent, pay };
  }

  for (const c of [
    { name: 'resource-missing', answer: 503, code: 'PAYMENT_PROVIDER_UNAVAILABLE', outcome: 'misconfigured', level: 50, reason: 'resource_missing', refuse: (intentId: string) => stripe.refusals.set(intentId, { status: 404, code: 'resource_missing', message: `No such payment_intent: '${intentId}'`, calls: ['capture'] }) },
    { name: 'key-401', answer: 503, code: 'PAYMENT_PROVIDER_UNAVAILABLE', outcome: 'misconfigured', level: 50, reason: undefined, refuse: () => (stripe.refuseAll = { status: 401, message: 'Invalid API Key provided: sk_test_***' }) },
    { name: 'key-403', answer: 503, code: 'PAYMENT_PROVIDER_UNAVAILABLE', outcome: 'misconfigured', level: 50, reason: undefined, refuse: () => (stripe.refuseAll = { status: 403, message: 'The provided key does not have the required permissions for this endpoint on account acct_1.' }) },
    { name: 'balance-insufficient', answer: 502, code: 'PAYMENT_PROVIDER_ERROR', outcome: 'failed', level: 40, reason: 'balance_insufficient', refuse: (intentId: string) => stripe.refusals.set(intentId, { status: 400, code: 'balance_insufficient', message: 'Insufficient funds in your Stripe balance.', calls: ['capture'] }) },
  ]) {
    it(`answers ${c.name} with ${c.answer} ${c.code}, counted ${c.outcome}, and a later pay call captures once it passed`, async () => {
      const order = await authorizedOrder(c.name);
      c.refuse(order.intentId);
      try {
        // The webhook makes the order paid; its capture is refused (the path b1b3c58 mapped).
        const webhook = await app.deliver(order.authorized);
        assert.equal(webhook.statusCode, c.answer, `the webhook: ${webhook.body}`);
        assert.equal(await orderStatus(order.orderId), 'paid');
        assert.equal(await paymentStatus(order.intentId), 'authorized');
        const before = await captureCalls(c.outcome);
        const from = logged.length;
        const refused = await order.pay();
        assert.equal(refused.statusCode, c.answer, `the pay call finishing the capture: ${refused.body}`);
        assert.equal(refused.json().error.code, c.code, refused.body);
        if (c.answer === 503) assert.equal(refused.headers['retry-after'], String(RETRY_AFTER_S.unavailable), 'Retry-After');
        assert.doesNotMatch(refused.body, /API Key|sk_test|permission|acct_|Insufficient|balance|No such|at .*\.ts/);
        assert.equal(await captureCalls(c.outcome), before + 1, `counted capture/${c.outcome}`);
        const line = logged.slice(from).find((l) => l.msg.startsWith('the provider refused to capture a payment') && l.orderId === order.orderId);
        assert.equal(line?.level, c.level, 'logged as the webhook logs it');
        if (c.reason) assert.equal(line?.reason, c.reason, "with Stripe's code");
        assert.ok(!logged.slice(from).some((l) => l.msg === 'unhandled error'), 'no unhandled error');
      } finally {
        stripe.refuseAll = undefined;
        stripe.refusals.delete(order.intentId);
      }
      // Still paid, its hold still to capture: the next pay call captures it, once.
      assert.equal(await orderStatus(order.orderId), 'paid');
      assert.equal(await paymentStatus(order.intentId), 'authorized');
      const again = await order.pay();
      assert.equal(again.statusCode, 200, `once it passed: ${again.body}`);
      assert.equal(stripe.captures.get(order.intentId), 1, 'captured once');
      assert.equal(await paymentStatus(order.intentId), 'captured');
      // The redelivered event captures nothing more.
      assert.equal((await app.deliver(order.authorized)).statusCode, 200);
      assert.equal(stripe.captures.get(order.intentId), 1, 'still captured once');
    });
  }

  it('answers a capture refused because the hold was released with 503 PAYMENT_CAPTURE_REFUSED, counted refused, as the webhook does', async () => {
    const order = await authorizedOrder('released');
    const intent = stripe.intents.get(order.intentId)!;
    intent.status = 'canceled';
    intent.amount_capturable = 0;
    const canceled = stripe.event('payment_intent.canceled', intent as unknown as Json);
    const webhook = await app.deliver(order.authorized);
    assert.equal(webhook.statusCode, 503, webhook.body);
    assert.equal(webhook.json().error.code, 'PAYMENT_CAPTURE_REFUSED');
    const before = await captureCalls('refused');
    const from = logged.length;
    const refused = await order.pay();
    assert.equal(refused.statusCode, 503, refused.body);
    assert.equal(refused.json().error.code, 'PAYMENT_CAPTURE_REFUSED');
    assert.ok(Number(refused.headers['retry-after']) >= 1, 'with Retry-After');
    assert.equal(await captureCalls('refused'), before + 1, 'counted refused');
    const line = logged.slice(from).find((l) => l.msg.startsWith('the provider refused to capture a hold') && l.orderId === order.orderId);
    assert.equal(line?.level, 40, 'logged at warn');
    assert.ok(!logged.slice(from).some((l) => l.msg === 'unhandled error'), 'no unhandled error');
    assert.equal(stripe.captures.get(order.intentId) ?? 0, 0, 'nothing taken');
    // Stripe's event about the released hold settles the payment: the order, paid with nothing taken, is no longer payable.
    assert.equal((await app.deliver(canceled)).json().outcome, 'voided');
    const after = await order.pay();
    assert.equal(after.statusCode, 409, after.body);
    assert.equal(after.json().error.code, 'ORDER_ALREADY_PAID');
    assert.equal(stripe.captures.get(order.intentId) ?? 0, 0, 'still nothing taken');
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { RETRY_AFTER_S } from '../src/web/error-handler.ts';
import type { TestApp } from './helpers/app.ts';
import { parsePrometheusText, select, total } from './helpers/prometheus-text.ts';
import { startStripeTestApp, type StripeTestApp } from './helpers/stripe-app.ts';
import type { StripeEvent, StripeServer } from './helpers/stripe-server.ts';

/**
 * Stripe keeps the result of a request under its idempotency key for at least 24 hours, a 500 included: retrying a call
 * Stripe answered with a 500 under the same key gets the same 500. After one, the outcome is unknown: the retry reads
 * the payment at Stripe first and, if the call did not happen, makes it under the payment's next key.
 */
describe('provider calls after a Stripe 500 (test Stripe server replaying saved results)', () => {
  let stripe: StripeServer;
  let t: TestApp;
  let app: StripeTestApp;
  const run = randomUUID().slice(0, 8);
  /** The app's log lines at warn level and above, parsed. */
  let logged: StripeTestApp['logged'];

  before(async () => {
    app = await startStripeTestApp({ name: 'retries', sku: `retries-${run}`, productName: 'Retry item', available: 20, logged: 'warn' });
    ({ stripe, t, logged } = app);
  });
  after(() => app?.close());

  const deliver = (event: StripeEvent) => app.deliver(event);

  /** An order paid and captured at Stripe. */
  async function paidOrder(name: string): Promise<{ orderId: number; intentId: string }> {
    const key = `retries-${name}-${run}`;
    const placed = await app.placeGuestOrder(key);
    const pay = await t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${placed.accessToken}/pay`, payload: {} });
    assert.equal(pay.statusCode, 200, pay.body);
    const intentId = (pay.json().payment.clientSecret as string).split('_secret_')[0]!;
    for (const event of stripe.confirm(intentId, 'authorize')) assert.equal((await deliver(event)).statusCode, 200);
    assert.equal(stripe.captures.get(intentId), 1, 'captured');
    return { orderId: placed.orderId, intentId };
  }

  const orderStatus = async (orderId: number) => (await t.platform.db.primary.execute<{ status: string }>(sql`select status from orders where id = ${orderId}`)).rows[0]!.status;
  const refundKeys = (intentId: string) => stripe.requests.filter((r) => r.path === '/v1/refunds' && r.idempotencyKey?.includes(intentId)).map((r) => r.idempotencyKey);

  it('refunds once when asked again after Stripe answered the refund with a 500', async () => {
    const order = await paidOrder('refund-500');
    stripe.refusals.set(order.intentId, { status: 500, message: 'An unknown error occurred' });
    const first = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
    assert.equal(first.statusCode, 503, first.body);
    assert.equal(first.headers['retry-after'], String(RETRY_AFTER_S.unavailable), 'Retry-After of a provider 5xx');
    // Stripe is fine again; its saved 500 stays under the key it answered.
    stripe.refusals.delete(order.intentId);
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
    assert.equal(again.statusCode, 200, `asked again after the 500: ${again.statusCode} ${again.body}`);
    assert.equal(await orderStatus(order.orderId), 'refunded');
    assert.equal(stripe.refunds.get(order.intentId), 1, 'refunded exactly once');
    const keys = refundKeys(order.intentId);
    assert.equal(new Set(keys).size, 2, `the retry used a new key: ${keys.join(', ')}`);
    // Asked a third time: already refunded, no further call.
    const third = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
    assert.equal(third.statusCode, 200, third.body);
    assert.equal(refundKeys(order.intentId).length, keys.length);
  });

  it('does not refund twice when Stripe refunded but answered with a 500', async () => {
    const order = await paidOrder('refund-500-ran');
    stripe.refusals.set(order.intentId, { status: 500, message: 'An unknown error occurred', afterRunning: true });
    const first = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
    assert.equal(first.statusCode, 503, first.body);
    assert.equal(stripe.refunds.get(order.intentId), 1, 'Stripe refunded it');
    stripe.refusals.delete(order.intentId);
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
    assert.equal(again.statusCode, 200, `asked again after the 500: ${again.statusCode} ${again.body}`);
    assert.equal(await orderStatus(order.orderId), 'refunded');
    assert.equal(stripe.refunds.get(order.intentId), 1, 'refunded exactly once');
    assert.equal(new Set(refundKeys(order.intentId)).size, 1, 'read at Stripe, not called again under a new key');
  });

  /** An order whose buyer authorized at Stripe, its `payment_intent.amount_capturable_updated` event not delivered yet. */
  async function authorizedOrder(name: string): Promise<{ orderId: number; intentId: string; authorized: StripeEvent }> {
    const key = `retries-${name}-${run}`;
    const placed = await app.placeGuestOrder(key);
    const pay = await t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${placed.accessToken}/pay`, payload: {} });
    assert.equal(pay.statusCode, 200, pay.body);
    const intentId = (pay.json().payment.clientSecret as string).split('_secret_')[0]!;
    const [authorized] = stripe.confirm(intentId, 'authorize');
    return { orderId: placed.orderId, intentId, authorized: authorized! };
  }

  const paymentStatus = async (intentId: string) => (await t.platform.db.primary.execute<{ status: string }>(sql`select status from payments where intent_id = ${intentId}`)).rows[0]!.status;
  const callKeys = (intentId: string, call: 'capture' | 'cancel') =>
    stripe.requests.filter((r) => r.path === `/v1/payment_intents/${intentId}/${call}` && r.idempotencyKey !== undefined).map((r) => r.idempotencyKey);

  it('captures once under the next key when Stripe answered the capture with a 500', async () => {
    const order = await authorizedOrder('capture-500');
    stripe.refusals.set(order.intentId, { status: 500, message: 'An unknown error occurred', calls: ['capture'] });
    const first = await deliver(order.authorized);
    assert.equal(first.statusCode, 503, `the capture failed, the event to be redelivered: ${first.statusCode} ${first.body}`);
    assert.equal(stripe.captures.get(order.intentId) ?? 0, 0);
    stripe.refusals.delete(order.intentId);
    // Stripe redelivers the event; its saved 500 stays under the key it answered.
    const again = await deliver(order.authorized);
    assert.equal(again.statusCode, 200, `redelivered after the 500: ${again.statusCode} ${again.body}`);
    assert.equal(stripe.captures.get(order.intentId), 1, 'captured exactly once');
    assert.equal(await paymentStatus(order.intentId), 'captured');
    const keys = callKeys(order.intentId, 'capture');
    assert.equal(new Set(keys).size, 2, `the retry used a new key: ${keys.join(', ')}`);
  });

  it('does not capture twice when Stripe captured but answered with a 500', async () => {
    const order = await authorizedOrder('capture-500-ran');
    stripe.refusals.set(order.intentId, { status: 500, message: 'An unknown error occurred', afterRunning: true, calls: ['capture'] });
    const first = await deliver(order.authorized);
    assert.equal(first.statusCode, 503, first.body);
    assert.equal(stripe.captures.get(order.intentId), 1, 'Stripe captured it');
    stripe.refusals.delete(order.intentId);
    const again = await deliver(order.authorized);
    assert.equal(again.statusCode, 200, `redelivered after the 500: ${again.statusCode} ${again.body}`);
    assert.equal(stripe.captures.get(order.intentId), 1, 'captured exactly once');
    assert.equal(await paymentStatus(order.intentId), 'captured');
    assert.equal(new Set(callKeys(order.intentId, 'capture')).size, 1, 'read at Stripe, not called again under a new key');
  });

  /** A paid order whose hold is not captured yet (Stripe answering its capture with a 429 for now), so a refund voids it. */
  async function heldOrder(name: string): Promise<{ orderId: number; intentId: string }> {
    const order = await authorizedOrder(name);
    stripe.refusals.set(order.intentId, { status: 429, message: 'Too many requests hit the API too quickly.', calls: ['capture'] });
    assert.equal((await deliver(order.authorized)).statusCode, 503);
    assert.equal(await orderStatus(order.orderId), 'paid');
    assert.equal(await paymentStatus(order.intentId), 'authorized');
    return order;
  }

  it('voids once under the next key when Stripe answered the void with a 500', async () => {
    const order = await heldOrder('void-500');
    stripe.refusals.set(order.intentId, { status: 500, message: 'An unknown error occurred', calls: ['cancel'] });
    const first = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
    assert.equal(first.statusCode, 503, first.body);
    assert.equal(stripe.cancels.get(order.intentId) ?? 0, 0);
    stripe.refusals.delete(order.intentId);
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
    assert.equal(again.statusCode, 200, `asked again after the 500: ${again.statusCode} ${again.body}`);
    assert.equal(await orderStatus(order.orderId), 'refunded');
    assert.equal(await paymentStatus(order.intentId), 'voided');
    assert.equal(stripe.cancels.get(order.intentId), 1, 'voided exactly once');
    assert.equal(stripe.captures.get(order.intentId) ?? 0, 0, 'never captured');
    const keys = callKeys(order.intentId, 'cancel');
    assert.equal(new Set(keys).size, 2, `the retry used a new key: ${keys.join(', ')}`);
  });

  it('does not void twice when Stripe voided but answered with a 500', async () => {
    const order = await heldOrder('void-500-ran');
    stripe.refusals.set(order.intentId, { status: 500, message: 'An unknown error occurred', afterRunning: true, calls: ['cancel'] });
    const first = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
    assert.equal(first.statusCode, 503, first.body);
    assert.equal(stripe.cancels.get(order.intentId), 1, 'Stripe voided it');
    stripe.refusals.delete(order.intentId);
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
    assert.equal(again.statusCode, 200, `asked again after the 500: ${again.statusCode} ${again.body}`);
    assert.equal(await orderStatus(order.orderId), 'refunded');
    assert.equal(await paymentStatus(order.intentId), 'voided');
    assert.equal(stripe.cancels.get(order.intentId), 1, 'voided exactly once');
    assert.equal(new Set(callKeys(order.intentId, 'cancel')).size, 1, 'read at Stripe, not called again under a new key');
  });

  it('counts a capture Stripe refuses as a configuration problem as misconfigured, not failed, from a series at zero', async () => {
    const calls = async (outcome: string) => {
      const samples = parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
      const where = { provider: 'stripe', action: 'capture', outcome };
      return { present: select(samples, 'salescale_payment_provider_calls_total', where).length > 0, count: total(samples, 'salescale_payment_provider_calls_total', where) };
    };
    // Created at zero, so that an alert's increase() sees the first refusal.
    assert.deepEqual(await calls('misconfigured'), { present: true, count: 0 });
    const failedBefore = (await calls('failed')).count;
    const order = await authorizedOrder('capture-misconfigured');
    // A STRIPE_SECRET_KEY of another account (or mode) finds no such payment.
    stripe.refusals.set(order.intentId, { status: 404, code: 'resource_missing', message: `No such payment_intent: '${order.intentId}'`, calls: ['capture'] });
    const from = logged.length;
    const refused = await deliver(order.authorized);
    // Our configuration, not our bug: the 503 of the one mapping of a refusal (answerForRefusal), Stripe redelivering it.
    assert.equal(refused.statusCode, 503, `the capture refused, the event to be redelivered: ${refused.body}`);
    assert.equal(refused.json().error.code, 'PAYMENT_PROVIDER_UNAVAILABLE', refused.body);
    assert.equal(refused.headers['retry-after'], String(RETRY_AFTER_S.unavailable), 'Retry-After');
    assert.equal((await calls('misconfigured')).count, 1, 'counted as misconfigured');
    assert.equal((await calls('failed')).count, failedBefore, 'not counted as failed');
    const line = logged.slice(from).find((l) => l.msg.startsWith('the provider refused to capture a payment') && l.orderId === order.orderId);
    assert.equal(line?.level, 50, 'logged at error');
    assert.equal(line?.reason, 'resource_missing', "with Stripe's code");
    assert.ok(!logged.slice(from).some((l) => l.msg === 'unhandled error'), 'no unhandled error');
    // Once the configuration is fixed, the redelivered event captures it.
    stripe.refusals.delete(order.intentId);
    assert.equal((await deliver(order.authorized)).statusCode, 200);
    assert.equal(stripe.captures.get(order.intentId), 1, 'captured once');

    // Our key refused (401, 403): the same answer, counted the same way.
    for (const refusal of [
      { status: 401, message: 'Invalid API Key provided: sk_test_***' },
      { status: 403, message: 'The provided key does not have the required permissions for this endpoint on account acct_1.' },
    ] as const) {
      const keyed = await authorizedOrder(`capture-misconfigured-${refusal.status}`);
      const misconfiguredBefore = (await calls('misconfigured')).count;
      stripe.refuseAll = refusal;
      const keyReply = await deliver(keyed.authorized).finally(() => (stripe.refuseAll = undefined));
      assert.equal(keyReply.statusCode, 503, `${refusal.status}: ${keyReply.body}`);
      assert.equal(keyReply.json().error.code, 'PAYMENT_PROVIDER_UNAVAILABLE', keyReply.body);
      assert.equal(keyReply.headers['retry-after'], String(RETRY_AFTER_S.unavailable), `${refusal.status}: Retry-After`);
      assert.doesNotMatch(keyReply.body, /API Key|sk_test|permission|acct_/);
      assert.equal((await calls('misconfigured')).count, misconfiguredBefore + 1, `${refusal.status}: counted as misconfigured`);
      assert.equal((await deliver(keyed.authorized)).statusCode, 200, `${refusal.status}: the key fixed, the redelivery captures`);
      assert.equal(stripe.captures.get(keyed.intentId), 1, `${refusal.status}: captured once`);
    }
  });

  it('answers a capture Stripe refuses for a reason that passes with a 502, counts it failed, and captures once on the redelivery', async () => {
    const failed = async () => total(parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body), 'salescale_payment_provider_calls_total', { provider: 'stripe', action: 'capture', outcome: 'failed' });
    const order = await authorizedOrder('capture-passing');
    const failedBefore = await failed();
    // A refusal Stripe does not keep for good (not about the request for ever, not our key): it passes with time.
    stripe.refusals.set(order.intentId, { status: 400, code: 'balance_insufficient', message: 'Insufficient funds in your Stripe balance.', calls: ['capture'] });
    const from = logged.length;
    const refused = await deliver(order.authorized);
    assert.equal(refused.statusCode, 502, `the capture refused, the event to be redelivered: ${refused.body}`);
    assert.equal(refused.json().error.code, 'PAYMENT_PROVIDER_ERROR', refused.body);
    assert.doesNotMatch(refused.body, /Insufficient|balance/);
    assert.equal(await failed(), failedBefore + 1, 'counted as failed');
    const line = logged.slice(from).find((l) => l.msg.startsWith('the provider refused to capture a payment') && l.orderId === order.orderId);
    assert.equal(line?.level, 40, 'logged at warn: it passes');
    assert.equal(line?.reason, 'balance_insufficient', "with Stripe's code");
    assert.ok(!logged.slice(from).some((l) => l.msg === 'unhandled error'), 'no unhandled error');
    assert.equal(await orderStatus(order.orderId), 'paid');
    assert.equal(await paymentStatus(order.intentId), 'authorized');
    stripe.refusals.delete(order.intentId);
    const again = await deliver(order.authorized);
    assert.equal(again.statusCode, 200, `redelivered once it passed: ${again.body}`);
    assert.equal(stripe.captures.get(order.intentId), 1, 'captured once');
    assert.equal(await paymentStatus(order.intentId), 'captured');
  });

  it('answers a pay call Stripe refuses for our key (401, 403) with a 503, counts it misconfigured, and takes the payment once the key is fixed', async () => {
    const calls = async (outcome: string) => {
      const samples = parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
      return total(samples, 'salescale_payment_provider_calls_total', { provider: 'stripe', action: 'create_intent', outcome });
    };
    for (const refusal of [
      { status: 401, message: 'Invalid API Key provided: sk_test_***' },
      { status: 403, message: 'The provided key does not have the required permissions for this endpoint on account acct_1.' },
    ] as const) {
      const key = `retries-pay-misconfigured-${refusal.status}-${run}`;
      const { orderId, accessToken } = await app.placeGuestOrder(key);
      const pay = () => t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${accessToken}/pay`, headers: { 'idempotency-key': `${key}-pay` }, payload: {} });
      const misconfiguredBefore = await calls('misconfigured');
      stripe.refuseAll = refusal;
      const refused = await pay().finally(() => (stripe.refuseAll = undefined));
      // Not the buyer's fault: a 503 with a stable code, no Stripe words, no stack.
      assert.equal(refused.statusCode, 503, `${refusal.status}: ${refused.body}`);
      assert.equal(refused.json().error.code, 'PAYMENT_PROVIDER_UNAVAILABLE', refused.body);
      // Clients and load balancers back off as for any dependency down (DATABASE_UNAVAILABLE, REDIS_UNAVAILABLE).
      assert.equal(refused.headers['retry-after'], String(RETRY_AFTER_S.unavailable), `${refusal.status}: Retry-After`);
      assert.doesNotMatch(refused.body, /API Key|sk_test|permission|acct_|stack|at .*\.ts/);
      assert.equal(await calls('misconfigured'), misconfiguredBefore + 1, `${refusal.status}: counted as misconfigured`);
      // Nothing half-written: the order still waits for its payment, with no payment row.
      assert.equal(await orderStatus(orderId), 'pending_payment');
      const payments = (await t.platform.db.primary.execute(sql`select id from payments where order_id = ${orderId}`)).rows;
      assert.equal(payments.length, 0, 'no payment recorded');
      // The key fixed: the same pay call (same Idempotency-Key) starts the payment.
      const again = await pay();
      assert.equal(again.statusCode, 200, `${refusal.status}, then fixed: ${again.body}`);
      assert.match(again.json().payment.clientSecret, /^pi_[0-9a-f]+_secret_/);
      assert.equal(await orderStatus(orderId), 'pending_payment');
    }
  });

  it("records an admin's failed refund in the audit trail with its status and error code, the answer unchanged", async () => {
    const cases = [
      { name: 'refund-audit-500', refusal: { status: 500, message: 'An unknown error occurred' }, answer: 503, error: { code: 'PAYMENT_PROVIDER_UNAVAILABLE' } },
      {
        name: 'refund-audit-expired',
        refusal: { status: 400, code: 'charge_expired_for_refund', message: 'The charge is too old to be refunded.' },
        // Stripe refusing the call: provider trouble, a 502 with a stable code, the same code in the trail as in the answer.
        answer: 502,
        error: { code: 'PAYMENT_PROVIDER_ERROR', providerCode: 'charge_expired_for_refund' },
      },
    ];
    for (const c of cases) {
      const order = await paidOrder(c.name);
      stripe.refusals.set(order.intentId, c.refusal);
      const refused = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: { ...t.admin, 'x-admin-actor': 'rita (support)' } });
      stripe.refusals.delete(order.intentId);
      assert.equal(refused.statusCode, c.answer, refused.body);
      assert.equal(refused.json().error.code, c.error.code);
      const rows = async () =>
        (
          await t.platform.db.primary.execute<{ actor: string | null; status: number; error: unknown; request_id: string }>(
            sql`select actor, status, error, request_id from admin_actions where route = '/api/v1/admin/orders/:id/refund' and target->>'id' = ${String(order.orderId)} order by id`,
          )
        ).rows;
      // Written after the reply: poll for it.
      for (const deadline = Date.now() + 30_000; (await rows()).length === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
      const written = await rows();
      assert.equal(written.length, 1, `${c.name}: the failed attempt recorded`);
      assert.deepEqual(
        { actor: written[0]!.actor, status: written[0]!.status, error: written[0]!.error, requestId: written[0]!.request_id },
        { actor: 'rita (support)', status: c.answer, error: c.error, requestId: refused.json().error.requestId },
      );
    }
    // The admin API lists it.
    const listed = await t.app.inject({ method: 'GET', url: '/api/v1/admin/actions?limit=5', headers: t.admin });
    assert.equal(listed.statusCode, 200, listed.body);
    assert.ok(
      (listed.json().items as { error: unknown }[]).some((item) => JSON.stringify(item.error) === JSON.stringify(cases[1]!.error)),
      listed.body,
    );
  });

  it('settles a refund Stripe refuses as charge_already_refunded as refunded, not as a failed refund', async () => {
    const order = await paidOrder('already-refunded');
    // Refunded in Stripe's dashboard; its event has not arrived yet.
    stripe.refunds.set(order.intentId, 1);
    const refund = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
    assert.equal(refund.statusCode, 200, refund.body);
    assert.equal(await orderStatus(order.orderId), 'refunded');
    const payment = (await t.platform.db.primary.execute<{ status: string }>(sql`select status from payments where intent_id = ${order.intentId}`)).rows[0]!;
    assert.equal(payment.status, 'refunded');
    assert.equal(stripe.refunds.get(order.intentId), 1, 'no second refund');
  });
});

describe('provider-call metric series from start', () => {
  let stripe: StripeServer;
  let t: TestApp;
  let app: StripeTestApp;

  before(async () => {
    // Creating its product makes no provider call.
    app = await startStripeTestApp({ name: 'retries', sku: `retries-from-start-${randomUUID().slice(0, 8)}`, productName: 'Retry item', available: 1 });
    ({ stripe, t } = app);
  });
  after(() => app?.close());

  it('exposes every (action, outcome) pair of salescale_payment_provider_calls_total at 0 before the first call', async () => {
    // An alert's rate() or increase() sees nothing on a series that appears with its first event.
    const samples = parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
    const missing: string[] = [];
    for (const action of ['capture', 'void', 'refund', 'create_intent']) {
      for (const outcome of ['succeeded', 'failed', 'misconfigured']) {
        const series = select(samples, 'salescale_payment_provider_calls_total', { provider: 'stripe', action, outcome });
        if (series.length === 0) missing.push(`${action}/${outcome}`);
        else assert.equal(total(samples, 'salescale_payment_provider_calls_total', { provider: 'stripe', action, outcome }), 0, `${action}/${outcome} at 0`);
      }
    }
    assert.deepEqual(missing, [], 'series missing before the first call');
    assert.equal(stripe.requests.length, 0, 'no provider call was made');
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import type { TestApp } from './helpers/app.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { waitFor } from './helpers/queues.ts';
import { startStripeShop, type StripeShop } from './helpers/stripe-app.ts';
import type { StripeEvent, StripeServer } from './helpers/stripe-server.ts';

/** A gauge's value on one instance's /metrics, or undefined when it is not there. */
async function gauge(instance: Instance, line: RegExp): Promise<number | undefined> {
  const text = await fetch(`${instance.url}/metrics`).then((r) => r.text());
  const match = text.split('\n').find((l) => line.test(l));
  return match === undefined ? undefined : Number(match.split(' ').at(-1));
}

/**
 * An admin refund whose call fails is finished by the workers' give-back retry (see payment-give-back-retry.test.ts),
 * which tells a refusal that no retry can change (Stripe's 4xx: the charge too old to refund) from a failure that
 * passes (Stripe's 429): the first stops the retries and leaves the payment a problem for a person, the second is
 * retried until it goes through.
 */
describe('give-back retry: permanent refusals and transient failures (Stripe, a real worker)', () => {
  let shop: StripeShop;
  let stripe: StripeServer;
  let t: TestApp;
  let worker: Instance | undefined;
  const run = randomUUID().slice(0, 8);

  before(async () => {
    shop = await startStripeShop({ name: 'refusal' });
    ({ stripe, t } = shop);
  });
  after(async () => {
    await worker?.stop();
    await shop?.close();
  });

  const deliver = (event: StripeEvent) => shop.deliver(event);

  /** An order paid and captured at Stripe. */
  async function paidOrder(productId: number, name: string): Promise<{ orderId: number; intentId: string }> {
    const key = `refusal-${name}-${run}`;
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': key }, payload: { email: `${key}@example.com`, items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    const pay = await t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${placed.json().accessToken}/pay`, payload: {} });
    assert.equal(pay.statusCode, 200, pay.body);
    const intentId = (pay.json().payment.clientSecret as string).split('_secret_')[0]!;
    for (const event of stripe.confirm(intentId, 'authorize')) assert.equal((await deliver(event)).statusCode, 200);
    assert.equal(stripe.captures.get(intentId), 1, 'captured');
    return { orderId: placed.json().id as number, intentId };
  }

  const one = async <T extends Record<string, unknown>>(query: ReturnType<typeof sql>) => (await t.platform.db.primary.execute<T>(query)).rows[0]!;
  const paymentOf = (intentId: string) => one<{ status: string; failure_code: string | null; attempts: number }>(sql`select status, failure_code, give_back_attempts::int as attempts from payments where intent_id = ${intentId}`);
  const refundCalls = (intentId: string) => stripe.requests.filter((r) => r.path === '/v1/refunds' && r.idempotencyKey?.includes(intentId)).length;

  it('stops retrying a refund Stripe refuses for good and leaves it a problem for a person; retries one that fails for a while until it goes through', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `refusal-${run}`, name: 'Refusal item', priceCents: 4200, available: 5 } });
    assert.equal(created.statusCode, 201, created.body);
    const productId = created.json().id as number;

    // Stripe refuses one refund for good (the charge too old to refund), the other for now (too many requests).
    const refused = await paidOrder(productId, 'refused');
    const failing = await paidOrder(productId, 'failing');
    // Refusals that are not the buyer's refund failing: a key of another Stripe account (or live vs test mode) finds no
    // such payment (404 resource_missing, on every payment at once: our configuration), and a charge being disputed
    // (the dispute decides where the money goes; its event takes the payment out of what is owed back).
    const misconfigured = await paidOrder(productId, 'misconfigured');
    const disputed = await paidOrder(productId, 'disputed');
    stripe.refusals.set(misconfigured.intentId, { status: 404, code: 'resource_missing', message: `No such payment_intent: '${misconfigured.intentId}'` });
    stripe.refusals.set(disputed.intentId, { status: 400, code: 'charge_disputed', message: 'This charge has been disputed and cannot be refunded.' });
    stripe.refusals.set(refused.intentId, { status: 400, code: 'charge_expired_for_refund', message: 'The charge has expired and cannot be refunded.' });
    // A 429, as Stripe answers a request it did not run: a 5xx would be replayed under our idempotency key for a day.
    stripe.refusals.set(failing.intentId, { status: 429, code: 'rate_limit', message: 'Too many requests hit the API too quickly.' });
    for (const order of [refused, failing, misconfigured, disputed]) {
      const refund = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
      assert.ok(refund.statusCode >= 500, `the refund call failed: ${refund.statusCode} ${refund.body}`);
    }

    worker = await startInstance({
      env: { ...t.env, LOG_LEVEL: 'error', WORKER_QUEUES: 'email', PAYMENT_SWEEP_INTERVAL_MS: '200', PAYMENT_GIVE_BACK_AFTER_S: '1' },
      command: 'worker',
      timeoutMs: 60_000,
    });

    // The refusal: tried once by the worker, then a payment problem (counted open, for the alert), no longer owed back.
    await waitFor('the refused refund to become a payment problem', async () => (await paymentOf(refused.intentId)).status === 'refund_failed', 30_000);
    const problem = await paymentOf(refused.intentId);
    assert.equal(problem.failure_code, 'charge_expired_for_refund');
    assert.equal((await one<{ status: string }>(sql`select status from orders where id = ${refused.orderId}`)).status, 'paid', 'the order is not refunded: the buyer has not got the money');
    await waitFor('the open-problems gauge to count it', async () => (await gauge(worker!, /^salescale_payment_problems_open\{provider="stripe",problem="refund_failed"/)) === 1, 20_000);

    // The transient failure keeps being retried meanwhile (several attempts), then goes through once Stripe answers.
    const retried = [failing, misconfigured, disputed];
    for (const order of retried) await waitFor(`the refund of ${order.intentId} to be retried twice`, async () => (await paymentOf(order.intentId)).attempts >= 2, 30_000);
    assert.equal((await paymentOf(failing.intentId)).status, 'captured', 'a transient failure is no problem yet');
    assert.equal((await paymentOf(misconfigured.intentId)).status, 'captured', 'resource_missing (our key or account) is no refund failure: retried');
    assert.equal((await paymentOf(disputed.intentId)).status, 'captured', 'charge_disputed is no refund failure: retried until the dispute decides');
    const callsAfterRefusal = refundCalls(refused.intentId);
    for (const order of retried) stripe.refusals.delete(order.intentId);
    for (const order of retried) {
      await waitFor(`the refund of ${order.intentId} to go through`, async () => (await one<{ status: string }>(sql`select status from orders where id = ${order.orderId}`)).status === 'refunded', 60_000);
      assert.equal(stripe.refunds.get(order.intentId), 1, 'refunded once');
    }
    assert.equal((await paymentOf(failing.intentId)).status, 'refunded');
    // Past the backoffs the failing one went through (1 s, 2 s, …), the refused one was not called again.
    assert.equal(refundCalls(refused.intentId), callsAfterRefusal, 'no retry after the refusal');
    assert.equal((await paymentOf(refused.intentId)).status, 'refund_failed');

    // The admin audit trail says what became of each refund the admin asked for: the worker's row, with the order's and
    // the payment's status before and after (the admin's own request failed, so it has no row of its own).
    type Action = { actor: string | null; method: string; route: string; target: Record<string, unknown>; status: number; change: Record<string, { before: unknown; after: unknown }> | null; error: unknown };
    const workerRow = (orderId: number) =>
      waitFor(`the worker's audit row for order ${orderId}`, async () => {
        const page = await t.app.inject({ method: 'GET', url: '/api/v1/admin/actions?limit=100', headers: t.admin });
        assert.equal(page.statusCode, 200, page.body);
        return (page.json().items as Action[]).find((a) => a.actor === 'worker' && a.target.orderId === orderId);
      }, 20_000);
    const given = await workerRow(failing.orderId);
    assert.equal(given.route, 'payments:give-back-retry');
    assert.equal(given.status, 200);
    assert.deepEqual(given.change, { status: { before: 'paid', after: 'refunded' }, paymentStatus: { before: 'captured', after: 'refunded' } });
    assert.equal(given.error, null, 'given back: no error');
    const gaveUp = await workerRow(refused.orderId);
    assert.equal(gaveUp.status, 502, 'the provider refused it');
    assert.deepEqual(gaveUp.change, { paymentStatus: { before: 'captured', after: 'refund_failed' } });
    // Why: the code an admin's own refund refused so is answered with, and the provider's code.
    assert.deepEqual(gaveUp.error, { code: 'PAYMENT_PROVIDER_ERROR', providerCode: 'charge_expired_for_refund' });

    // Asking for the refund again while the problem is open: refused (no money moved, none will by asking), the order
    // stays paid, the provider is not called.
    const callsBeforeAgain = refundCalls(refused.intentId);
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${refused.orderId}/refund`, headers: t.admin });
    assert.equal(again.statusCode, 409, `refund asked again after the provider refused it for good: ${again.statusCode} ${again.body}`);
    assert.equal(again.json().error.code, 'PAYMENT_PROBLEM_OPEN');
    assert.equal(again.json().error.details.failureCode, 'charge_expired_for_refund');
    assert.equal((await one<{ status: string }>(sql`select status from orders where id = ${refused.orderId}`)).status, 'paid');
    assert.equal(refundCalls(refused.intentId), callsBeforeAgain, 'no provider call');

    // A person settles it with the buyer and marks it resolved: the gauge lets the alert go.
    const resolved = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${refused.orderId}/payment-problem/resolve`, headers: t.admin });
    assert.equal(resolved.statusCode, 200, resolved.body);
    assert.equal(typeof resolved.json().payment.problemResolvedAt, 'string');
    await waitFor('the open-problems gauge back at 0', async () => (await gauge(worker!, /^salescale_payment_problems_open\{provider="stripe",problem="refund_failed"/)) === 0, 20_000);

    // Once settled, the refund can finish: the order is refunded (its units back on sale) with no provider call.
    const settled = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${refused.orderId}/refund`, headers: t.admin });
    assert.equal(settled.statusCode, 200, settled.body);
    assert.equal((await one<{ status: string }>(sql`select status from orders where id = ${refused.orderId}`)).status, 'refunded');
    assert.equal(refundCalls(refused.intentId), callsBeforeAgain, 'still no provider call');
  });
  it('stores a refusal code longer than 255 characters, as no webhook may carry, as a marker (the whole code logged)', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `refusal-long-${run}`, name: 'Refusal item', priceCents: 4200, available: 1 } });
    assert.equal(created.statusCode, 201, created.body);
    const order = await paidOrder(created.json().id as number, 'long-code');
    stripe.refusals.set(order.intentId, { status: 400, code: `charge_${'x'.repeat(300)}`, message: 'The charge cannot be refunded.' });
    const refund = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.orderId}/refund`, headers: t.admin });
    assert.ok(refund.statusCode >= 500, `the refund call failed: ${refund.statusCode} ${refund.body}`);
    worker ??= await startInstance({
      env: { ...t.env, LOG_LEVEL: 'error', WORKER_QUEUES: 'email', PAYMENT_SWEEP_INTERVAL_MS: '200', PAYMENT_GIVE_BACK_AFTER_S: '1' },
      command: 'worker',
      timeoutMs: 60_000,
    });
    await waitFor('the refused refund to become a payment problem', async () => (await paymentOf(order.intentId)).status === 'refund_failed', 30_000);
    assert.equal((await paymentOf(order.intentId)).failure_code, 'overlong_provider_code');
  });
});

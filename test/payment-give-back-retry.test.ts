import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import type { Json } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { waitFor } from './helpers/queues.ts';
import { signedWebhook, startStripeServer, type StripeEvent, type StripeServer } from './helpers/stripe-server.ts';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.ts';

const SECRET_KEY = 'sk_test_salescale_giveback_0123456789';
const WEBHOOK_SECRET = 'whsec_salescale_giveback_0123456789abcdef';
const WINDOW_S = 2;

/** A gauge's value on one instance's /metrics, or undefined when it is not there. */
async function gauge(instance: Instance, line: RegExp): Promise<number | undefined> {
  const text = await fetch(`${instance.url}/metrics`).then((r) => r.text());
  const match = text.split('\n').find((l) => line.test(l));
  return match === undefined ? undefined : Number(match.split(' ').at(-1));
}

/**
 * Money we owe back whose call failed for longer than Stripe redelivers its events (3 days; here: never again) is
 * given back by the workers: a late payment's hold is voided, an admin refund whose call failed is refunded and the
 * order refunded. Two real worker processes retry at once; Stripe sees one call each, the buyer one email.
 */
describe('give-back retry (Stripe, two real workers)', () => {
  let stripe: StripeServer;
  let proxy: TcpProxy;
  let t: TestApp;
  const workers: Instance[] = [];

  before(async () => {
    stripe = await startStripeServer({ secretKey: SECRET_KEY });
    proxy = await startTcpProxy(Number(new URL(stripe.url).port), 'http');
    t = await createTestApp({
      PAYMENT_PROVIDER: 'stripe',
      STRIPE_SECRET_KEY: SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_URL: proxy.url,
      PAYMENT_WINDOW_S: String(WINDOW_S),
      RATE_LIMIT_CHECKOUT_MAX: '10000',
    });
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await t?.close();
    await proxy?.close();
    await stripe?.close();
  });

  const deliver = (event: StripeEvent) => t.app.inject(signedWebhook(event, WEBHOOK_SECRET));

  async function placeAndOpenIntent(productId: number, key: string): Promise<{ orderId: number; intentId: string }> {
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': key }, payload: { email: `${key}@example.com`, items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    const pay = await t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${placed.json().accessToken}/pay`, payload: {} });
    assert.equal(pay.statusCode, 200, pay.body);
    return { orderId: placed.json().id as number, intentId: (pay.json().payment.clientSecret as string).split('_secret_')[0]! };
  }

  const one = async <T extends Record<string, unknown>>(query: ReturnType<typeof sql>) => (await t.platform.db.primary.execute<T>(query)).rows[0]!;

  it('voids a late payment and finishes an admin refund once the provider is back, and the gauge holds until then', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'giveback-1', name: 'Give-back item', priceCents: 4200, available: 5 } });
    assert.equal(created.statusCode, 201, created.body);
    const productId = created.json().id as number;

    // An order paid and captured, then refunded by an admin while Stripe is unreachable: the refund's call fails.
    const refunded = await placeAndOpenIntent(productId, 'giveback-refund');
    for (const event of stripe.confirm(refunded.intentId, 'authorize')) assert.equal((await deliver(event)).statusCode, 200);
    assert.equal(stripe.captures.get(refunded.intentId), 1, 'captured');
    // A payment arriving after its reservation expired, while Stripe is unreachable: its void fails.
    const late = await placeAndOpenIntent(productId, 'giveback-late');
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000 + 300));
    const [lateEvent] = stripe.confirm(late.intentId, 'authorize');

    await proxy.cut();
    const refund = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${refunded.orderId}/refund`, headers: t.admin });
    assert.ok(refund.statusCode >= 500, `the refund call failed: ${refund.statusCode} ${refund.body}`);
    assert.equal((await deliver(lateEvent!)).statusCode, 503, 'the late payment not given back');
    const refundEmails = async () =>
      (await t.platform.db.primary.execute<{ data: Json }>(sql`select data from outbox where name = 'send-payment-returned' and (data->>'orderId')::bigint = ${refunded.orderId}`)).rows.map((row) => row.data);
    assert.deepEqual(await refundEmails(), [], 'no refund email while the refund has failed');
    // Stripe stops redelivering after 3 days, and nobody asks for the refund again: only the workers are left.

    for (let i = 0; i < 2; i++) {
      workers.push(
        await startInstance({
          env: { ...t.env, OUTBOX_POLL_INTERVAL_MS: '50', LOG_LEVEL: 'error', WORKER_QUEUES: 'email', PAYMENT_SWEEP_INTERVAL_MS: '200', PAYMENT_GIVE_BACK_AFTER_S: '1' },
          command: 'worker',
          timeoutMs: 60_000,
        }),
      );
    }
    // Still unreachable: the workers' retries fail, and the gauge says two payments are owed back.
    await waitFor('the owed-back gauge to count both payments', async () => (await gauge(workers[0]!, /^salescale_payments_owed_back\{provider="stripe"/)) === 2, 20_000);
    const tried = await one<{ attempts: number }>(sql`select max(give_back_attempts)::int as attempts from payments where intent_id in (${late.intentId}, ${refunded.intentId})`);
    assert.ok(tried.attempts >= 1, 'the workers retried while Stripe was down');
    assert.equal(stripe.cancels.get(late.intentId) ?? 0, 0);

    await proxy.restore();
    await waitFor('the late payment voided', async () => (await one<{ status: string }>(sql`select status from payments where intent_id = ${late.intentId}`)).status === 'voided', 60_000);
    await waitFor('the refunded order refunded', async () => (await one<{ status: string }>(sql`select status from orders where id = ${refunded.orderId}`)).status === 'refunded', 60_000);
    assert.equal(stripe.cancels.get(late.intentId), 1, 'the hold released once');
    assert.equal(stripe.refunds.get(refunded.intentId), 1, 'the capture refunded once');
    assert.equal((await one<{ status: string }>(sql`select status from payments where intent_id = ${refunded.intentId}`)).status, 'refunded');
    const emails = await t.platform.db.primary.execute<{ id: string }>(sql`select id from outbox where name = 'send-payment-returned' and (data->>'orderId')::bigint = ${late.orderId}`);
    assert.equal(emails.rows.length, 1, 'the late buyer is told once');
    assert.deepEqual(
      (await refundEmails()).map((data) => ({ email: data.email, amountCents: data.amountCents, action: data.action, reason: data.reason })),
      [{ email: 'giveback-refund@example.com', amountCents: 4200, action: 'refunded', reason: 'refunded_by_shop' }],
      'the guest whose refund the retry finished is told once, at the address given at checkout',
    );
    const order = await t.app.inject({ method: 'GET', url: `/api/v1/admin/orders/${refunded.orderId}`, headers: t.admin });
    assert.equal((order.json() as Json).status, 'refunded');
    for (const worker of workers) {
      await waitFor('the gauge back at zero', async () => (await gauge(worker, /^salescale_payments_owed_back\{provider="stripe"/)) === 0, 10_000);
    }
  });
});

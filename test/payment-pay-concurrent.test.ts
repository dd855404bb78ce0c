import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import type { TestApp } from './helpers/app.ts';
import { startStripeTestApp, type StripeTestApp } from './helpers/stripe-app.ts';
import type { StripeEvent, StripeServer } from './helpers/stripe-server.ts';

/**
 * Pay calls for one order at once (two tabs, each with its own Idempotency-Key, or a retry under a fresh key after a
 * Stripe 5xx): each may create a PaymentIntent. The order keeps one, every caller is given it, and whatever the
 * buyer confirms, the buyer is charged once.
 */
describe('pay calls for one order at once (Stripe)', () => {
  let stripe: StripeServer;
  let t: TestApp;
  let productId: number;
  let app: StripeTestApp;
  const run = randomUUID().slice(0, 8);

  before(async () => {
    app = await startStripeTestApp({ name: 'pay_concurrent', sku: `pay-concurrent-${run}`, productName: 'Two tabs item', available: 10 });
    ({ stripe, t, productId } = app);
  });
  after(() => app?.close());

  const deliver = (event: StripeEvent) => app.deliver(event);
  const eventsOf = (intentId: string) => stripe.events.filter((e) => (e.data.object as { id?: string; payment_intent?: string }).id === intentId || (e.data.object as { payment_intent?: string }).payment_intent === intentId);
  async function stock(): Promise<number> {
    const result = await t.platform.db.primary.execute<{ sum: string }>(sql`select coalesce(sum(available), 0) as sum from product_stock where product_id = ${productId}`);
    return Number(result.rows[0]!.sum);
  }

  it('two tabs (other Idempotency-Keys) at once: one intent for both, and confirming every intent charges the buyer once', async () => {
    const before = await stock();
    const key = `pay-concurrent-${run}`;
    const { orderId, accessToken: token } = await app.placeGuestOrder(key);
    const pay = (tab: string) => t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${token}/pay`, headers: { 'idempotency-key': `${key}-${tab}` }, payload: {} });
    // Both createIntent calls are held at Stripe until both arrived: both calls surely found no open intent.
    stripe.holdCreates = 2;
    const unstick = setTimeout(() => stripe.releaseCreates(), 10_000);
    const tabs = await Promise.all([pay('tab-a'), pay('tab-b')]).finally(() => clearTimeout(unstick));
    assert.equal(stripe.requests.filter((r) => r.path === '/v1/payment_intents' && r.idempotencyKey?.startsWith(`salescale-order-${orderId}-`)).length, 2, 'two intents created');
    for (const tab of tabs) assert.equal(tab.statusCode, 200, tab.body);
    const secrets = tabs.map((tab) => tab.json().payment.clientSecret as string);
    // A third pay call (another key) once they answered, and the order as the buyer reads it.
    const third = await pay('tab-c');
    assert.equal(third.statusCode, 200, third.body);
    const shown = await t.app.inject({ method: 'GET', url: `/api/v1/guest-orders/${token}` });
    assert.equal(shown.statusCode, 200, shown.body);
    // Each tab confirms what it was given; then every intent Stripe still holds open for the order is confirmed too
    // (the worst case: the buyer somehow got each), and every event delivered, as Stripe would.
    const ofOrder = () => [...stripe.intents.values()].filter((i) => i.metadata.orderId === String(orderId));
    const intentIds = [...new Set([...secrets.map((s) => s.split('_secret_')[0]!), ...ofOrder().map((i) => i.id)])];
    for (const intentId of intentIds) {
      if (stripe.intents.get(intentId)!.status !== 'requires_payment_method') continue;
      for (const event of stripe.confirm(intentId, 'authorize')) assert.equal((await deliver(event)).statusCode, 200);
    }
    for (const event of ofOrder().flatMap((i) => eventsOf(i.id))) assert.equal((await deliver(event)).statusCode, 200);
    const intents = ofOrder();
    assert.equal(intents.reduce((sum, i) => sum + (stripe.captures.get(i.id) ?? 0), 0), 1, 'captured once');
    assert.deepEqual(intents.filter((i) => i.status !== 'succeeded' && i.status !== 'canceled').map((i) => `${i.id} ${i.status}`), [], 'every other hold released');
    const order = await t.platform.db.primary.execute<{ status: string }>(sql`select status from orders where id = ${orderId}`);
    assert.equal(order.rows[0]!.status, 'paid');
    assert.equal(await stock(), before - 1, 'its unit taken once');
    const kept = await t.platform.db.primary.execute<{ applied: boolean }>(sql`select applied from payments where order_id = ${orderId} and status in ('authorized', 'captured')`);
    assert.deepEqual(kept.rows.map((r) => r.applied), [true], 'one payment kept, the applied one');
    // What the callers were told: one intent, so one tab never confirms another intent than the other.
    assert.equal(secrets[0], secrets[1], 'both tabs got the same client secret');
    assert.equal(third.json().payment.clientSecret, secrets[0], 'the open intent is reused');
    assert.equal(shown.json().payment.clientSecret, secrets[0], 'the order shows that intent');
  });

  it("a pay call waiting on the order's lock while another records its intent keeps that intent, not its own", async () => {
    const key = `pay-concurrent-${run}-waiting`;
    const { orderId, accessToken: token } = await app.placeGuestOrder(key);
    const intentId = `pi_held_${run}`;
    const secret = `${intentId}_secret_held`;
    // Another pay call's recording transaction, held open: the order locked, its intent inserted, not yet committed.
    const other = await t.platform.db.pools.primary.connect();
    let payCall: ReturnType<StripeTestApp['deliver']> | undefined;
    try {
      await other.query('begin');
      await other.query('select id from orders where id = $1 for update', [orderId]);
      await other.query(
        `insert into payments (order_id, provider, intent_id, amount_cents, currency, client_secret) select id, 'stripe', $2, total_cents, currency, $3 from orders where id = $1`,
        [orderId, intentId, secret],
      );
      payCall = t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${token}/pay`, headers: { 'idempotency-key': key }, payload: {} });
      // Ours found no open intent (the other's is not committed), created its own at Stripe and waits on the order's lock.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const waiting = await t.platform.db.primary.execute<{ n: number }>(
          sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%with locked as%'`,
        );
        if (waiting.rows[0]!.n > 0) break;
        assert.ok(Date.now() < deadline, 'the pay call never waited on the order lock');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await other.query('commit');
    } catch (error) {
      await other.query('rollback');
      throw error;
    } finally {
      other.release();
    }
    const reply = await payCall!;
    assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(reply.json().payment.clientSecret, secret, 'the caller is given the intent recorded first');
    const open = await t.platform.db.primary.execute<{ intent_id: string }>(sql`select intent_id from payments where order_id = ${orderId} and status = 'requires_payment'`);
    assert.deepEqual(open.rows.map((r) => r.intent_id), [intentId], 'one open intent: the one recorded first');
  });
});

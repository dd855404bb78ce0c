import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import type { TestApp } from './helpers/app.ts';
import { startStripeShop, type StripeShop } from './helpers/stripe-app.ts';
import type { StripeServer } from './helpers/stripe-server.ts';

const NAME = 'payreview';

describe('Stripe: a wrong-amount capture on a paid order, and a cancel arriving before its intent is recorded', () => {
  let shop: StripeShop;
  let stripe: StripeServer;
  let t: TestApp;

  before(async () => {
    shop = await startStripeShop({ name: NAME, env: { PAYMENT_WINDOW_S: '600' } });
    ({ stripe, t } = shop);
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
});

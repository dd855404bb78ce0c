import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, loseRedisData, mintSessionCookies } from './helpers/commerce.ts';

/**
 * A keyed sold-out refusal answered without its lookup (more than 8 + 64 lookups waiting, right after a Redis data
 * loss) must not become the key's answer: the retry of the order whose reply and record were lost, once the storm is
 * over and still within the window, has to find that order.
 */
describe('a refusal whose lookup was skipped after a Redis data loss', () => {
  let t: TestApp;
  const run = randomUUID().slice(0, 8);

  before(async () => {
    t = await createTestApp({ STOCK_VIEW_REFRESH_MS: '0', RATE_LIMIT_CHECKOUT_MAX: '10000', RATE_LIMIT_CUSTOMER_MAX: '10000', RATE_LIMIT_GENERAL_MAX: '10000' });
  });
  after(() => t?.close());

  async function cookieOf(customerId: number): Promise<string> {
    return (await mintSessionCookies(t.env, [customerId]))[0]!;
  }

  function order(cookie: string, key: string, productId: number) {
    return t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': key }, payload: { items: [{ productId, quantity: 1 }] } });
  }

  const skipped = async () => (await t.platform.metrics.registry.getSingleMetric('salescale_checkout_loss_lookups_skipped_total')?.get())?.values[0]?.value ?? 0;

  it("answers the key's retry with its order once the lookups are free again, not the skipped refusal kept for 24 h", async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `skip-${run}`, name: 'S', priceCents: 100, available: 1 } });
    assert.equal(created.statusCode, 201, created.body);
    const productId: number = created.json().id;
    const [aliceId, ginaId] = await insertCustomers(t.platform.db.primary, 2, `skip-${run}`);
    const aliceKey = `alice-${run}`;
    const first = await order(await cookieOf(aliceId!), aliceKey, productId);
    assert.equal(first.statusCode, 201, first.body);
    const aliceOrder: number = first.json().id;
    // Placed a few minutes before the loss; its reply (say) lost. Redis then loses its data: the record with it.
    await t.platform.db.primary.execute(sql`update orders set created_at = now() - interval '5 minutes' where id = ${aliceOrder}`);
    await loseRedisData(t.platform.redis, t.config.redis.prefix);
    const alice = await cookieOf(aliceId!);
    const gina = await cookieOf(ginaId!);
    const warm = await order(gina, `gina-${run}-warm`, productId);
    assert.equal(warm.statusCode, 409, warm.body);

    // A sold-out storm: every lookup held on a lock of the orders table, 8 running and 64 waiting.
    const locker = await t.platform.db.pools.primary.connect();
    const pending: Promise<unknown>[] = [];
    let skippedRetry: Awaited<ReturnType<typeof order>> | undefined;
    try {
      await locker.query('begin');
      await locker.query('lock table orders in access exclusive mode');
      const before = await skipped();
      for (let i = 0; i < 72; i++) pending.push(order(gina, `gina-${run}-${i}`, productId));
      // Probes until one is skipped: the waiting lookups are then full.
      for (let i = 0, deadline = Date.now() + 20_000; (await skipped()) === before; i++) {
        assert.ok(Date.now() < deadline, 'the lookups fill up');
        pending.push(order(gina, `gina-${run}-probe-${i}`, productId));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Alice's retry meets the storm: answered at once without its lookup.
      skippedRetry = await order(alice, aliceKey, productId);
    } finally {
      await locker.query('commit').catch(() => undefined);
      locker.release();
    }
    assert.equal(skippedRetry?.statusCode, 409, skippedRetry?.body);
    await Promise.all(pending);

    // The storm is over, the window (10 minutes) still open: her next retry looks, and finds her order.
    const retried = await order(alice, aliceKey, productId);
    assert.equal(retried.statusCode, 201, `the retry finds the order under its key, not the refusal whose lookup was skipped: ${retried.statusCode} ${retried.body} replayed=${retried.headers['idempotent-replayed']}`);
    assert.equal(retried.json().id, aliceOrder);
  });
});

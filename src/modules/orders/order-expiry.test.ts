import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import client from 'prom-client';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { createLogger } from '../../platform/logger/logger.ts';
import { insertCustomers, mintSessionCookies } from '../../../test/helpers/commerce.ts';
import { createInventoryRepository, createStockGate } from '../inventory/index.ts';
import { createOrderExpiry, createOrderLifecycleRepository, expiredCounterFor } from './index.ts';

describe('expiring reservations while their buyers order again', () => {
  let t: TestApp;
  const WINDOW_S = 1;
  /** What the app logged: a statement PostgreSQL rolled back as a deadlock victim is retried, with a warning. */
  const logged: string[] = [];

  before(async () => {
    // One stock row per product: every checkout and every give-back of a product meets on it.
    t = await createTestApp({ STOCK_SHARDS: '1', PAYMENT_WINDOW_S: String(WINDOW_S), RATE_LIMIT_CHECKOUT_MAX: '10000' }, undefined, {
      logger: createLogger({ level: 'warn', destination: { write: (line: string) => void logged.push(line) } }),
    });
  });
  after(() => t.close());

  async function product(): Promise<number> {
    const reply = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/products',
      headers: t.admin,
      payload: { sku: `exp-${Math.random().toString(36).slice(2)}`, name: 'Expiring item', priceCents: 900, available: 10 },
    });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json().id;
  }

  const order = (cookie: string, key: string, items: { productId: number; quantity: number }[]) =>
    t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': key }, payload: { items } });

  async function stock(productId: number): Promise<number> {
    const result = await t.platform.db.primary.execute<{ sum: string }>(sql`select coalesce(sum(available), 0) as sum from product_stock where product_id = ${productId}`);
    return Number(result.rows[0]!.sum);
  }

  it('a sweep giving units back never deadlocks with a checkout of the same products: both go through', async () => {
    const db = t.platform.db;
    const [x, y] = (await mintSessionCookies(t.env, await insertCustomers(db.primary, 2, 'exp'))) as [string, string];
    const first = await product();
    const second = await product();
    assert.equal((await order(y, 'y-1', [{ productId: first, quantity: 1 }])).statusCode, 201);
    assert.equal((await order(x, 'x-1', [{ productId: second, quantity: 1 }])).statusCode, 201);
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000 + 200));

    // Slow the sweep down right after it took buyer x's count row of the second product back, so that x's new
    // checkout of both products runs meanwhile.
    await db.primary.execute(sql.raw(`
      create function slow_count_release() returns trigger language plpgsql as $$ begin perform pg_sleep(0.5); return null; end $$;
      create trigger slow_count_release after update on buyer_purchases for each row
        when (new.quantity < old.quantity and old.product_id = ${second}) execute function slow_count_release();`));
    try {
      const inventory = createInventoryRepository({ shards: 1 });
      const gate = createStockGate({
        redis: t.platform.redis,
        prefix: t.config.redis.prefix,
        gateTtlS: t.config.checkout.stockGateTtlS,
        snapshot: (productId, tokens) => inventory.snapshot(db.primary, productId, tokens),
      });
      const expiry = createOrderExpiry({
        db,
        lifecycle: createOrderLifecycleRepository({ paymentWindowS: WINDOW_S }),
        gate,
        expired: expiredCounterFor(new client.Registry()),
        logger: t.platform.logger,
      });
      const sweeping = expiry.sweepOnce();
      const sleeping = async () => (await db.primary.execute<{ n: number }>(sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event = 'PgSleep'`)).rows[0]!.n;
      for (const deadline = Date.now() + 30_000; (await sleeping()) === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(await sleeping(), 1, 'the sweep is giving x\'s units back');
      const again = await order(x, 'x-2', [
        { productId: first, quantity: 1 },
        { productId: second, quantity: 1 },
      ]);
      assert.equal(await sweeping, 2, 'both reservations expired');
      assert.equal(again.statusCode, 201, again.body);
      // Each side holds its locks until PostgreSQL's deadlock_timeout (1 s) picks a victim: a hot product's stock row
      // blocked for a second for every checkout queued behind it.
      assert.deepEqual(
        logged.filter((line) => line.includes('deadlock detected')),
        [],
        'no statement was rolled back as a deadlock victim',
      );
    } finally {
      await db.primary.execute(sql.raw('drop trigger slow_count_release on buyer_purchases; drop function slow_count_release();'));
    }
    assert.equal(await stock(first), 9, 'y\'s unit back, x\'s new one taken');
    assert.equal(await stock(second), 9, 'x\'s first unit back, the new one taken');
  });

  it('reads an order past its payment window as expired before the sweep moves it, in every read; the sweep still returns its units', async () => {
    const db = t.platform.db;
    const [ids, productId] = [await insertCustomers(db.primary, 1, 'late'), await product()];
    const [cookie] = (await mintSessionCookies(t.env, ids)) as [string];
    const placed = await order(cookie, 'late-1', [{ productId, quantity: 2 }]);
    assert.equal(placed.statusCode, 201, placed.body);
    const id = placed.json().id as number;
    // Its window ended a minute ago by PostgreSQL's clock; no sweep has run.
    await db.primary.execute(sql`update orders set created_at = now() - make_interval(secs => ${WINDOW_S + 60}) where id = ${id}`);
    const paying = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/pay`, headers: { cookie }, payload: { token: 'tok_ok' } });
    assert.equal(paying.statusCode, 409, paying.body);
    assert.equal(paying.json().error.code, 'ORDER_EXPIRED');

    const shown = (await t.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: { cookie } })).json();
    const listed = (await t.app.inject({ method: 'GET', url: '/api/v1/orders', headers: { cookie } })).json().items.find((o: { id: number }) => o.id === id);
    const admin = (await t.app.inject({ method: 'GET', url: `/api/v1/admin/orders/${id}`, headers: t.admin })).json();
    for (const [where, read] of [['GET /orders/:id', shown], ['GET /orders', listed]] as const) {
      assert.equal(read.status, 'expired', `${where}: ${JSON.stringify(read)}`);
      assert.equal(read.payment.status, 'cancelled', `${where}: an expired order asks for no payment`);
      assert.equal(read.expiredAt, read.payment.expiresAt, `${where}: expired when its window ended`);
      assert.equal(read.payment.clientSecret, undefined, where);
    }
    // The operator's view: the same status (its payment is the record, here none: nothing was attempted).
    assert.equal(admin.status, 'expired', JSON.stringify(admin));
    assert.equal(admin.expiredAt, admin.paymentExpiresAt);
    const filtered = async (status: string) =>
      (await t.app.inject({ method: 'GET', url: `/api/v1/admin/orders?status=${status}`, headers: t.admin })).json().items.some((o: { id: number }) => o.id === id);
    assert.equal(await filtered('expired'), true, 'listed under expired');
    assert.equal(await filtered('pending_payment'), false, 'not listed as waiting for payment');
    assert.equal(await stock(productId), 8, 'the units stay held until the sweep');

    const expiry = createOrderExpiry({
      db,
      lifecycle: createOrderLifecycleRepository({ paymentWindowS: WINDOW_S }),
      gate: createStockGate({
        redis: t.platform.redis,
        prefix: t.config.redis.prefix,
        gateTtlS: t.config.checkout.stockGateTtlS,
        snapshot: (p, tokens) => createInventoryRepository({ shards: 1 }).snapshot(db.primary, p, tokens),
      }),
      expired: expiredCounterFor(new client.Registry()),
      logger: t.platform.logger,
    });
    assert.ok((await expiry.sweepOnce()) >= 1);
    assert.equal(await stock(productId), 10, 'the sweep gave the units back');
    const swept = (await t.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: { cookie } })).json();
    assert.equal(swept.status, 'expired');
  });

  it("shows the operator an expired order's unconfirmed payment as the buyer sees it: cancelled, not requires_payment", async () => {
    const db = t.platform.db;
    const [ids, productId] = [await insertCustomers(db.primary, 1, 'late-admin'), await product()];
    const [cookie] = (await mintSessionCookies(t.env, ids)) as [string];
    const placed = await order(cookie, 'late-admin-1', [{ productId, quantity: 1 }]);
    assert.equal(placed.statusCode, 201, placed.body);
    const id = placed.json().id as number;
    // A payment started and never confirmed (as a Stripe pay call records its intent), then the window ended; no sweep has run.
    await db.primary.execute(sql`insert into payments (order_id, provider, intent_id, status, amount_cents, currency)
      select id, 'stripe', ${`pi_late_admin_${id}`}, 'requires_payment', total_cents, currency from orders where id = ${id}`);
    await db.primary.execute(sql`update orders set created_at = now() - make_interval(secs => ${WINDOW_S + 60}) where id = ${id}`);
    const shown = (await t.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: { cookie } })).json();
    const admin = (await t.app.inject({ method: 'GET', url: `/api/v1/admin/orders/${id}`, headers: t.admin })).json();
    assert.equal(shown.payment.status, 'cancelled', JSON.stringify(shown));
    assert.equal(admin.status, 'expired', JSON.stringify(admin));
    assert.equal(admin.payment.status, 'cancelled', `an expired order asks for no payment: ${JSON.stringify(admin)}`);
    assert.equal(admin.payment.intentId, `pi_late_admin_${id}`, 'the record is still named');
  });

  it('refuses to cancel an order that reads expired (past its payment window, not yet swept), as once swept: it stays expired', async () => {
    const db = t.platform.db;
    const [ids, productId] = [await insertCustomers(db.primary, 1, 'late-cancel'), await product()];
    const [cookie] = (await mintSessionCookies(t.env, ids)) as [string];
    const placed = await order(cookie, 'late-cancel-1', [{ productId, quantity: 1 }]);
    assert.equal(placed.statusCode, 201, placed.body);
    const id = placed.json().id as number;
    // Past its payment window by PostgreSQL's clock, well within the cancel window (ORDER_CANCEL_WINDOW_S, 1800 s); no sweep has run.
    await db.primary.execute(sql`update orders set created_at = now() - make_interval(secs => ${WINDOW_S + 60}) where id = ${id}`);
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: { cookie } })).json().status, 'expired');
    const cancelling = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/cancel`, headers: { cookie } });
    assert.equal(cancelling.statusCode, 409, cancelling.body);
    assert.equal(cancelling.json().error.code, 'ORDER_NOT_CANCELLABLE');
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: { cookie } })).json().status, 'expired', 'an order read as expired never turns cancelled');
  });
});

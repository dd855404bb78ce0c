import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { insertCustomers } from '../../../test/helpers/commerce.ts';
import { createOrdersRepository } from '../orders/index.ts';
import { createInventoryRepository } from './inventory.repository.ts';

/**
 * Units given back (a cancellation, an expiry, a refund) while an admin sets the product's stock on an
 * instance configured with fewer `STOCK_SHARDS` (a configuration change rolling out): the set removes the
 * shard the give-back picked. Real PostgreSQL, real statements; a third connection holding one shard's
 * row lock only orders the two (set first, give-back queued behind it), as a busy hot row would.
 */
describe('stock given back while the stock is set with fewer shards', () => {
  let t: TestApp;
  let probe: pg.Client;
  /** Holds one shard's row lock (pg_stat_activity is a snapshot per transaction: the probe stays outside one). */
  let holder: pg.Client;
  const orders = createOrdersRepository();
  const fewerShards = createInventoryRepository({ shards: 4 });

  before(async () => {
    t = await createTestApp({ STOCK_SHARDS: '8' });
    probe = new pg.Client({ connectionString: t.env.DATABASE_URL });
    holder = new pg.Client({ connectionString: t.env.DATABASE_URL });
    await Promise.all([probe.connect(), holder.connect()]);
  });
  after(async () => {
    await Promise.all([probe?.end(), holder?.end()]);
    await t?.close();
  });

  const stockOf = async (id: number) =>
    Number((await t.platform.db.primary.execute<{ n: string }>(sql`select coalesce(sum(available), 0) as n from product_stock where product_id = ${id}`)).rows[0]!.n);

  /** Waits until `n` backends of this database wait for a lock. */
  async function lockWaiters(n: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows } = await probe.query<{ n: string }>("select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
      if (Number(rows[0]!.n) >= n) return;
      if (Date.now() > deadline) throw new Error(`expected ${n} backends waiting for a lock, saw ${rows[0]!.n}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('keeps every unit a cancellation gives back when the shard it picked is removed under it', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `ret-${randomUUID()}`, name: 'R', priceCents: 100, available: 80 } });
    assert.equal(created.statusCode, 201, created.body);
    const id: number = created.json().id;
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'ret');
    await orders.place(t.platform.db.primary, { customerId: customerId!, lines: [{ productId: id, quantity: 3 }], idempotencyKey: randomUUID(), reservation: randomUUID() });
    const order = await t.platform.db.primary.execute<{ id: string }>(sql`select id from orders where customer_id = ${customerId}`);
    // Arrange the shards so that the emptiest, where a give-back goes, is shard 7 (removed by a 4-shard set).
    await probe.query('update product_stock set available = case when shard = 7 then 0 else 10 end where product_id = $1', [id]);

    await holder.query('begin');
    await holder.query('select 1 from product_stock where product_id = $1 and shard = 7 for update', [id]);
    const set = fewerShards.set(t.platform.db.primary, id, 20); // locks shards 0…6, queues for 7
    await lockWaiters(1);
    const cancelled = t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.rows[0]!.id}/cancel`, headers: t.admin }); // picks shard 7, queues behind the set
    await lockWaiters(2);
    await holder.query('commit');
    await set;
    const reply = await cancelled;
    assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(reply.json().status, 'cancelled');

    const shards = await probe.query<{ shard: number }>('select shard from product_stock where product_id = $1 order by shard', [id]);
    assert.deepEqual(
      shards.rows.map((row) => row.shard),
      [0, 1, 2, 3],
      'the set left 4 shards',
    );
    // The set came first (it held the rows), the cancellation's 3 units after it.
    assert.equal(await stockOf(id), 20 + 3, 'stock = the figure set + the units given back after it');
  });
});

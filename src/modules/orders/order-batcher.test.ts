import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import pino from 'pino';
import { createAppWithRoutes } from '../../../test/helpers/app-with-routes.ts';
import { createTestApp } from '../../../test/helpers/app.ts';
import { insertCustomers } from '../../../test/helpers/commerce.ts';
import { waitFor } from '../../../test/helpers/queues.ts';
import type { Db } from '../../platform/db/client.ts';
import { createOrderBatcher } from './order-batcher.ts';
import { createOrdersRepository, type OrdersRepository, type PlacedOrder, type PlaceOrderInput } from './orders.repository.ts';

const placed: PlacedOrder = { id: 1, createdAt: new Date(), totalCents: 100, currency: 'USD', items: [] };
const input = { customerId: 1, lines: [{ productId: 1, quantity: 1 }], idempotencyKey: 'k', reservation: 'r' };

/** How Drizzle reports a PostgreSQL error: its own error, with pg's as the cause. */
function drizzleError(code: string): Error {
  return new Error('Failed query: select * from place_order(…)', { cause: Object.assign(new Error('deadlock detected'), { code, severity: 'ERROR' }) });
}

describe('order placement retries', () => {
  it('places again an order PostgreSQL rolled back for a deadlock, and gives up after three attempts', async () => {
    let calls = 0;
    const failing = (failures: number) =>
      ({
        place: async () => {
          calls++;
          if (calls <= failures) throw drizzleError('40P01');
          return placed;
        },
      }) as unknown as OrdersRepository;
    const options = { db: () => ({}) as Db, maxBatch: 1, maxInFlight: 1, logger: pino({ level: 'silent' }) };
    assert.equal(await createOrderBatcher({ ...options, repo: failing(2) }).place(input), placed);
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(createOrderBatcher({ ...options, repo: failing(3) }).place(input), /Failed query/);
    assert.equal(calls, 3);
    calls = 0;
    const refused = {
      place: async () => {
        calls++;
        throw drizzleError('P0001');
      },
    } as unknown as OrdersRepository;
    await assert.rejects(createOrderBatcher({ ...options, repo: refused }).place(input));
    assert.equal(calls, 1, 'a refusal is not retried');
  });

  it('answers 503 DATABASE_CONFLICT, never 500, for a deadlock that reaches the client', async () => {
    const t = await createAppWithRoutes({}, (app) => {
      app.get('/test/deadlock', async () => {
        await t.platform.db.primary.execute(sql`DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$`);
        return {};
      });
    });
    try {
      const reply = await t.app.inject({ method: 'GET', url: '/test/deadlock' });
      assert.equal(reply.statusCode, 503);
      assert.equal(reply.json().error.code, 'DATABASE_CONFLICT');
      assert.equal(reply.headers['retry-after'], '1');
    } finally {
      await t.close();
    }
  });
});

describe('order batches', () => {
  it('serves the orders of a batch in the order they arrived, not by customer id, when the units run out', async () => {
    const t = await createTestApp();
    const blocker = new pg.Client({ connectionString: t.database.url });
    try {
      const db = t.platform.db.primary;
      const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'batch-fair', name: 'Last units', priceCents: 500, available: 3 } });
      assert.equal(product.statusCode, 201, product.body);
      const productId: number = product.json().id;
      const customers = await insertCustomers(db, 5);
      const batcher = createOrderBatcher({ db: () => db, repo: createOrdersRepository(), maxBatch: 32, maxInFlight: 1, logger: pino({ level: 'silent' }) });
      const orderOf = (customerId: number) =>
        batcher.place({ customerId, lines: [{ productId, quantity: 1 }], idempotencyKey: `fair-${customerId}`, reservation: randomUUID() }).then(
          () => 'placed',
          (error: unknown) => (error as Error).message,
        );
      // A first order goes alone and waits for the stock row (held here); the next ones queue behind it as one batch.
      await blocker.connect();
      await blocker.query('begin');
      await blocker.query('select 1 from product_stock where product_id = $1 for update', [productId]);
      const first = orderOf(customers[0]!);
      await waitFor('the first order statement waiting for the stock row', async () => (await blocker.query("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()")).rows[0].n > 0 || undefined);
      // They arrive newest account first: the two units left go to the first two to arrive.
      const arrivals = [customers[4]!, customers[3]!, customers[2]!, customers[1]!];
      const outcomes = arrivals.map(orderOf);
      await blocker.query('commit');
      assert.equal(await first, 'placed');
      assert.deepEqual(await Promise.all(outcomes), ['placed', 'placed', 'OUT_OF_STOCK', 'OUT_OF_STOCK'], 'outcomes in order of arrival');
    } finally {
      await blocker.end().catch(() => {});
      await t.close();
    }
  });

  it('refuses alone, saying why, a batch order that names no buyer (neither customerId nor guestEmail); the others are placed', async () => {
    const t = await createTestApp();
    try {
      const db = t.platform.db.primary;
      const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'batch-no-buyer', name: 'Anyone', priceCents: 500, available: 5 } });
      assert.equal(product.statusCode, 201, product.body);
      const productId: number = product.json().id;
      const [customerId] = await insertCustomers(db, 1);
      const lines = [{ productId, quantity: 1 }];
      // The types cannot express it; the statement must still refuse it by itself rather than fail the whole batch.
      const noBuyer = { customerId: undefined, lines, idempotencyKey: 'no-buyer', reservation: randomUUID() } as unknown as PlaceOrderInput;
      const outcomes = await createOrdersRepository().placeBatch(db, [{ customerId: customerId!, lines, idempotencyKey: 'buyer', reservation: randomUUID() }, noBuyer]);
      assert.equal(outcomes[0]?.ok, true, JSON.stringify(outcomes[0]));
      assert.equal(outcomes[1]?.ok, false, JSON.stringify(outcomes[1]));
      assert.match(outcomes[1]!.ok ? '' : outcomes[1]!.error.message, /neither customerId nor guestEmail/);
      const placed = await db.execute<{ n: number }>(sql`select count(*)::int as n from orders`);
      assert.equal(placed.rows[0]!.n, 1, 'only the order with a buyer');
    } finally {
      await t.close();
    }
  });

  it('refuses alone PRICE_CHANGED, with the current prices and taking no units, a batch order expecting a stale total; the other is placed', async () => {
    const t = await createTestApp();
    try {
      const db = t.platform.db.primary;
      const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'batch-price', name: 'Repriced', priceCents: 1000, available: 10 } });
      assert.equal(product.statusCode, 201, product.body);
      const productId: number = product.json().id;
      const repriced = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${productId}`, headers: t.admin, payload: { priceCents: 1200 } });
      assert.equal(repriced.statusCode, 200, repriced.body);
      const [stale, current] = await insertCustomers(db, 2);
      const lines = [{ productId, quantity: 2 }];
      const outcomes = await createOrdersRepository().placeBatch(db, [
        { customerId: stale!, lines, idempotencyKey: 'stale-total', reservation: randomUUID(), expected: { totalCents: 2000, currency: 'USD' } },
        { customerId: current!, lines, idempotencyKey: 'current-total', reservation: randomUUID(), expected: { totalCents: 2400, currency: 'USD' } },
      ]);
      const refused = outcomes[0];
      assert.ok(refused && !refused.ok, JSON.stringify(refused));
      assert.equal(refused.error.message, 'PRICE_CHANGED');
      assert.deepEqual(JSON.parse(refused.error.detail ?? '{}'), {
        expectedTotalCents: 2000,
        expectedCurrency: 'USD',
        totalCents: 2400,
        currency: 'USD',
        items: [{ productId, quantity: 2, priceCents: 1200 }],
      });
      const placed = outcomes[1];
      assert.ok(placed?.ok, JSON.stringify(placed));
      assert.equal(placed.order.totalCents, 2400);
      const stock = await db.execute<{ n: number }>(sql`select coalesce(sum(available), 0)::int as n from product_stock where product_id = ${productId}`);
      assert.equal(stock.rows[0]!.n, 8, 'units taken by the placed order only');
      const written = await db.execute<{ customer_id: string }>(sql`select customer_id from orders`);
      assert.deepEqual(written.rows.map((row) => Number(row.customer_id)), [current], 'only the order at the current total');
    } finally {
      await t.close();
    }
  });
});

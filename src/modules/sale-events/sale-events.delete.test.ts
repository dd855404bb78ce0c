import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../../../test/helpers/commerce.ts';
import { waitFor } from '../../../test/helpers/queues.ts';

describe('deleting a sale event', () => {
  let t: TestApp;
  let cookies: string[];

  before(async () => {
    t = await createTestApp();
    cookies = await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 3, 'sale-delete'));
  });
  after(() => t?.close());

  const admin = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
    t.app.inject({ method, url: `/api/v1/admin${url}`, headers: t.admin, ...(payload && { payload }) });
  const order = (cookie: string, productId: number) =>
    t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': randomUUID() }, payload: { items: [{ productId, quantity: 1 }] } });
  async function product(): Promise<number> {
    const created = await admin('POST', '/products', { sku: `del-${randomUUID()}`, name: 'Doorbuster', priceCents: 1000, available: 100 });
    assert.equal(created.statusCode, 201, created.body);
    return created.json().id;
  }
  async function liveSale(productIds: number[]): Promise<number> {
    const now = Date.now();
    const created = await admin('POST', '/sale-events', {
      name: 'Black Friday',
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      maxPerCustomer: 1,
      productIds,
    });
    assert.equal(created.statusCode, 201, created.body);
    return created.json().id;
  }
  const counts = async (event: number) =>
    (await t.platform.db.primary.execute<{ n: number }>(sql`select count(*)::int as n from sale_event_buyer_purchases where sale_event_id = ${event}`)).rows[0]!.n;

  it('refuses with 409 SALE_EVENT_IN_USE an event with orders, keeping its per-buyer counts and its orders filterable', async () => {
    const id = await product();
    const event = await liveSale([id]);
    const placed = await order(cookies[0]!, id);
    assert.equal(placed.statusCode, 201, placed.body);

    const refused = await admin('DELETE', `/sale-events/${event}`);
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(refused.json().error.code, 'SALE_EVENT_IN_USE');
    assert.match(refused.json().error.message, /endsAt/, 'tells the admin to end it instead');

    assert.equal((await admin('GET', `/sale-events/${event}`)).statusCode, 200, 'the event is kept');
    assert.equal(await counts(event), 1, 'the buyer’s count is kept');
    const again = await order(cookies[0]!, id);
    assert.equal(again.statusCode, 409, again.body);
    assert.equal(again.json().error.code, 'PURCHASE_LIMIT_EXCEEDED', 'the cap still holds');
    const filtered = await admin('GET', `/orders?saleEventId=${event}`);
    assert.equal(filtered.statusCode, 200, filtered.body);
    assert.deepEqual(
      filtered.json().items.map((o: { id: number }) => o.id),
      [placed.json().id],
    );
  });

  it('deletes an event that has no orders', async () => {
    const event = await liveSale([await product()]);
    assert.equal((await admin('DELETE', `/sale-events/${event}`)).statusCode, 204);
    assert.equal((await admin('GET', `/sale-events/${event}`)).statusCode, 404);
  });

  it('records in the audit trail what the deleted event was (its fields and products before → null), so the delete can be traced', async () => {
    const ids = [await product(), await product()].sort((a, b) => a - b);
    const event = await liveSale(ids);
    const created = (await admin('GET', `/sale-events/${event}`)).json();
    const deleted = await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/sale-events/${event}`, headers: { ...t.admin, 'x-admin-actor': 'ops-anna' } });
    assert.equal(deleted.statusCode, 204, deleted.body);
    const row = await waitFor('the audit row of the delete', async () => {
      const actions = await admin('GET', '/actions?limit=100');
      return actions.json().items.find((a: { method: string; target: { id?: number } }) => a.method === 'DELETE' && a.target.id === event);
    });
    assert.equal(row.actor, 'ops-anna');
    assert.deepEqual(row.change, {
      name: { before: 'Black Friday', after: null },
      startsAt: { before: created.startsAt, after: null },
      endsAt: { before: created.endsAt, after: null },
      trafficMultiplier: { before: 1, after: null },
      maxPerCustomer: { before: 1, after: null },
      productIds: { before: ids, after: null },
      waitingRoom: { before: { enabled: false, admissionPerSecond: null, paused: false }, after: null },
    });
  });

  /** Waits until a backend of this database waits on a lock (the other side of the race is then in place). */
  async function untilBlocked(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const rows = await t.platform.db.primary.execute<{ n: number }>(
        sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
      );
      if (rows.rows[0]!.n > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.fail('nothing waited on a lock');
  }

  it('refuses the delete when an order counted on the event commits while the delete waits for it', async () => {
    const id = await product();
    const event = await liveSale([id]);
    const client: pg.PoolClient = await t.platform.db.pools.primary.connect();
    try {
      // What place_order does for a line of a live event's product, left uncommitted: the count row's upsert.
      await client.query('begin');
      await client.query(`insert into sale_event_buyer_purchases (sale_event_id, buyer_email, product_id, quantity) values ($1, 'racer@example.com', $2, 1)`, [event, id]);
      const deleting = admin('DELETE', `/sale-events/${event}`);
      await untilBlocked();
      await client.query('commit');
      const reply = await deleting;
      assert.equal(reply.statusCode, 409, reply.body);
      assert.equal(reply.json().error.code, 'SALE_EVENT_IN_USE');
      assert.equal(await counts(event), 1);
    } finally {
      client.release();
    }
  });

  it('places an order that reads the event while its delete (of an event with no orders) commits, without the event', async () => {
    const id = await product();
    const event = await liveSale([id]);
    const client: pg.PoolClient = await t.platform.db.pools.primary.connect();
    try {
      await client.query('begin');
      await client.query('delete from sale_events where id = $1', [event]);
      const placing = order(cookies[1]!, id);
      await untilBlocked();
      await client.query('commit');
      const placed = await placing;
      assert.equal(placed.statusCode, 201, placed.body);
      assert.equal(await counts(event), 0);
    } finally {
      client.release();
    }
  });
});

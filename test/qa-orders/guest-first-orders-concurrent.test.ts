import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/**
 * A guest's record is written for its first order (an upsert on the email's unique index). Two first orders of one
 * email at once both go through, under one record.
 */
describe('two first guest orders of one email at once', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '1000' });
  });
  after(() => t.close());

  it('places both under one guest record', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'QA-GUEST-TWICE', name: 'Mug', priceCents: 900, available: 10 } });
    assert.equal(created.statusCode, 201, created.body);
    const productId = created.json().id as number;
    assert.equal((await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${productId}`, headers: t.admin, payload: { status: 'active' } })).statusCode, 200);
    const email = 'qa-guest-twice@example.com';
    const order = (key: string) => t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': key }, payload: { email, items: [{ productId, quantity: 1 }] } });
    const replies = await Promise.all([order('qa-guest-twice-1'), order('qa-guest-twice-2')]);
    for (const reply of replies) assert.equal(reply.statusCode, 201, reply.body);
    assert.notEqual(replies[0]!.json().id, replies[1]!.json().id);
    const rows = await t.platform.db.primary.execute<{ id: string; orders: string }>(
      sql`select c.id, (select count(*) from orders o where o.customer_id = c.id) as orders from customers c where lower(c.email) = ${email} and c.guest`,
    );
    assert.equal(rows.rows.length, 1, 'one guest record for the email');
    assert.equal(Number(rows.rows[0]!.orders), 2);
  });
});

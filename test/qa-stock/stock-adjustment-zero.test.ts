import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/**
 * An adjustment of 0 units changes nothing: taken, it stored its idempotency key (so the same key with the delta
 * meant is then 422 IDEMPOTENCY_KEY_REUSED) and was audited as a stock change with before = after. It is refused as
 * the invalid input it is, on `/delta`, and leaves nothing behind.
 */
describe('a stock adjustment of zero units', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('is refused 400 VALIDATION_FAILED on /delta, storing no key and no adjustment', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/products',
      headers: t.admin,
      payload: { sku: 'ZERO-DELTA', name: 'Zero delta', priceCents: 500, available: 7 },
    });
    assert.equal(created.statusCode, 201, created.body);
    const productId: number = created.json().id;
    const adjust = (delta: number) =>
      t.app.inject({ method: 'POST', url: `/api/v1/admin/products/${productId}/stock/adjustments`, headers: { ...t.admin, 'idempotency-key': 'zero-1' }, payload: { delta } });

    const reply = await adjust(0);
    assert.equal(reply.statusCode, 400, reply.body);
    assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
    assert.equal(reply.json().error.details.issues[0].path, '/delta');
    const stored = await t.platform.db.primary.execute<{ n: number }>(sql`select count(*)::int as n from stock_adjustments`);
    assert.equal(stored.rows[0]!.n, 0);

    // The key was not spent on it: the adjustment meant goes through with it.
    const meant = await adjust(3);
    assert.equal(meant.statusCode, 200, meant.body);
    assert.equal(meant.json().available, 10);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import type { Json } from './helpers/http.ts';

/** The checkout limiter on the real `POST /api/v1/orders`, and what a degrade mode does (not) to it. */
describe('checkout rate limit on POST /api/v1/orders', () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  let productId: number;

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '3', RATE_LIMIT_GENERAL_MAX: '1000', RATE_LIMIT_CUSTOMER_MAX: '1000', CLUSTER_HEARTBEAT_MS: '200' });
    [alice, bob] = (await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 2))) as [string, string];
    const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'limited-1', name: 'Limited', priceCents: 500, available: 100 } });
    assert.equal(product.statusCode, 201, product.body);
    productId = product.json().id;
  });
  after(() => t.close());

  let keys = 0;
  const order = (cookie: string, quantity: number, id = productId) =>
    t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': `k-${++keys}` }, payload: { items: [{ productId: id, quantity }] } });

  it('never counts placed orders or sold-out refusals, refuses the attempt after three failed ones, and keeps other buyers unaffected', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await order(alice, 1)).statusCode, 201, `order ${i + 1}`);
    // Sold out is the shop's state, not a bad attempt: during a sale a carrier's guests behind one address meet it together.
    for (let i = 0; i < 5; i++) {
      const soldOut = await order(alice, 1000);
      assert.equal(soldOut.statusCode, 409, soldOut.body);
      assert.equal(soldOut.json().error.code, 'OUT_OF_STOCK');
    }
    for (let i = 0; i < 3; i++) {
      const failed = await order(alice, 1, 999_999);
      assert.equal(failed.json().error.code, 'UNKNOWN_PRODUCT', failed.body);
    }
    const refused = await order(alice, 1);
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json().error.code, 'RATE_LIMITED');
    assert.deepEqual(refused.json().error.details.limiters, ['checkout']);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    // Counted per signed-in customer: Bob's checkout and Alice's browsing go on.
    assert.equal((await order(bob, 1)).statusCode, 201);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/categories', headers: { cookie: alice } })).statusCode, 200);
  });

  it('keeps the checkout limit whole in critical mode while browsing limits tighten', async () => {
    const forced = await t.app.inject({ method: 'PUT', url: '/api/v1/admin/mode', headers: t.admin, payload: { mode: 'critical' } });
    assert.equal(forced.statusCode, 200, forced.body);
    const placed = await order(bob, 1);
    assert.equal(placed.statusCode, 201, placed.body);
    const policy = String(placed.headers['ratelimit-policy']);
    assert.match(policy, /"customer";q=500;w=900/);
    assert.match(policy, /"checkout";q=3;w=900/);
    const body: Json = placed.json();
    assert.equal(body.status, 'pending_payment');
  });
});

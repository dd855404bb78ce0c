import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../../../test/helpers/commerce.ts';
import { createCartStore } from './cart.store.ts';

describe('cart API', () => {
  let t: TestApp;
  let cookie: string;
  let productId: number;

  before(async () => {
    t = await createTestApp();
    const [id] = await insertCustomers(t.platform.db.primary, 1);
    [cookie] = (await mintSessionCookies(t.env, [id!])) as [string];
    const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'cart-1', name: 'Mug', priceCents: 900, available: 5 } });
    productId = product.json().id;
  });
  after(() => t.close());

  const put = (id: number, payload: unknown, headers: Record<string, string> = { cookie }) =>
    t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${id}`, headers, payload: payload as object });

  it('adds, changes and removes lines, priced from the catalog', async () => {
    const added = await put(productId, { quantity: 2 });
    assert.equal(added.statusCode, 200, added.body);
    assert.deepEqual(added.json().items, [{ productId, quantity: 2, name: 'Mug', priceCents: 900, currency: 'USD', available: 5, purchasable: true }]);
    assert.equal(added.json().totalCents, 1800);
    assert.equal((await put(productId, { quantity: 3 })).json().totalCents, 2700);
    const removed = await t.app.inject({ method: 'DELETE', url: `/api/v1/cart/items/${productId}`, headers: { cookie } });
    assert.deepEqual(removed.json().items, []);
    await put(productId, { quantity: 1 });
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/api/v1/cart/items', headers: { cookie } })).statusCode, 204);
    assert.deepEqual((await t.app.inject({ method: 'GET', url: '/api/v1/cart', headers: { cookie } })).json().items, []);
  });

  it('validates against the catalog and the request schema', async () => {
    const unknown = await put(999_999, { quantity: 1 });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'PRODUCT_NOT_FOUND');
    const tooMany = await put(productId, { quantity: 6 });
    assert.equal(tooMany.statusCode, 409);
    assert.equal(tooMany.json().error.code, 'OUT_OF_STOCK');
    for (const payload of [{ quantity: 0 }, { quantity: 'two' }, { quantity: 1, priceCents: 1 }, {}]) {
      assert.equal((await put(productId, payload)).statusCode, 400, JSON.stringify(payload));
    }
    const anonymous = await put(productId, { quantity: 1 }, {});
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().error.code, 'NOT_SIGNED_IN');
  });

  it('counts carts as abandoned once untouched for CART_ABANDONED_AFTER_S, not once ordered', async () => {
    let now = 1_000_000;
    const store = createCartStore({ redis: t.platform.redis, prefix: `${t.config.redis.prefix}-abandon`, ttlS: 7200, abandonedAfterS: 60, clock: () => now });
    await store.set(1, 10, 1);
    await store.set(2, 10, 1);
    await store.set(3, 10, 1);
    assert.deepEqual(await store.counts(), { active: 3, abandoned: 0 });
    now += 61_000;
    await store.set(3, 11, 1); // touched again
    await store.clear(2); // ordered
    assert.deepEqual(await store.counts(), { active: 1, abandoned: 1 });
    now += 7200_001;
    assert.deepEqual(await store.counts(), { active: 0, abandoned: 0 }, 'expired carts leave the index');
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';

/**
 * A cart order's retry whose Redis record is gone (Redis lost it, or a lease ran out after a crash) finds the cart its
 * first attempt emptied and replays the order from PostgreSQL (201): an order attempt answered, counted as `placed` as
 * every other replay is.
 */
describe('checkout attempts counted for a cart order replayed from PostgreSQL', () => {
  let t: TestApp;
  let cookie: string;
  let customerId: number;
  let productId: number;

  const recordKey = (key: string) => `${t.config.redis.prefix}:idem:customer:${customerId}:${createHash('sha256').update(key).digest('base64url')}`;
  const attempts = async (): Promise<Record<string, number>> => {
    const metric = await t.platform.metrics.registry.getSingleMetric('salescale_checkout_attempts_total')!.get();
    return Object.fromEntries(metric.values.map((value) => [String(value.labels.outcome), value.value]));
  };

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '1000' });
    [customerId] = (await insertCustomers(t.platform.db.primary, 1, 'cart-replay')) as [number];
    [cookie] = (await mintSessionCookies(t.env, [customerId])) as [string];
    const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'CART-REPLAY-1', name: 'Replay', priceCents: 500, available: 10 } });
    assert.equal(product.statusCode, 201, product.body);
    productId = product.json().id;
  });
  after(() => t?.close());

  it('counts the replay of the order its emptied cart placed as placed', async () => {
    const key = `cart-replay-${productId}`;
    const line = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, headers: { cookie }, payload: { quantity: 1 } });
    assert.equal(line.statusCode, 200, line.body);
    const cartOrder = () => t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': key }, payload: {} });
    const placed = await cartOrder();
    assert.equal(placed.statusCode, 201, placed.body);
    // The key's record is lost; the cart was emptied by the order.
    assert.equal(await t.platform.redis.del(recordKey(key)), 1);

    const before = await attempts();
    const replayed = await cartOrder();
    assert.equal(replayed.statusCode, 201, replayed.body);
    assert.equal(replayed.headers['idempotent-replayed'], 'true');
    assert.equal(replayed.json().id, placed.json().id);
    const after = await attempts();
    const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]).filter(([, n]) => n !== 0));
    assert.deepEqual(delta, { placed: 1 }, `one request answered 201 (the order replayed) counted as ${JSON.stringify(delta)}`);
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';

const RETENTION_S = 120;

describe('Idempotency-Key policy of POST /api/v1/orders (real PostgreSQL and Redis)', () => {
  let t: TestApp;
  let cookie: string;
  let customerId: number;
  let productId: number;

  const order = (key: string, payload: unknown, headers: Record<string, string> = { cookie }) =>
    t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { ...headers, 'idempotency-key': key }, payload: payload as object });
  const ordersOf = async () => (await t.platform.db.primary.execute<{ n: number }>(sql`select count(*)::int as n from orders where customer_id = ${customerId}`)).rows[0]!.n;
  const recordKey = (key: string) => `${t.config.redis.prefix}:idem:customer:${customerId}:${createHash('sha256').update(key).digest('base64url')}`;

  before(async () => {
    t = await createTestApp({ IDEMPOTENCY_RETENTION_S: String(RETENTION_S), RATE_LIMIT_CHECKOUT_MAX: '1000' });
    [customerId] = (await insertCustomers(t.platform.db.primary, 1)) as [number];
    [cookie] = (await mintSessionCookies(t.env, [customerId])) as [string];
    const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'IDEM-1', name: 'Idem', priceCents: 500, available: 100 } });
    assert.equal(product.statusCode, 201, product.body);
    productId = product.json().id;
  });
  after(() => t?.close());

  it('runs a request retried, corrected, with the key of one that failed validation (400) or authentication (401)', async () => {
    const good = { items: [{ productId, quantity: 1 }] };
    const refusedBodies = [{ items: [{ productId, quantity: 0 }] }, { items: [{ productId, quantity: 1, price: 1 }] }, { items: 'all' }];
    for (const [i, bad] of refusedBodies.entries()) {
      const before = await ordersOf();
      const refused = await order(`retry-400-${i}`, bad);
      assert.equal(refused.statusCode, 400, refused.body);
      const corrected = await order(`retry-400-${i}`, good);
      assert.equal(corrected.statusCode, 201, corrected.body);
      assert.equal(corrected.headers['idempotent-replayed'], undefined);
      assert.equal(await ordersOf(), before + 1);
    }
    const malformed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': 'retry-json', 'content-type': 'application/json' }, payload: '{"items":' });
    assert.equal(malformed.statusCode, 400);
    assert.equal((await order('retry-json', good)).statusCode, 201);

    const before = await ordersOf();
    for (const headers of [{}, { cookie: 'salescale_sid=forged' }] as Record<string, string>[]) {
      const unauthenticated = await order('retry-401', good, headers);
      assert.equal(unauthenticated.statusCode, 401, unauthenticated.body);
    }
    const signedIn = await order('retry-401', good);
    assert.equal(signedIn.statusCode, 201, signedIn.body);
    assert.equal(await ordersOf(), before + 1);
  });

  it(`keeps a completed response for IDEMPOTENCY_RETENTION_S (${RETENTION_S} s), then forgets the key`, async () => {
    const body = { items: [{ productId, quantity: 2 }] };
    const first = await order('retained', body);
    assert.equal(first.statusCode, 201, first.body);
    const ttlMs = await t.platform.redis.pttl(recordKey('retained'));
    assert.ok(ttlMs > (RETENTION_S - 10) * 1000 && ttlMs <= RETENTION_S * 1000, `record TTL ${ttlMs} ms`);

    // Within the retention: replayed, and another request under the key is refused.
    const replay = await order('retained', body);
    assert.equal(replay.statusCode, 201);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.json().id, first.json().id);
    assert.equal((await order('retained', { items: [{ productId, quantity: 3 }] })).json().error.code, 'IDEMPOTENCY_KEY_REUSED');

    // The Redis record ends (here: made to expire now); within the retention PostgreSQL's unique index still replays it.
    const before = await ordersOf();
    await t.platform.redis.pexpire(recordKey('retained'), 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fromDatabase = await order('retained', body);
    assert.equal(fromDatabase.statusCode, 201, fromDatabase.body);
    assert.equal(fromDatabase.json().id, first.json().id);
    assert.equal(await ordersOf(), before, 'no second order');

    // Past the retention (the order is older than it and the record has expired), the key starts afresh.
    await t.platform.db.primary.execute(sql`update orders set created_at = now() - make_interval(secs => ${RETENTION_S + 5}) where id = ${first.json().id}`);
    await t.platform.redis.pexpire(recordKey('retained'), 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fresh = await order('retained', body);
    assert.equal(fresh.statusCode, 201, fresh.body);
    assert.notEqual(fresh.json().id, first.json().id);
    assert.equal(await ordersOf(), before + 1);
  });

  it('refuses the key for another request when only PostgreSQL remembers it (Redis record lost), and still replays the first request', async () => {
    const stock = async () => (await t.platform.db.primary.execute<{ n: number }>(sql`select coalesce(sum(available), 0)::int as n from product_stock where product_id = ${productId}`)).rows[0]!.n;
    const first = await order('lost-then-other', { items: [{ productId, quantity: 1 }] });
    assert.equal(first.statusCode, 201, first.body);
    const [before, stockBefore] = [await ordersOf(), await stock()];

    // A Redis failover or restart loses the record; the order row keeps the key.
    await t.platform.redis.del(recordKey('lost-then-other'));
    for (const other of [{ items: [{ productId, quantity: 4 }] }, {}]) {
      if ('items' in other === false) {
        const put = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, headers: { cookie }, payload: { quantity: 2 } });
        assert.equal(put.statusCode, 200, put.body);
      }
      const reused = await order('lost-then-other', other);
      assert.equal(reused.statusCode, 422, `another request under the key must not get the first request's order: ${reused.body}`);
      assert.equal(reused.json().error.code, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(await ordersOf(), before);
      assert.equal(await stock(), stockBefore, 'nothing taken');
    }
    // The refusal did not take the key over: the first request's retry still gets its order.
    const retry = await order('lost-then-other', { items: [{ productId, quantity: 1 }] });
    assert.equal(retry.statusCode, 201, retry.body);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.json().id, first.json().id);
    assert.equal(await ordersOf(), before);
    await t.app.inject({ method: 'DELETE', url: '/api/v1/cart/items', headers: { cookie } });
  });

  it("keeps each guest's key to their email: two guests under one key get their own orders, never the other's, also when only PostgreSQL remembers them", async () => {
    const guestOrder = (email: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': 'shared-guest-key' }, payload: { email, items: [{ productId, quantity: 1 }] } });
    const ana = await guestOrder('ana@example.com');
    assert.equal(ana.statusCode, 201, ana.body);
    const ben = await guestOrder('ben@example.com');
    assert.equal(ben.statusCode, 201, ben.body);
    assert.equal(ben.headers['idempotent-replayed'], undefined, 'not a replay of the other guest');
    assert.notEqual(ben.json().id, ana.json().id);
    assert.notEqual(ben.json().accessToken, ana.json().accessToken);
    // The same guest in another letter case is the same buyer: a replay of their own order.
    const anaAgain = await guestOrder('ANA@example.com');
    assert.equal(anaAgain.headers['idempotent-replayed'], 'true');
    assert.equal(anaAgain.json().id, ana.json().id);
    await t.platform.redis.del(...(await t.platform.redis.keys(`${t.config.redis.prefix}:idem:guest:*`)));
    for (const [email, first] of [['ben@example.com', ben], ['ana@example.com', ana]] as const) {
      const retry = await guestOrder(email);
      assert.equal(retry.statusCode, 201, retry.body);
      assert.equal(retry.json().id, first.json().id, `${email} gets their own order`);
    }
  });

  it('refuses a guest\'s key for another request when only PostgreSQL remembers it', async () => {
    const email = 'Guest.Lost@example.com';
    const guestOrder = (payload: unknown) =>
      t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': 'guest-lost' }, payload: { email, ...(payload as object) } });
    const first = await guestOrder({ items: [{ productId, quantity: 1 }] });
    assert.equal(first.statusCode, 201, first.body);
    await t.platform.redis.del(...(await t.platform.redis.keys(`${t.config.redis.prefix}:idem:guest:*`)));
    const reused = await guestOrder({ items: [{ productId, quantity: 5 }] });
    assert.equal(reused.statusCode, 422, reused.body);
    assert.equal(reused.json().error.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(reused.json().accessToken, undefined, 'no access to the first order');
    const retry = await guestOrder({ items: [{ productId, quantity: 1 }] });
    assert.equal(retry.statusCode, 201, retry.body);
    assert.equal(retry.json().id, first.json().id);
  });
});

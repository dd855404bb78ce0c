import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies, orderIdsOf, unitsSold } from './helpers/commerce.ts';
import { request, type JsonReply } from './helpers/http.ts';
import { orderWithOutcomeLost, startInstancesBehindDatabaseProxy, type InstancesBehindDatabaseProxy } from './helpers/database-proxy.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import type { TcpProxy } from './helpers/tcp-proxy.ts';
import { createQueuedProduct } from './helpers/waiting-room.ts';

/**
 * The retry of an order whose first attempt's outcome was unknown (its PostgreSQL connection dropped: 503) gets the
 * order that attempt placed, even once the stock gate (checked before PostgreSQL) shows the product sold out. Two real
 * `salescale serve` processes whose database connections go through a TCP proxy the test can cut.
 */
describe('retry of an order whose outcome was unknown', () => {
  let t: TestApp;
  let behind: InstancesBehindDatabaseProxy;
  let proxy: TcpProxy;
  let a: Instance;
  let b: Instance;
  let env: Record<string, string>;

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_GENERAL_MAX: '1000000', RATE_LIMIT_CUSTOMER_MAX: '1000000', RATE_LIMIT_CHECKOUT_MAX: '1000000' });
    behind = await startInstancesBehindDatabaseProxy(t.env);
    ({ proxy, env } = behind);
    [a, b] = behind.instances as [Instance, Instance];
  });
  after(async () => {
    await behind?.stop();
    await t?.close();
  });

  async function customer(tag: string): Promise<{ customerId: number; cookie: string }> {
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, tag);
    const [cookie] = await mintSessionCookies(t.env, [customerId!]);
    return { customerId: customerId!, cookie: cookie! };
  }

  function order(on: Instance, who: { cookie: string }, key: string, productId: number): Promise<JsonReply> {
    return request(`${on.url}/api/v1/orders`, { method: 'POST', headers: { cookie: who.cookie, 'idempotency-key': key }, body: { items: [{ productId, quantity: 1 }] } });
  }

  it('replays the order that took the last unit although the stock gate shows the product sold out (retried on the other instance)', async () => {
    const productId = await createQueuedProduct(a.url, t.admin, { available: 1, skuPrefix: 'unknown-outcome' });
    const alice = await customer('unknown-outcome-alice');
    const bob = await customer('unknown-outcome-bob');
    const key = `last-unit-${productId}`;
    // place_order runs and commits; its reply never reaches instance a, whose connection then drops.
    const first = orderWithOutcomeLost(proxy, 'reply', () => order(a, alice, key, productId));
    const failed = await first;
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    const placed = await orderIdsOf(t.platform.db.primary, alice.customerId);
    assert.equal(placed.length, 1, 'the order was committed although its reply was lost');

    // The gate got the unit back (the attempt's outcome was unknown); Bob's order takes it there, PostgreSQL refuses
    // it, and the gate is rebuilt: sold out.
    const bobs = await order(b, bob, `bob-${productId}`, productId);
    assert.equal(bobs.status, 409, JSON.stringify(bobs.body));
    assert.equal(bobs.body.error.code, 'OUT_OF_STOCK');

    const retried = await order(b, alice, key, productId);
    assert.equal(retried.status, 201, `the retry replays the order placed under its key: ${JSON.stringify(retried.body)}`);
    assert.equal(retried.body.id, placed[0]);
    assert.equal(retried.headers.get('idempotent-replayed'), 'true');
    // And again, on either instance: the same order.
    for (const on of [a, b]) {
      const again = await order(on, alice, key, productId);
      assert.equal(again.status, 201, JSON.stringify(again.body));
      assert.equal(again.body.id, placed[0]);
    }
    assert.deepEqual(await orderIdsOf(t.platform.db.primary, alice.customerId), placed, 'one order in PostgreSQL');
    assert.equal(await unitsSold(t.platform.db.primary, productId), 1, 'nothing oversold');
  });

  it('still replays the order once a retry that took over the mark died mid-attempt and its lease ran out', async () => {
    const productId = await createQueuedProduct(a.url, t.admin, { available: 1, skuPrefix: 'unknown-outcome' });
    const fay = await customer('unknown-outcome-fay');
    const gus = await customer('unknown-outcome-gus');
    const key = `taker-dies-${productId}`;
    const first = orderWithOutcomeLost(proxy, 'reply', () => order(a, fay, key, productId));
    assert.equal((await first).status, 503);
    const placed = await orderIdsOf(t.platform.db.primary, fay.customerId);
    assert.equal(placed.length, 1, 'the order was committed although its reply was lost');
    assert.equal((await order(b, gus, `gus-${productId}`, productId)).status, 409, 'sold out at the gate');

    // Fay's retry goes to a third instance: it takes the mark over, the gate refuses it, and its process dies while it
    // asks PostgreSQL for the order under the key.
    const c = await startInstance({ env });
    let killed = false;
    try {
      const asking = proxy.holdOn('"orders"."idempotency_key" =', 'request');
      const retryOnC = order(c, fay, key, productId).catch(() => undefined);
      await asking;
      // Frozen first, so the held connection is reset while its peer is still there: resetting a proxy socket whose
      // peer (the killed process) had already reset it, before Node read that reset, left its handle never closed,
      // and the test process spun at exit (1 run in 5 never ended).
      c.process.kill('SIGSTOP');
      proxy.dropHeld();
      await c.stop('SIGKILL');
      killed = true;
      await retryOnC;
    } finally {
      if (!killed) await c.stop('SIGKILL');
    }

    // The dead taker holds the key until its lease runs out (IDEMPOTENCY_IN_PROGRESS until then). The lease is 60 s and
    // not configurable: rather than wait it out, the test moves the lease deadline its record keeps (on Redis' clock,
    // see the store's own test for a real expiry) to the past, the record's state once the 60 s have passed.
    const held409 = await order(b, fay, key, productId);
    assert.equal(held409.body.error?.code, 'IDEMPOTENCY_IN_PROGRESS', `the dead taker's lease still holds the key: ${JSON.stringify(held409.body)}`);
    const redis = t.platform.redis;
    const [recordKey, ...others] = await redis.keys(`${t.env.REDIS_PREFIX}:idem:customer:${fay.customerId}:*`);
    assert.ok(recordKey !== undefined && others.length === 0, 'one idempotency record for Fay');
    const record = JSON.parse((await redis.get(recordKey))!) as { u?: number; d?: number };
    assert.equal(record.u, 1, 'the dead taker ran under the mark of the unknown outcome');
    assert.equal(typeof record.d, 'number', "the record carries its taker's lease deadline");
    await redis.set(recordKey, JSON.stringify({ ...record, d: 0 }), 'KEEPTTL');

    // The next retry must still get Fay's order.
    const retried = await order(b, fay, key, productId);
    assert.equal(retried.status, 201, `the retry after the dead taker replays the order placed under its key: ${JSON.stringify(retried.body)}`);
    assert.equal(retried.body.id, placed[0]);
  });

  it('answers a retry under the key whose cart now holds other lines 422 IDEMPOTENCY_KEY_REUSED, not the first order, also when those lines are sold out', async () => {
    const first = await createQueuedProduct(a.url, t.admin, { available: 1, skuPrefix: 'unknown-outcome' });
    const other = await createQueuedProduct(a.url, t.admin, { available: 1, skuPrefix: 'unknown-outcome' });
    const hal = await customer('unknown-outcome-hal');
    const ivy = await customer('unknown-outcome-ivy');
    const key = `cart-changed-${first}`;
    const cartPut = (productId: number) =>
      request(`${a.url}/api/v1/cart/items/${productId}`, { method: 'PUT', headers: { cookie: hal.cookie }, body: { quantity: 1 } });
    const cartOrder = (on: Instance) => request(`${on.url}/api/v1/orders`, { method: 'POST', headers: { cookie: hal.cookie, 'idempotency-key': key }, body: {} });
    assert.equal((await cartPut(first)).status, 200);
    // The cart order commits; its reply is lost (503).
    const attempt = orderWithOutcomeLost(proxy, 'reply', () => cartOrder(a));
    assert.equal((await attempt).status, 503);
    const placed = await orderIdsOf(t.platform.db.primary, hal.customerId);
    assert.equal(placed.length, 1);

    // Hal's cart now holds another product, which another buyer sold out; he retries under the same key: another request.
    const removed = await request(`${a.url}/api/v1/cart/items/${first}`, { method: 'DELETE', headers: { cookie: hal.cookie } });
    assert.ok(removed.status < 300, JSON.stringify(removed.body));
    assert.equal((await cartPut(other)).status, 200);
    assert.equal((await order(b, ivy, `ivy-${other}`, other)).status, 201);
    const retried = await cartOrder(b);
    assert.equal(retried.status, 422, `a cart holding other lines is another request, never the first order: ${JSON.stringify(retried.body)}`);
    assert.equal(retried.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  });

  it("empties the cart of the order its retry replays: the attempt that placed it failed before emptying it, and the shopper must not be left with the ordered cart", async () => {
    const productId = await createQueuedProduct(a.url, t.admin, { available: 5, skuPrefix: 'unknown-outcome' });
    const jo = await customer('unknown-outcome-jo');
    const key = `cart-replayed-${productId}`;
    assert.equal((await request(`${a.url}/api/v1/cart/items/${productId}`, { method: 'PUT', headers: { cookie: jo.cookie }, body: { quantity: 1 } })).status, 200);
    const cartOrder = (on: Instance) => request(`${on.url}/api/v1/orders`, { method: 'POST', headers: { cookie: jo.cookie, 'idempotency-key': key }, body: {} });
    // The cart order commits; its reply is lost (503): the attempt ends before it empties the cart.
    const attempt = orderWithOutcomeLost(proxy, 'reply', () => cartOrder(a));
    assert.equal((await attempt).status, 503);
    const placed = await orderIdsOf(t.platform.db.primary, jo.customerId);
    assert.equal(placed.length, 1, 'the order was committed although its reply was lost');

    const retried = await cartOrder(b);
    assert.equal(retried.status, 201, JSON.stringify(retried.body));
    assert.equal(retried.body.id, placed[0]);
    const cart = await request(`${b.url}/api/v1/cart`, { headers: { cookie: jo.cookie } });
    assert.deepEqual(
      cart.body.items.map((line: { productId: number }) => line.productId),
      [],
      `the order ${placed[0]} is confirmed (201) but its cart still holds what it ordered: the next press orders it again under a new key`,
    );
  });

  it('counts the retry that replays the order (201) as placed, not as an out_of_stock attempt', async () => {
    const productId = await createQueuedProduct(a.url, t.admin, { available: 1, skuPrefix: 'unknown-outcome' });
    const kim = await customer('unknown-outcome-kim');
    const lou = await customer('unknown-outcome-lou');
    const key = `counted-${productId}`;
    const first = orderWithOutcomeLost(proxy, 'reply', () => order(a, kim, key, productId));
    assert.equal((await first).status, 503);
    // Instance b now knows the product sold out (its own refusal): it remembers it.
    assert.equal((await order(b, lou, `lou-${productId}`, productId)).status, 409);
    const attempts = async (): Promise<Record<string, number>> => {
      const text = await (await fetch(`${b.url}/metrics`)).text();
      const counts: Record<string, number> = {};
      for (const match of text.matchAll(/^salescale_checkout_attempts_total\{outcome="([a-z_]+)"[^}]*\} (\d+)/gm)) counts[match[1]!] = Number(match[2]);
      return counts;
    };
    const before = await attempts();
    const retried = await order(b, kim, key, productId);
    assert.equal(retried.status, 201, JSON.stringify(retried.body));
    const after = await attempts();
    const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]).filter(([, n]) => n !== 0));
    assert.deepEqual(delta, { placed: 1 }, `one request answered 201 (the order replayed) counted as ${JSON.stringify(delta)}`);
  });

  it('places the retry of an attempt that never reached PostgreSQL, or refuses it OUT_OF_STOCK when another buyer took the last unit', async () => {
    const productId = await createQueuedProduct(a.url, t.admin, { available: 1, skuPrefix: 'unknown-outcome' });
    const carol = await customer('unknown-outcome-carol');
    const dave = await customer('unknown-outcome-dave');
    const erin = await customer('unknown-outcome-erin');

    // Carol's first attempt never reaches PostgreSQL (the connection drops with the request); her retry is placed.
    const carolsFirst = orderWithOutcomeLost(proxy, 'request', () => order(a, carol, `carol-${productId}`, productId));
    assert.equal((await carolsFirst).status, 503);
    assert.deepEqual(await orderIdsOf(t.platform.db.primary, carol.customerId), []);
    const carols = await order(b, carol, `carol-${productId}`, productId);
    assert.equal(carols.status, 201, JSON.stringify(carols.body));
    assert.deepEqual(await orderIdsOf(t.platform.db.primary, carol.customerId), [carols.body.id]);

    // Dave's first attempt never reaches PostgreSQL either; the last unit is gone (Carol's): his retries are refused.
    const second = await createQueuedProduct(a.url, t.admin, { available: 1, skuPrefix: 'unknown-outcome' });
    const davesFirst = orderWithOutcomeLost(proxy, 'request', () => order(a, dave, `dave-${second}`, second));
    assert.equal((await davesFirst).status, 503);
    const erins = await order(a, erin, `erin-${second}`, second);
    assert.equal(erins.status, 201, JSON.stringify(erins.body));
    for (const on of [b, a]) {
      const retried = await order(on, dave, `dave-${second}`, second);
      assert.equal(retried.status, 409, JSON.stringify(retried.body));
      assert.equal(retried.body.error.code, 'OUT_OF_STOCK');
    }
    assert.deepEqual(await orderIdsOf(t.platform.db.primary, dave.customerId), []);
    assert.equal(await unitsSold(t.platform.db.primary, productId), 1);
    assert.equal(await unitsSold(t.platform.db.primary, second), 1);
  });
});

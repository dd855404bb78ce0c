import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { createSessionStore, SESSION_COOKIE } from '../src/modules/customers/index.ts';
import { insertCustomers, orderIdsOf, unitsSold } from './helpers/commerce.ts';
import { request, type JsonReply } from './helpers/http.ts';
import { orderWithOutcomeLost, startInstancesBehindDatabaseProxy, type InstancesBehindDatabaseProxy } from './helpers/database-proxy.ts';
import type { Instance } from './helpers/instances.ts';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.ts';
import type { TcpProxy } from './helpers/tcp-proxy.ts';
import { createQueuedProduct } from './helpers/waiting-room.ts';

/**
 * The retry of an order whose reply was lost, after Redis lost its data in between (restarted without persistence):
 * the key's record and its unknown-outcome mark are gone, and the stock gate, rebuilt from PostgreSQL, calls the
 * product sold out (the order took the last unit). Two real `salescale serve` processes behind a database proxy the
 * test can cut, on a private redis-server the test kills (SIGKILL) and starts again empty.
 */
describe('retry of an order whose reply was lost, after Redis lost its data', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  let behind: InstancesBehindDatabaseProxy;
  let proxy: TcpProxy;
  let a: Instance;
  let b: Instance;

  before(async () => {
    redis = await startPrivateRedis();
    t = await createTestApp({ REDIS_URL: redis.url, RATE_LIMIT_GENERAL_MAX: '1000000', RATE_LIMIT_CUSTOMER_MAX: '1000000', RATE_LIMIT_CHECKOUT_MAX: '1000000' });
    behind = await startInstancesBehindDatabaseProxy(t.env);
    ({ proxy } = behind);
    [a, b] = behind.instances as [Instance, Instance];
  });
  after(async () => {
    await behind?.stop();
    await t?.close();
    await redis?.destroy();
  });

  /** A session on the test's Redis (lost with it: the buyer signs in again after the loss). */
  async function signIn(customerId: number): Promise<string> {
    const store = createSessionStore({ redis: t.platform.redis, prefix: t.config.redis.prefix, secret: t.config.secrets.sessionSecret, ttlS: 3600 });
    return `${SESSION_COOKIE}=${await store.create(customerId)}`;
  }

  async function customer(tag: string): Promise<{ customerId: number; cookie: string }> {
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, tag);
    return { customerId: customerId!, cookie: await signIn(customerId!) };
  }

  function order(on: Instance, who: { cookie: string }, key: string, productId: number): Promise<JsonReply> {
    return request(`${on.url}/api/v1/orders`, { method: 'POST', headers: { cookie: who.cookie, 'idempotency-key': key }, body: { items: [{ productId, quantity: 1 }] } });
  }

  /** Sends `send` until it is not a 503 (the instances reconnecting to the restarted Redis), within a deadline. */
  async function onceRedisIsBack(send: (attempt: number) => Promise<JsonReply>): Promise<JsonReply> {
    const deadline = Date.now() + 20_000;
    for (let attempt = 0; ; attempt++) {
      const reply = await send(attempt);
      if (reply.status !== 503 || Date.now() > deadline) return reply;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('replays the order that took the last unit (201), while another buyer is still refused OUT_OF_STOCK', async () => {
    const productId = await createQueuedProduct(a.url, t.admin, { available: 1, skuPrefix: 'redis-loss' });
    const alice = await customer('redis-loss-alice');
    const bob = await customer('redis-loss-bob');
    const key = `lost-with-redis-${productId}`;
    // place_order commits; its reply never reaches instance a (503): the key is marked in Redis.
    const failed = await orderWithOutcomeLost(proxy, 'reply', () => order(a, alice, key, productId));
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    const placed = await orderIdsOf(t.platform.db.primary, alice.customerId);
    assert.equal(placed.length, 1, 'the order was committed although its reply was lost');

    // Redis dies and comes back empty: the mark, the records and the gate's figures are gone.
    await redis.stop('SIGKILL');
    await redis.start();
    for (const deadline = Date.now() + 20_000; t.platform.redis.status !== 'ready'; ) {
      assert.ok(Date.now() < deadline, 'the test connection came back to the restarted Redis');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    alice.cookie = await signIn(alice.customerId);
    bob.cookie = await signIn(bob.customerId);

    // Bob (a key of his own per attempt: a 503 while reconnecting marks it) is refused: the rebuilt gate is sold out.
    const bobs = await onceRedisIsBack((attempt) => order(b, bob, `bob-${productId}-${attempt}`, productId));
    assert.equal(bobs.status, 409, JSON.stringify(bobs.body));
    assert.equal(bobs.body.error.code, 'OUT_OF_STOCK');

    // Alice's retry, on either instance: her order, replayed.
    for (const on of [b, a]) {
      const retried = await onceRedisIsBack(() => order(on, alice, key, productId));
      assert.equal(retried.status, 201, `the retry replays the order placed under its key, not a refusal: ${JSON.stringify(retried.body)}`);
      assert.equal(retried.body.id, placed[0]);
      assert.equal(retried.headers.get('idempotent-replayed'), 'true');
    }
    // Another buyer is still refused, and refused again on a retry of his key.
    const bobAgain = await order(a, bob, `bob-${productId}-again`, productId);
    assert.equal(bobAgain.status, 409, JSON.stringify(bobAgain.body));
    assert.equal(bobAgain.body.error.code, 'OUT_OF_STOCK');
    assert.deepEqual(await orderIdsOf(t.platform.db.primary, alice.customerId), placed, 'one order for Alice');
    assert.deepEqual(await orderIdsOf(t.platform.db.primary, bob.customerId), [], 'none for Bob');
    assert.equal(await unitsSold(t.platform.db.primary, productId), 1, 'nothing oversold');
  });
});

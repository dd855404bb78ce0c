import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { request, type JsonReply } from './helpers/http.ts';
import { orderWithOutcomeLost, startInstancesBehindDatabaseProxy, type InstancesBehindDatabaseProxy } from './helpers/database-proxy.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { openSse } from './helpers/sse.ts';
import type { TcpProxy } from './helpers/tcp-proxy.ts';
import { createQueuedProduct, createQueuedSale } from './helpers/waiting-room.ts';

/**
 * Spent passes live in PostgreSQL (`waiting_room_spent_passes`), on two real `salescale serve` processes
 * whose database connections go through a TCP proxy the test can cut. (What a Redis loss leaves of them:
 * test/waiting-room-redis-loss.test.ts.)
 */
describe('waiting-room passes spent in PostgreSQL', () => {
  let t: TestApp;
  let behind: InstancesBehindDatabaseProxy;
  let proxy: TcpProxy;
  let a: Instance;
  let b: Instance;
  const instances = () => [a, b];
  let address = 0;
  const nextAddress = () => {
    address += 1;
    return `10.78.${(address >> 8) & 255}.${address & 255}`;
  };

  before(async () => {
    t = await createTestApp({
      RATE_LIMIT_GENERAL_MAX: '1000000',
      RATE_LIMIT_CUSTOMER_MAX: '1000000',
      RATE_LIMIT_SALE_MAX: '1000000',
      RATE_LIMIT_CHECKOUT_MAX: '1000000',
      TRUST_PROXY: '127.0.0.1',
      WAITING_ROOM_EVENTS_REFRESH_MS: '200',
      WAITING_ROOM_TICK_MS: '50',
    });
    behind = await startInstancesBehindDatabaseProxy(t.env);
    proxy = behind.proxy;
    [a, b] = behind.instances as [Instance, Instance];
  });
  after(async () => {
    await behind?.stop();
    await t?.close();
  });

  /** A queued sale of one new product with `available` units, live now and admitting 50 visitors a second. */
  async function createSale(available: number): Promise<{ eventId: number; productId: number }> {
    const productId = await createQueuedProduct(a.url, t.admin, { available, skuPrefix: 'spent' });
    const eventId = await createQueuedSale(b.url, t.admin, instances(), { productIds: [productId], startsInMs: 0, admissionPerSecond: 50 });
    return { eventId, productId };
  }

  /** A signed-in customer who joins the line and is admitted: their cookies (session and visitor) and pass. */
  async function admittedCustomer(eventId: number, tag: string): Promise<{ customerId: number; cookie: string; visitorCookie: string; pass: string }> {
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, tag);
    const [session] = await mintSessionCookies(t.env, [customerId!]);
    const headers = { 'x-forwarded-for': nextAddress(), cookie: session! };
    const joined = await request(`${a.url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    const visitorCookie = joined.headers.getSetCookie().find((c) => c.startsWith('salescale_visitor='))!.split(';')[0]!;
    const cookie = `${session}; ${visitorCookie}`;
    const stream = await openSse(`${b.url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(joined.body.ticket)}/events`, { ...headers, cookie });
    const admitted = await stream.next((m) => m.data.state === 'admitted', 15_000);
    stream.close();
    return { customerId: customerId!, cookie, visitorCookie, pass: admitted.data.pass as string };
  }

  function order(on: Instance, o: { cookie: string; pass: string; key: string; items: { productId: number; quantity: number }[]; email?: string }): Promise<JsonReply> {
    return request(`${on.url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie: o.cookie, 'idempotency-key': o.key, 'waiting-room-pass': o.pass },
      body: { items: o.items, ...(o.email ? { email: o.email } : {}) },
    });
  }

  async function spentRows(eventId: number): Promise<string[]> {
    const rows = await t.platform.db.primary.execute<{ order_ref: string }>(sql`select order_ref from waiting_room_spent_passes where sale_event_id = ${eventId}`);
    return rows.rows.map((r) => r.order_ref);
  }

  async function ordersOf(productId: number): Promise<number> {
    const rows = await t.platform.db.primary.execute<{ n: string }>(sql`select count(distinct order_id) as n from order_items where product_id = ${productId}`);
    return Number(rows.rows[0]!.n);
  }

  it('sells one order to twenty copies of one pass presented at once on both instances: one row, one order', async () => {
    const { eventId, productId } = await createSale(100);
    const alice = await admittedCustomer(eventId, 'copies');
    // Alice's own tabs (her session) and guests holding her visitor cookie with fresh emails, all different orders.
    const attempts = Array.from({ length: 20 }, (_, i) => ({
      on: instances()[i % 2]!,
      cookie: i < 10 ? alice.cookie : alice.visitorCookie,
      email: i < 10 ? undefined : `copy-${eventId}-${i}@example.com`,
      key: `copy-${eventId}-${i}`,
    }));
    const replies = await Promise.all(attempts.map((x) => order(x.on, { ...x, pass: alice.pass, items: [{ productId, quantity: 1 }] })));
    const outcomes = replies.map((r) => (r.status === 201 ? 201 : `${r.status} ${r.body?.error?.code}`));
    assert.equal(outcomes.filter((o) => o === 201).length, 1, `one order per pass: ${outcomes.join(', ')}`);
    assert.deepEqual(
      outcomes.filter((o) => o !== 201),
      Array.from({ length: 19 }, () => '403 PASS_USED'),
    );
    // The one row names the order that bought (its idempotency scope and key).
    const winner = attempts[outcomes.indexOf(201)]!;
    assert.deepEqual(await spentRows(eventId), [`${winner.email ? `guest:${winner.email}` : `customer:${alice.customerId}`} ${winner.key}`]);
    assert.equal(await ordersOf(productId), 1, 'one order of the queued product in PostgreSQL');
  });

  it('gives the pass back when the order it was spent on is refused (out of stock, a product that does not exist)', async () => {
    const { eventId, productId } = await createSale(5);
    const bob = await admittedCustomer(eventId, 'give-back');
    // The first attempt at this product on instance a: no remembered shortage, so the pass is spent, then the stock gate refuses.
    const tooMany = await order(a, { cookie: bob.cookie, pass: bob.pass, key: `too-many-${eventId}`, items: [{ productId, quantity: 6 }] });
    assert.equal(tooMany.status, 409, JSON.stringify(tooMany.body));
    assert.equal(tooMany.body.error.code, 'OUT_OF_STOCK');
    assert.deepEqual(await spentRows(eventId), [], 'given back after OUT_OF_STOCK');

    // The queued product needs the pass; the other line names no product.
    const unknown = await order(b, { cookie: bob.cookie, pass: bob.pass, key: `unknown-${eventId}`, items: [{ productId, quantity: 1 }, { productId: 2_000_000_000, quantity: 1 }] });
    assert.equal(unknown.status, 422, JSON.stringify(unknown.body));
    assert.equal(unknown.body.error.code, 'UNKNOWN_PRODUCT');
    assert.deepEqual(await spentRows(eventId), [], 'given back after UNKNOWN_PRODUCT');

    // Still good for an order, on either instance.
    const bought = await order(a, { cookie: bob.cookie, pass: bob.pass, key: `bought-${eventId}`, items: [{ productId, quantity: 2 }] });
    assert.equal(bought.status, 201, JSON.stringify(bought.body));
    assert.deepEqual(await spentRows(eventId), [`customer:${bob.customerId} bought-${eventId}`]);
    assert.equal(await ordersOf(productId), 1);
  });

  it('keeps the pass on an order whose outcome is unknown (committed, then the connection dropped): no second order with it, the same order’s retry replays', async () => {
    const { eventId, productId } = await createSale(10);
    const dave = await admittedCustomer(eventId, 'unknown-outcome');
    // place_order runs and commits; its reply never reaches the instance, whose connection then drops.
    const first = orderWithOutcomeLost(proxy, 'reply', () => order(a, { cookie: dave.cookie, pass: dave.pass, key: `lost-reply-${eventId}`, items: [{ productId, quantity: 1 }] }));
    const failed = await first;
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.equal(await ordersOf(productId), 1, 'the order was committed although its reply was lost');
    assert.deepEqual(await spentRows(eventId), [`customer:${dave.customerId} lost-reply-${eventId}`], 'the pass stays on that order');

    const another = await order(b, { cookie: dave.cookie, pass: dave.pass, key: `second-${eventId}`, items: [{ productId, quantity: 1 }] });
    assert.equal(another.status, 403, JSON.stringify(another.body));
    assert.equal(another.body.error.code, 'PASS_USED');
    const retried = await order(b, { cookie: dave.cookie, pass: dave.pass, key: `lost-reply-${eventId}`, items: [{ productId, quantity: 1 }] });
    assert.equal(retried.status, 201, JSON.stringify(retried.body));
    assert.equal(retried.headers.get('idempotent-replayed'), 'true');
    assert.equal(await ordersOf(productId), 1, 'one order bought with the pass');
  });

  it("keeps a guest's email out of the log line of an order whose outcome is unknown (personal data, as the logger keeps statement parameters out)", async () => {
    const { eventId, productId } = await createSale(10);
    const host = await admittedCustomer(eventId, 'guest-log');
    const email = `guest-log-${eventId}-${Date.now()}@example.com`;
    const key = `guest-lost-reply-${eventId}`;
    // A third instance behind the same proxy, logging at warn (the pair's logs are silenced).
    const logged = await startInstance({ env: { ...behind.env, LOG_LEVEL: 'warn' } });
    try {
      const first = orderWithOutcomeLost(proxy, 'reply', () => order(logged, { cookie: host.visitorCookie, pass: host.pass, key, items: [{ productId, quantity: 1 }], email }));
      const failed = await first;
      assert.equal(failed.status, 503, JSON.stringify(failed.body));
      const deadline = Date.now() + 10_000;
      while (!logged.output().includes('order outcome unknown') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const line = logged.output().split('\n').find((l) => l.includes('order outcome unknown'));
      assert.ok(line, `the instance logged the order whose outcome is unknown: ${logged.output().slice(-2000)}`);
      assert.equal(line.includes(email), false, `the guest's email is in the log: ${line}`);
    } finally {
      await logged.stop();
    }
  });

  async function ordersOfCustomer(customerId: number): Promise<number> {
    const rows = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from orders where customer_id = ${customerId}`);
    return Number(rows.rows[0]!.n);
  }

  it('gives the pass back when the retry of an order whose outcome was unknown is refused and the order was never placed; the pass then buys one order, however many press at once', async () => {
    const { eventId, productId } = await createSale(1);
    const erin = await admittedCustomer(eventId, 'retry-refused');
    const frank = await admittedCustomer(eventId, 'retry-refused-other');
    const key = `never-placed-${eventId}`;
    // place_order never reaches PostgreSQL: the connection drops with the request, so the outcome is unknown to the instance.
    const first = orderWithOutcomeLost(proxy, 'request', () => order(a, { cookie: erin.cookie, pass: erin.pass, key, items: [{ productId, quantity: 1 }] }));
    const failed = await first;
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.equal(await ordersOfCustomer(erin.customerId), 0, 'never placed');
    assert.deepEqual(await spentRows(eventId), [`customer:${erin.customerId} ${key}`], 'the pass stays on the order whose outcome is unknown');

    // Meanwhile Frank buys the last unit; Erin's retry with the same key is refused: not placed.
    const franks = await order(a, { cookie: frank.cookie, pass: frank.pass, key: `frank-${eventId}`, items: [{ productId, quantity: 1 }] });
    assert.equal(franks.status, 201, JSON.stringify(franks.body));
    const retried = await order(b, { cookie: erin.cookie, pass: erin.pass, key, items: [{ productId, quantity: 1 }] });
    assert.equal(retried.status, 409, JSON.stringify(retried.body));
    assert.equal(retried.body.error.code, 'OUT_OF_STOCK');
    assert.deepEqual(await spentRows(eventId), [`customer:${frank.customerId} frank-${eventId}`], "Erin's pass given back after her retry's refusal, as after a first refusal");

    // Frank cancels: the unit is back. Erin presses with her pass on both instances at once, new keys and the old one.
    const cancelled = await request(`${a.url}/api/v1/orders/${franks.body.id}/cancel`, { method: 'POST', headers: { cookie: frank.cookie } });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    const rush = await Promise.all(
      Array.from({ length: 8 }, (_, i) => order(instances()[i % 2]!, { cookie: erin.cookie, pass: erin.pass, key: i < 2 ? key : `rush-${eventId}-${i}`, items: [{ productId, quantity: 1 }] })),
    );
    const outcomes = rush.map((r) => (r.status === 201 ? 201 : `${r.status} ${r.body?.error?.code}`));
    assert.equal(outcomes.filter((o) => o === 201).length, 1, `one order for the pass: ${outcomes.join(', ')}`);
    assert.equal(await ordersOfCustomer(erin.customerId), 1, 'one order of Erin in PostgreSQL');
    const winner = rush.findIndex((r) => r.status === 201);
    assert.deepEqual((await spentRows(eventId)).sort(), [`customer:${erin.customerId} ${winner < 2 ? key : `rush-${eventId}-${winner}`}`, `customer:${frank.customerId} frank-${eventId}`].sort());
  });

  it('keeps the pass on an order that was placed although its reply was lost, when a retry with its key is refused (sold out since): no second order with it', async () => {
    const { eventId, productId } = await createSale(1);
    const gail = await admittedCustomer(eventId, 'placed-then-refused');
    const key = `placed-lost-${eventId}`;
    const first = orderWithOutcomeLost(proxy, 'reply', () => order(a, { cookie: gail.cookie, pass: gail.pass, key, items: [{ productId, quantity: 1 }] }));
    assert.equal((await first).status, 503);
    assert.equal(await ordersOfCustomer(gail.customerId), 1, 'committed although its reply was lost');
    // Her retry is refused by the gate (the order took the last unit): it must not free the pass of the order placed.
    const retried = await order(b, { cookie: gail.cookie, pass: gail.pass, key, items: [{ productId, quantity: 1 }] });
    assert.notEqual(retried.status, 503, JSON.stringify(retried.body));
    assert.deepEqual(await spentRows(eventId), [`customer:${gail.customerId} ${key}`]);
    const another = await order(a, { cookie: gail.cookie, pass: gail.pass, key: `second-${eventId}`, items: [{ productId, quantity: 1 }] });
    assert.equal(another.status, 403, JSON.stringify(another.body));
    assert.equal(another.body.error.code, 'PASS_USED');
    assert.equal(await ordersOfCustomer(gail.customerId), 1);
  });

  it('answers 503 with a database code, never 500, when PostgreSQL cannot be reached to spend the pass; the pass is not spent', async () => {
    const { eventId, productId } = await createSale(10);
    const carol = await admittedCustomer(eventId, 'outage');
    const attempt = (on: Instance) => order(on, { cookie: carol.cookie, pass: carol.pass, key: `outage-${eventId}`, items: [{ productId, quantity: 1 }] });
    await proxy.cut();
    try {
      for (const on of instances()) {
        const reply = await attempt(on);
        assert.equal(reply.status, 503, JSON.stringify(reply.body));
        assert.match(reply.body.error.code, /^DATABASE_(UNAVAILABLE|BUSY)$/);
        assert.match(String(reply.headers.get('retry-after')), /^[1-9]\d*$/);
      }
    } finally {
      await proxy.restore();
    }
    // The same order retried once the database is back (a 503 is not stored against its key) buys with the pass.
    for (const deadline = Date.now() + 30_000; ; ) {
      const reply = await attempt(a);
      if (reply.status === 201) break;
      assert.equal(reply.status, 503, JSON.stringify(reply.body));
      assert.ok(Date.now() < deadline, 'the order never went through once PostgreSQL was back');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(await spentRows(eventId), [`customer:${carol.customerId} outage-${eventId}`]);
  });
});

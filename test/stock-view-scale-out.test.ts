import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies, workerExpiryFor } from './helpers/commerce.ts';
import { request, type JsonReply } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';

/**
 * Units given back on one process are sold at once on every web instance, although each instance remembers the
 * gate's figure per product for STOCK_VIEW_REFRESH_MS (stock-view-notices.ts). Two real `salescale serve`
 * processes on one PostgreSQL and Redis; the worker's expiry sweep runs in this process (`workerExpiryFor`).
 */
const LIMITS = {
  RATE_LIMIT_GENERAL_MAX: '1000000',
  RATE_LIMIT_CUSTOMER_MAX: '1000000',
  RATE_LIMIT_CHECKOUT_MAX: '1000000',
  PAYMENT_WINDOW_S: '600',
};
const PAYMENT_WINDOW_S = 600;
/**
 * How long an instance may take to sell a unit another one gave back, told by a notice: one arrives within
 * milliseconds, so 20 s is ample on a loaded machine, and it is still a third of the 60 s stock view memory (below)
 * that alone could not explain the sale.
 */
const NOTICE_MS = 20_000;

async function twoInstances(refreshMs: number): Promise<{ t: TestApp; a: Instance; b: Instance; cookies: string[] }> {
  const t = await createTestApp({ ...LIMITS, STOCK_VIEW_REFRESH_MS: String(refreshMs) });
  const env = { ...t.env, DB_POOL_MAX: '5', LOG_LEVEL: process.env.DEBUG_INSTANCES ? 'warn' : 'silent' };
  const [a, b] = await Promise.all([startInstance({ env }), startInstance({ env })]);
  const cookies = await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 20, `sv${refreshMs}`));
  return { t, a, b, cookies };
}

let keys = 0;
const buy = (on: Instance, cookie: string, productId: number): Promise<JsonReply> =>
  request(`${on.url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': `sv-${process.pid}-${++keys}` }, body: { items: [{ productId, quantity: 1 }] } });

async function createProduct(t: TestApp, on: Instance, sku: string, available: number): Promise<number> {
  const created = await request(`${on.url}/api/v1/admin/products`, { method: 'POST', headers: t.admin, body: { sku: `${sku}-${process.pid}`, name: sku, priceCents: 100, available } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id as number;
}

/** Orders on `on` until one is placed or `withinMs` passed; the last reply. */
async function buyWithin(on: Instance, cookie: string, productId: number, withinMs: number): Promise<{ reply: JsonReply; tookMs: number }> {
  const started = Date.now();
  for (;;) {
    const reply = await buy(on, cookie, productId);
    if (reply.status === 201 || Date.now() - started > withinMs) return { reply, tookMs: Date.now() - started };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function soldOutOn(on: Instance, cookie: string, productId: number): Promise<void> {
  const refused = await buy(on, cookie, productId);
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'OUT_OF_STOCK', JSON.stringify(refused.body));
}

const backdate = (t: TestApp, orderId: number) =>
  t.platform.db.primary.execute(sql`update orders set created_at = created_at - make_interval(secs => ${PAYMENT_WINDOW_S + 60}) where id = ${orderId}`);

describe('units given back, on two instances with a long stock view memory', () => {
  let t: TestApp;
  let a: Instance;
  let b: Instance;
  let cookies: string[];
  before(async () => {
    // 60 s of memory: only the notice can explain a sale on the other instance within NOTICE_MS.
    ({ t, a, b, cookies } = await twoInstances(60_000));
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    if (process.env.DEBUG_INSTANCES) console.log(a?.output(), b?.output());
    await t?.close();
  });

  it('sells on instance B at once the unit an order cancelled on instance A gave back', async () => {
    const productId = await createProduct(t, a, 'sv-cancel', 1);
    const first = await buy(a, cookies[0]!, productId);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await soldOutOn(b, cookies[1]!, productId); // B's view now says 0
    const cancelled = await request(`${a.url}/api/v1/orders/${first.body.id}/cancel`, { method: 'POST', headers: { cookie: cookies[0]! } });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    const { reply, tookMs } = await buyWithin(b, cookies[1]!, productId, NOTICE_MS);
    assert.equal(reply.status, 201, `B still refused the unit ${tookMs} ms after the cancellation: ${JSON.stringify(reply.body)}`);
    await soldOutOn(a, cookies[2]!, productId);
  });

  it("sells on both instances at once the units the worker's expiry sweep gave back", async () => {
    const productId = await createProduct(t, a, 'sv-expiry', 2);
    const placed = [await buy(a, cookies[3]!, productId), await buy(b, cookies[4]!, productId)];
    for (const order of placed) assert.equal(order.status, 201, JSON.stringify(order.body));
    await soldOutOn(a, cookies[5]!, productId);
    await soldOutOn(b, cookies[6]!, productId);
    for (const order of placed) await backdate(t, order.body.id);
    assert.equal(await workerExpiryFor(t, PAYMENT_WINDOW_S).sweepOnce(), 2);
    for (const [on, cookie] of [[b, cookies[6]!], [a, cookies[5]!]] as const) {
      const { reply, tookMs } = await buyWithin(on, cookie, productId, NOTICE_MS);
      assert.equal(reply.status, 201, `an instance still refused a unit ${tookMs} ms after the expiry: ${JSON.stringify(reply.body)}`);
    }
    await soldOutOn(b, cookies[7]!, productId);
  });

  it('sells on instance B at once the unit an order that failed in PostgreSQL on instance A released from the gate', async () => {
    const productId = await createProduct(t, a, 'sv-release', 1);
    // Hold the product's stock rows so A's order waits in PostgreSQL with its unit reserved in the gate.
    const holder = await t.platform.db.pools.primary.connect();
    let failed: JsonReply;
    try {
      await holder.query('begin');
      await holder.query('select * from product_stock where product_id = $1 for update', [productId]);
      const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const stuck = buy(a, cookies[8]!, productId);
      const stuckOrders = () =>
        t.platform.db.primary.execute<{ n: number }>(
          sql`select count(*)::int as n from pg_stat_activity where ${holderPid}::int = any(pg_blocking_pids(pid)) and query like '%place_order%'`,
        );
      for (const deadline = Date.now() + 30_000; (await stuckOrders()).rows[0]!.n !== 1; ) {
        assert.ok(Date.now() < deadline, "A's order did not reach PostgreSQL within 30 s");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      // B reads the gate while A's unit is reserved: its view remembers "sold out" (60 s).
      await soldOutOn(b, cookies[9]!, productId);
      // A's statement fails (not committed): A releases the reservation.
      await t.platform.db.primary.execute(
        sql`select pg_cancel_backend(pid) from pg_stat_activity where ${holderPid}::int = any(pg_blocking_pids(pid)) and query like '%place_order%'`,
      );
      failed = await stuck;
      await holder.query('rollback');
    } finally {
      holder.release();
    }
    assert.notEqual(failed.status, 201, JSON.stringify(failed.body));
    const { reply, tookMs } = await buyWithin(b, cookies[9]!, productId, NOTICE_MS);
    assert.equal(reply.status, 201, `B still refused the unit ${tookMs} ms after A's failed order released it: ${JSON.stringify(reply.body)}`);
    await soldOutOn(a, cookies[10]!, productId);
  });

  it("sells on instance B at once the unit a rebuilt gate freed from a dead process's expired reservation", async () => {
    const productId = await createProduct(t, a, 'sv-rebuild', 1);
    // The gate as a process that reserved the unit and died before releasing it left it (no instance has read the product
    // yet, so neither remembers it); the reservation's time has run out since.
    const base = `{${t.env.REDIS_PREFIX}}:stock:${productId}`;
    const redis = t.platform.redis;
    await redis.multi().hset(`${base}:r`, `dead-${process.pid}`, `1:${Date.now() - 1}`).set(`${base}:a`, 0).incr(`${base}:v`).exec();
    await soldOutOn(b, cookies[11]!, productId); // B's view now says 0
    // The figure expires (STOCK_GATE_TTL_S); A's next read rebuilds it from PostgreSQL without the dead reservation.
    await redis.del(`${base}:a`);
    const rebuilt = await request(`${a.url}/api/v1/products/${productId}`);
    assert.equal(rebuilt.body.available, 1, JSON.stringify(rebuilt.body));
    const { reply, tookMs } = await buyWithin(b, cookies[11]!, productId, NOTICE_MS);
    assert.equal(reply.status, 201, `B still refused the unit ${tookMs} ms after the gate was rebuilt with it: ${JSON.stringify(reply.body)}`);
    await soldOutOn(a, cookies[12]!, productId);
  });
});

describe('a notice lost on its way (pub/sub is at most once)', () => {
  let t: TestApp;
  let a: Instance;
  let b: Instance;
  let cookies: string[];
  const REFRESH_MS = 1500;
  before(async () => {
    ({ t, a, b, cookies } = await twoInstances(REFRESH_MS));
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await t?.close();
  });

  it('sells the units within STOCK_VIEW_REFRESH_MS all the same, and never more than there are', async () => {
    const STOCK = 3;
    const productId = await createProduct(t, a, 'sv-lost', STOCK);
    const placed = [];
    for (let i = 0; i < STOCK; i++) placed.push(await buy(a, cookies[i]!, productId));
    for (const order of placed) assert.equal(order.status, 201, JSON.stringify(order.body));
    await soldOutOn(b, cookies[STOCK]!, productId);
    for (const order of placed) await backdate(t, order.body.id);
    // The sweep publishes nothing: as if its message were lost.
    assert.equal(await workerExpiryFor(t, PAYMENT_WINDOW_S, { notices: false }).sweepOnce(), STOCK);

    const { reply, tookMs } = await buyWithin(b, cookies[STOCK]!, productId, 10 * REFRESH_MS);
    assert.equal(reply.status, 201, `B refused a unit given back ${tookMs} ms after: ${JSON.stringify(reply.body)}`);
    // Every buyer left presses on both instances at once: exactly the 2 other units are sold.
    const rush = await Promise.all(cookies.slice(STOCK + 1).map((cookie, i) => buy(i % 2 === 0 ? a : b, cookie, productId)));
    const statuses = rush.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, STOCK - 1, `rush: ${statuses.join(',')}`);
    assert.ok(statuses.every((s) => s === 201 || s === 409), `rush: ${statuses.join(',')}`);
    const stock = await t.platform.db.primary.execute<{ available: string; held: string }>(sql`
      select (select coalesce(sum(available), 0) from product_stock where product_id = ${productId}) as available,
             (select coalesce(sum(oi.quantity), 0) from order_items oi join orders o on o.id = oi.order_id
               where oi.product_id = ${productId} and o.status not in ('expired', 'cancelled')) as held`);
    assert.deepEqual({ available: Number(stock.rows[0]!.available), held: Number(stock.rows[0]!.held) }, { available: 0, held: STOCK });
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { TEST_REDIS_URL } from './helpers/db.ts';
import { waitFor } from './helpers/queues.ts';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.ts';

/**
 * The stock gate when the app's connection to Redis fails at the worst moment: a reservation applied
 * whose reply never comes back, an invalidation sent while Redis is unreachable. The app talks to the
 * machine's Redis through a real TCP proxy that holds replies or cuts connections; the gate itself is
 * read directly (not through the proxy). The claim: once Redis is reachable again, every unit
 * PostgreSQL holds is sellable again, without waiting for the gate's expiry (`STOCK_GATE_TTL_S`).
 */
describe('stock gate under lost Redis replies', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  let cookies: string[];

  before(async () => {
    proxy = await startTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379));
    t = await createTestApp({ REDIS_URL: proxy.url, STOCK_SHARDS: '4', STOCK_GATE_TTL_S: '3600', STOCK_VIEW_REFRESH_MS: '0' });
    cookies = await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 6, 'gate-fault'));
  });
  after(async () => {
    await proxy?.restore();
    await t?.close();
    await proxy?.close();
  });

  async function product(available: number): Promise<number> {
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `gf-${randomUUID()}`, name: 'G', priceCents: 100, available } });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json().id;
  }

  function order(cookie: string, productId: number, quantity = 1) {
    return t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': randomUUID() }, payload: { items: [{ productId, quantity }] } });
  }

  async function stockLeft(productId: number): Promise<number> {
    const result = await t.platform.db.primary.execute<{ n: string }>(sql`select coalesce(sum(available), 0) as n from product_stock where product_id = ${productId}`);
    return Number(result.rows[0]!.n);
  }

  /** The gate as Redis holds it, read around the proxy. */
  async function gateOf(productId: number): Promise<{ figure: number | null; inFlight: number }> {
    const { Redis } = await import('ioredis');
    const direct = new Redis(TEST_REDIS_URL);
    try {
      const base = `{${t.config.redis.prefix}}:stock:${productId}`;
      const [figure, inFlight] = await Promise.all([direct.get(`${base}:a`), direct.hlen(`${base}:r`)]);
      return { figure: figure === null ? null : Number(figure), inFlight };
    } finally {
      direct.disconnect();
    }
  }

  async function redisReady(): Promise<void> {
    await waitFor('Redis to be ready again', () => t.platform.redis.status === 'ready', 15_000);
  }

  /** Polls until `check` passes or `ms` elapse (background repairs are asynchronous, and slower on a loaded machine). */
  async function eventually(check: () => Promise<void>, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        return await check();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  it('gives back a reservation whose reply was lost with the connection: every unit stays sellable', async () => {
    const id = await product(3);
    // Build the gate first, so that the next chunk naming the product's keys is the reservation itself.
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/products/${id}` })).json().available, 3);
    const held = proxy.holdOn(`:stock:${id}:a`, 'reply');
    const pending = order(cookies[0]!, id);
    await held; // Redis applied the reservation; its reply is held
    proxy.dropHeld(); // and the connection drops before the reply arrives
    const reply = await pending;
    assert.equal(reply.statusCode, 503, reply.body);
    assert.equal(reply.json().error.code, 'CHECKOUT_UNAVAILABLE', reply.body);
    await redisReady();

    assert.equal(await stockLeft(id), 3, 'nothing was sold');
    await eventually(async () => assert.deepEqual(await gateOf(id), { figure: 3, inFlight: 0 }, 'the gate holds every unit PostgreSQL holds, and no reservation'));
    const bought = await Promise.all([0, 1, 2].map((i) => order(cookies[i + 1]!, id)));
    assert.deepEqual(
      bought.map((r) => r.statusCode),
      [201, 201, 201],
      bought.map((r) => r.body).join('\n'),
    );
    assert.equal(await stockLeft(id), 0);
  });

  it('puts units given back by a cancellation on sale again when the gate was unreachable at that moment', async () => {
    const id = await product(2);
    const first = await order(cookies[4]!, id, 2);
    assert.equal(first.statusCode, 201, first.body);
    assert.equal((await order(cookies[5]!, id)).json().error.code, 'OUT_OF_STOCK');

    await proxy.cut();
    const cancelled = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${first.json().id}/cancel`, headers: t.admin });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(await stockLeft(id), 2, 'PostgreSQL has the units back');
    await proxy.restore();
    await redisReady();

    // Dropped (rebuilt from PostgreSQL at its next use) or already rebuilt: never the figure before the cancellation.
    await eventually(async () => {
      const gate = await gateOf(id);
      assert.ok(gate.figure === null || gate.figure === 2, `the gate follows PostgreSQL once Redis is back (figure ${gate.figure}, PostgreSQL 2)`);
    });
    const again = await order(cookies[5]!, id, 2);
    assert.equal(again.statusCode, 201, again.body);
  });
});

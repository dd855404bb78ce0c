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
 * An admin's catalog write that PostgreSQL committed while Redis (caches, the stock gate) was unreachable:
 * the reply says what was done, the audit trail records it, and once Redis is back the shop sells by it.
 * The app talks to the machine's Redis through a real TCP proxy that cuts every connection.
 */
describe('admin catalog writes while Redis is unreachable', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  let cookies: string[];

  before(async () => {
    proxy = await startTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379));
    t = await createTestApp({ REDIS_URL: proxy.url, CACHE_REDIS_URL: proxy.url, STOCK_GATE_TTL_S: '3600', STOCK_VIEW_REFRESH_MS: '0' });
    cookies = await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 3, 'catalog-outage'));
  });
  after(async () => {
    await proxy?.restore();
    await t?.close();
    await proxy?.close();
  });

  async function product(available: number, status = 'active'): Promise<number> {
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `co-${randomUUID()}`, name: 'C', priceCents: 100, available, status } });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json().id;
  }

  function order(cookie: string, productId: number, quantity = 1) {
    return t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': randomUUID() }, payload: { items: [{ productId, quantity }] } });
  }

  async function redisReady(): Promise<void> {
    for (const redis of [t.platform.redis, t.platform.cacheRedis]) await waitFor(`Redis (${redis.options.connectionName}) to be ready again`, () => redis.status === 'ready', 15_000);
  }

  /** The changes audited for `productId` after its create (which records every field, null → value). */
  async function audited(productId: number): Promise<unknown[]> {
    const rows = await t.platform.db.primary.execute<{ change: unknown }>(sql`select change from admin_actions where product_id = ${productId} and change is not null and route <> '/api/v1/admin/products' order by id`);
    return rows.rows.map((row) => row.change);
  }

  /** Polls until `check` passes or `ms` elapse (the audit row is written after the reply, later on a loaded machine). */
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

  it('answers an archive and a stock count PostgreSQL committed with the product as changed, audits both, and sells by them once Redis is back', async () => {
    const archivedId = await product(5);
    const countedId = await product(5);
    // Build both gates first: the figures an admin's change must replace.
    for (const id of [archivedId, countedId]) assert.equal((await t.app.inject({ url: `/api/v1/products/${id}` })).json().available, 5);

    await proxy.cut();
    const archived = await t.app.inject({ method: 'POST', url: `/api/v1/admin/products/${archivedId}/archive`, headers: t.admin });
    const counted = await t.app.inject({ method: 'PUT', url: `/api/v1/admin/products/${countedId}/stock`, headers: t.admin, payload: { available: 1 } });
    await proxy.restore();
    await redisReady();

    assert.equal(archived.statusCode, 200, archived.body);
    assert.equal(archived.json().status, 'archived');
    assert.equal(counted.statusCode, 200, counted.body);
    assert.equal(counted.json().available, 1);
    await eventually(async () => {
      assert.deepEqual(await audited(archivedId), [{ status: { before: 'active', after: 'archived' } }]);
      assert.deepEqual(await audited(countedId), [{ available: { before: 5, after: 1 } }]);
    });

    // The gate's figures were built before the changes: once Redis is back they follow PostgreSQL.
    await eventually(async () => assert.equal((await t.app.inject({ url: `/api/v1/products/${countedId}` })).json().available, 1));
    const refused = await order(cookies[0]!, archivedId);
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(refused.json().error.code, 'PRODUCT_UNAVAILABLE');
    assert.equal((await order(cookies[1]!, countedId)).statusCode, 201);
    const soldOut = await order(cookies[2]!, countedId);
    assert.equal(soldOut.json().error.code, 'OUT_OF_STOCK', soldOut.body);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';

/**
 * A keyed sold-out refusal after a Redis data loss whose look for the order under its key fails (PostgreSQL slow or
 * down) is the gate's refusal, as outside the window (where the same request reads nothing): 409, not a 5xx, and not
 * kept under the key (nor marked unknown-outcome), so the key's next retry looks again.
 */
describe('a sold-out refusal after a Redis data loss whose lookup fails', () => {
  let t: TestApp;
  const run = randomUUID().slice(0, 8);
  const logged: { level: number; msg: string }[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logged.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    t = await createTestApp(
      { STOCK_VIEW_REFRESH_MS: '0', DB_STATEMENT_TIMEOUT_MS: '300', WORKER_JOB_LOCK_TIMEOUT_MS: '0', RATE_LIMIT_CHECKOUT_MAX: '10000', RATE_LIMIT_CUSTOMER_MAX: '10000', RATE_LIMIT_GENERAL_MAX: '10000' },
      undefined,
      { logger: pino({ level: 'warn' }, sink) },
    );
  });
  after(() => t?.close());

  function order(cookie: string, key: string, productId: number) {
    return t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': key }, payload: { items: [{ productId, quantity: 1 }] } });
  }

  async function keysMatching(pattern: string): Promise<string[]> {
    const found: string[] = [];
    for (let cursor = '0'; ; ) {
      const [next, keys] = await t.platform.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      found.push(...keys);
      cursor = next;
      if (cursor === '0') return found;
    }
  }

  it("answers the gate's 409, keeps nothing under the key, and the key's next retry finds its order", async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `fail-${run}`, name: 'F', priceCents: 100, available: 1 } });
    assert.equal(created.statusCode, 201, created.body);
    const productId: number = created.json().id;
    const [aliceId, ginaId] = await insertCustomers(t.platform.db.primary, 2, `fail-${run}`);
    const [firstSession] = await mintSessionCookies(t.env, [aliceId!]);
    const aliceKey = `alice-${run}`;
    const first = await order(firstSession!, aliceKey, productId);
    assert.equal(first.statusCode, 201, first.body);
    const aliceOrder: number = first.json().id;
    // Placed a few minutes before the loss; its reply lost. Redis then loses its data, the key's record with it.
    await t.platform.db.primary.execute(sql`update orders set created_at = now() - interval '5 minutes' where id = ${aliceOrder}`);
    const keys = await keysMatching(`*${t.config.redis.prefix}*`);
    for (let i = 0; i < keys.length; i += 500) await t.platform.redis.del(...keys.slice(i, i + 500));
    const [alice, gina] = await mintSessionCookies(t.env, [aliceId!, ginaId!]);
    const warm = await order(gina!, `gina-${run}`, productId);
    assert.equal(warm.statusCode, 409, warm.body);

    // PostgreSQL cannot answer the lookup: the orders table held by a lock, the read cut by the statement timeout.
    const locker = await t.platform.db.pools.primary.connect();
    let duringOutage: Awaited<ReturnType<typeof order>>;
    try {
      await locker.query('begin');
      await locker.query('lock table orders in access exclusive mode');
      duringOutage = await order(alice!, aliceKey, productId);
    } finally {
      await locker.query('commit').catch(() => undefined);
      locker.release();
    }
    assert.equal(duringOutage.statusCode, 409, `the gate's refusal, as outside the window: ${duringOutage.statusCode} ${duringOutage.body}`);
    assert.equal(duringOutage.json().error.code, 'OUT_OF_STOCK');
    assert.deepEqual(await keysMatching(`${t.config.redis.prefix}:idem:customer:${aliceId}:*`), [], 'nothing kept under the key: no refusal, no unknown-outcome mark');
    assert.ok(
      logged.some((line) => line.level >= 40 && /look/i.test(line.msg)),
      `the failed lookup is logged: ${JSON.stringify(logged.map((line) => line.msg))}`,
    );

    const retried = await order(alice!, aliceKey, productId);
    assert.equal(retried.statusCode, 201, `the retry finds the order under its key: ${retried.statusCode} ${retried.body}`);
    assert.equal(retried.json().id, aliceOrder);
  });
});

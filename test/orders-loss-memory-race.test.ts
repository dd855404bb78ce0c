import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';

/**
 * After a Redis data loss the process's memory of sold-out products must not answer a retry: the gate's first refusal
 * in the window is remembered at once, while the process learns only after a PostgreSQL read (whether the loss could
 * have taken a record) that the window is open. A retry answered from memory in between is stored as its key's refusal.
 */
describe("the memory of sold-out products in the data-loss window's first moments", () => {
  let t: TestApp;
  const run = randomUUID().slice(0, 8);

  before(async () => {
    t = await createTestApp({ STOCK_VIEW_REFRESH_MS: '60000', RATE_LIMIT_CHECKOUT_MAX: '10000', RATE_LIMIT_CUSTOMER_MAX: '10000', RATE_LIMIT_GENERAL_MAX: '10000' });
  });
  after(() => t?.close());

  function order(cookie: string, key: string, productId: number) {
    return t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': key }, payload: { items: [{ productId, quantity: 1 }] } });
  }

  async function redisNowMs(): Promise<number> {
    const [seconds, micros] = await t.platform.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  it("does not answer the retry of an order the loss took the record of from memory while the loss's first check runs", async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `race-${run}`, name: 'R', priceCents: 100, available: 1 } });
    assert.equal(created.statusCode, 201, created.body);
    const productId: number = created.json().id;
    const [aliceId, ginaId] = await insertCustomers(t.platform.db.primary, 2, `race-${run}`);
    const [alice, gina] = await mintSessionCookies(t.env, [aliceId!, ginaId!]);
    const aliceKey = `alice-${run}`;
    const first = await order(alice!, aliceKey, productId);
    assert.equal(first.statusCode, 201, first.body);
    const aliceOrder: number = first.json().id;
    await t.platform.db.primary.execute(sql`update orders set created_at = now() - interval '5 minutes' where id = ${aliceOrder}`);

    // A Redis restart that kept its data but not the last writes: Alice's record gone, the loss dated just now.
    const { redis } = t.platform;
    for (let cursor = '0'; ; ) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${t.config.redis.prefix}:idem:customer:${aliceId}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
    await redis.set(`{${t.config.redis.prefix}}:gate-epoch`, (await redisNowMs()) - 1000);

    // The loss's first check (a read of the orders table) is slow: held on a lock.
    const locker = await t.platform.db.pools.primary.connect();
    let duringCheck: ReturnType<typeof order> | undefined;
    let duringCheckStatus: number | undefined;
    let ginas: ReturnType<typeof order> | undefined;
    try {
      await locker.query('begin');
      await locker.query('lock table orders in access exclusive mode');
      // Gina is refused by the gate: the first refusal after the loss, which checks the loss.
      ginas = order(gina!, `gina-${run}`, productId);
      for (const deadline = Date.now() + 10_000; ; ) {
        const waiting = await t.platform.db.primary.execute<{ n: string }>(
          sql`select count(*) as n from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'orders' and not l.granted and l.pid <> ${(locker as unknown as { processID: number }).processID}`,
        );
        if (Number(waiting.rows[0]!.n) > 0) break;
        assert.ok(Date.now() < deadline, "the loss's check waits on the lock");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Alice's retry meanwhile: answered at once from memory, or (as it should) waiting for the check, released below.
      duringCheck = order(alice!, aliceKey, productId).then((reply) => {
        duringCheckStatus = reply.statusCode;
        return reply;
      });
      for (const deadline = Date.now() + 3_000; duringCheckStatus === undefined && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      await locker.query('commit').catch(() => undefined);
      locker.release();
    }
    assert.equal((await ginas)?.statusCode, 409);
    await duringCheck;

    // The window is open (the loss 1 s ago, Alice's keyed order before it): her retry finds her order.
    const retried = await order(alice!, aliceKey, productId);
    assert.equal(
      retried.statusCode,
      201,
      `the retry finds the order under its key (the retry during the check answered ${duringCheckStatus}), not a refusal from memory kept under the key: ${retried.statusCode} ${retried.body} replayed=${retried.headers['idempotent-replayed']}`,
    );
    assert.equal(retried.json().id, aliceOrder);
  });
});

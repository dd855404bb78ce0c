import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { insertCustomers } from '../../../test/helpers/commerce.ts';
import { createOrdersRepository } from '../orders/index.ts';
import { createInventoryRepository } from './inventory.repository.ts';
import { createStockGate, type StockGate } from './stock-gate.ts';

describe('stock gate (Redis + PostgreSQL)', () => {
  let t: TestApp;
  let gate: StockGate;
  let now = Date.now();
  const inventory = createInventoryRepository();
  const repo = createOrdersRepository();

  before(async () => {
    t = await createTestApp({ STOCK_SHARDS: '4' });
    gate = gateReadingThrough();
  });
  after(() => t.close());

  /** A gate of the tests' prefix and clock whose rebuild reads PostgreSQL, then runs `during` (once the read is done). */
  function gateReadingThrough(during?: () => Promise<void>): StockGate {
    return createStockGate({
      redis: t.platform.redis,
      prefix: `${t.config.redis.prefix}-gate-test`,
      clock: () => now,
      snapshot: async (productId, tokens) => {
        const read = await inventory.snapshot(t.platform.db.primary, productId, tokens);
        await during?.();
        return read;
      },
    });
  }

  async function product(available: number, status = 'active'): Promise<number> {
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `g-${randomUUID()}`, name: 'G', priceCents: 100, available, status } });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json().id;
  }
  const figure = async (id: number) => (await gate.peek([id])).get(id);

  it('applies a re-sent reservation, confirmation or release once (ioredis re-sends after a reconnect)', async () => {
    const id = await product(10);
    const token = randomUUID();
    assert.deepEqual(await gate.reserve(token, [{ productId: id, quantity: 3 }]), { ok: true, reserved: true });
    assert.deepEqual(await gate.reserve(token, [{ productId: id, quantity: 3 }]), { ok: true, reserved: true });
    assert.equal(await figure(id), 7);
    await gate.release(token, [id]);
    await gate.release(token, [id]);
    assert.equal(await figure(id), 10);
    const second = randomUUID();
    await gate.reserve(second, [{ productId: id, quantity: 4 }]);
    await gate.confirm(second, [id]);
    await gate.release(second, [id]); // too late: the reservation is confirmed
    assert.equal(await figure(id), 6);
  });

  it('forgetAll drops every figure and reservation in flight, and the next use rebuilds the figure from PostgreSQL', async () => {
    const a = await product(5);
    const b = await product(8);
    const token = randomUUID();
    await gate.reserve(token, [{ productId: a, quantity: 2 }]);
    await gate.ensure(b);
    assert.equal(await figure(a), 3);
    assert.ok((await gate.forgetAll()) >= 2);
    assert.equal(await figure(a), undefined);
    assert.equal(await figure(b), undefined);
    // Its reservation is forgotten too (a restored server may hold reservations already released): the
    // rebuilt figure errs generous, and the reservation's late release gives nothing back twice.
    await gate.ensure(a);
    assert.equal(await figure(a), 5);
    await gate.release(token, [a]);
    assert.equal(await figure(a), 5);
  });

  it('refuses what it does not have, reserving all lines or none', async () => {
    const a = await product(5);
    const b = await product(1);
    const refused = await gate.reserve(randomUUID(), [
      { productId: a, quantity: 2 },
      { productId: b, quantity: 2 },
    ]);
    assert.equal(refused.ok, false);
    assert.deepEqual(!refused.ok && refused.shortages, [{ productId: b, requested: 2, available: 1 }]);
    assert.equal(await figure(a), 5, 'no line was taken');
  });

  it('rebuilds exactly: committed orders are not subtracted twice, reservations in flight are', async () => {
    const id = await product(20);
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'gate');
    const committedToken = randomUUID();
    const inFlightToken = randomUUID();
    await gate.reserve(committedToken, [{ productId: id, quantity: 5 }]);
    await gate.reserve(inFlightToken, [{ productId: id, quantity: 2 }]);
    // The first order commits in PostgreSQL but its confirmation never reaches Redis.
    await repo.place(t.platform.db.primary, { customerId: customerId!, lines: [{ productId: id, quantity: 5 }], idempotencyKey: 'gate-1', reservation: committedToken });
    await gate.invalidate(id);
    assert.equal(await figure(id), undefined);
    await gate.ensure(id);
    assert.equal(await figure(id), 20 - 5 - 2);
    await gate.release(inFlightToken, [id]);
    assert.equal(await figure(id), 15);
  });

  it('rebuilds while the orders in flight keep committing during its read of PostgreSQL (a restock on a hot product)', async () => {
    const id = await product(20);
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'gate-hot');
    // Ten buyers hold a unit each when the admin's stock change drops the figure.
    const inFlight = Array.from({ length: 10 }, () => randomUUID());
    for (const token of inFlight) assert.deepEqual(await gate.reserve(token, [{ productId: id, quantity: 1 }]), { ok: true, reserved: true });
    await gate.invalidate(id);
    // Each read of PostgreSQL by the rebuild is slower than one order: an order commits and is confirmed during it.
    const waiting = [...inFlight];
    const hotGate = gateReadingThrough(async () => {
      const token = waiting.shift();
      if (token !== undefined) {
        await repo.place(t.platform.db.primary, { customerId: customerId!, lines: [{ productId: id, quantity: 1 }], idempotencyKey: `gate-hot-${token}`, reservation: token });
        await hotGate.confirm(token, [id]);
      }
    });
    const buyer = await hotGate.reserve(randomUUID(), [{ productId: id, quantity: 1 }]).catch((error: unknown) => error);
    assert.deepEqual(buyer, { ok: true, reserved: true }, `a buyer is let through, not refused: ${String(buyer)}`);
    // 20 units: those of the orders committed are out of PostgreSQL, the others are still in flight, and the buyer holds one.
    assert.equal(await figure(id), 20 - inFlight.length - 1);
  });

  it('gives back the units of a reservation released while a rebuild reads PostgreSQL', async () => {
    const id = await product(10);
    const kept = randomUUID();
    const released = randomUUID();
    await gate.reserve(kept, [{ productId: id, quantity: 1 }]);
    await gate.reserve(released, [{ productId: id, quantity: 2 }]);
    await gate.invalidate(id);
    let releasing = true;
    const slowGate = gateReadingThrough(async () => {
      if (releasing) {
        releasing = false;
        await slowGate.release(released, [id]);
      }
    });
    assert.equal(await slowGate.ensure(id), true);
    assert.equal(await figure(id), 10 - 1, 'the released units are on sale again, the kept one still out');
  });

  it('forgets a reservation whose process died, at the next rebuild', async () => {
    const id = await product(8);
    await gate.reserve(randomUUID(), [{ productId: id, quantity: 3 }]);
    assert.equal(await figure(id), 5);
    now += 10 * 60_000; // past the reservation TTL
    await gate.invalidate(id);
    await gate.ensure(id);
    assert.equal(await figure(id), 8);
  });

  /**
   * A gate on a prefix of its own (its loss marker untouched by the other tests), a sold-out product of one unit, and
   * `sinceLoss`: the age of the loss marker its sold-out reply carries. `dropKeys` removes every key of the prefix.
   */
  async function soldOutGate(tag: string) {
    const prefix = `${t.config.redis.prefix}-${tag}-${randomUUID()}`;
    const gate = createStockGate({ redis: t.platform.redis, prefix, snapshot: (productId, tokens) => inventory.snapshot(t.platform.db.primary, productId, tokens) });
    const id = await product(1);
    const sinceLoss = async () => {
      const refused = await gate.reserve(randomUUID(), [{ productId: id, quantity: 2 }]);
      assert.equal(refused.ok, false, 'sold out');
      return refused.ok ? -1 : refused.sinceLossMs;
    };
    const dropKeys = async () => {
      const keys = await t.platform.redis.keys(`{${prefix}}:*`);
      if (keys.length > 0) await t.platform.redis.del(...keys);
    };
    return { gate, id, prefix, marker: `{${prefix}}:gate-epoch`, sinceLoss, dropKeys };
  }

  /** Redis' clock, in ms (the loss marker is dated on it). */
  async function redisNowMs(): Promise<number> {
    const [seconds, micros] = await t.platform.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  it("dates a Redis data loss in its sold-out replies: the marker's age, not reset by a figure's expiry, young again once the marker is lost", async () => {
    const { id, prefix, marker, sinceLoss, dropKeys } = await soldOutGate('loss');
    // First use (the marker absent: nothing can tell a first deployment from a loss): a loss just now.
    assert.ok((await sinceLoss()) < 5_000);
    assert.equal(await t.platform.redis.ttl(marker), -1, 'the marker has no TTL');
    // A marker set long ago (Redis' clock, ms): its age.
    await t.platform.redis.set(marker, (await redisNowMs()) - 3_600_000);
    assert.ok((await sinceLoss()) >= 3_600_000);
    // A figure's own expiry (its key gone, rebuilt at the next use) is no loss.
    await t.platform.redis.del(`{${prefix}}:stock:${id}:a`);
    assert.ok((await sinceLoss()) >= 3_600_000, "a figure's expiry leaves the marker as it was");
    // A loss: every key gone, the marker with them.
    await dropKeys();
    assert.ok((await sinceLoss()) < 5_000, 'young again after the loss');
    assert.equal(await t.platform.redis.exists(marker), 1);
    await dropKeys();
  });

  it('dates a data loss at a Redis restart that kept its data (forgetAll): the last writes before it may be gone', async () => {
    const { gate: restartGate, id, marker, sinceLoss, dropKeys } = await soldOutGate('restart');
    await t.platform.redis.set(marker, (await redisNowMs()) - 3_600_000);
    assert.ok((await sinceLoss()) >= 3_600_000);
    // A restart with AOF every second (or a promoted replica) kept the marker but may have lost the last idempotency records.
    await restartGate.forgetAll();
    const afterRestart = await sinceLoss();
    assert.ok(afterRestart < 60_000, `the restart dates a loss: ${afterRestart} ms ago`);
    // Every instance sees the same restart: a second forgetAll moments later keeps the same date.
    const { lossAtMs } = (await restartGate.reserve(randomUUID(), [{ productId: id, quantity: 2 }])) as { lossAtMs: number };
    await restartGate.forgetAll();
    assert.equal(((await restartGate.reserve(randomUUID(), [{ productId: id, quantity: 2 }])) as { lossAtMs: number }).lossAtMs, lossAtMs);
    await dropKeys();
  });

  it('drops the figures at a Redis restart even when it cannot date the loss (forgetAll), and logs the dating failure', async () => {
    const prefix = `${t.config.redis.prefix}-undated-${randomUUID()}`;
    const warned: { obj: unknown; msg: string }[] = [];
    const undatedGate = createStockGate({
      redis: t.platform.redis,
      prefix,
      snapshot: (productId, tokens) => inventory.snapshot(t.platform.db.primary, productId, tokens),
      logger: { warn: (obj: unknown, msg: string) => warned.push({ obj, msg }) },
    });
    const marker = `{${prefix}}:gate-epoch`;
    const id = await product(5);
    await undatedGate.reserve(randomUUID(), [{ productId: id, quantity: 2 }]);
    assert.equal((await undatedGate.peek([id])).get(id), 3);
    // The marker unreadable by the dating script (another type under its key): the script fails.
    await t.platform.redis.del(marker);
    await t.platform.redis.hset(marker, 'x', '1');
    const dropped = await undatedGate.forgetAll().catch((error: unknown) => error);
    assert.equal(dropped, 1, `the figure is dropped although the loss could not be dated: ${String(dropped)}`);
    assert.equal((await undatedGate.peek([id])).get(id), undefined);
    assert.ok(warned.some((line) => /dat/i.test(line.msg)), `the dating failure is logged: ${JSON.stringify(warned.map((line) => line.msg))}`);
    await t.platform.redis.del(marker, ...(await t.platform.redis.keys(`{${prefix}}:*`)));
  });

  it('keeps no gate for products that are not for sale', async () => {
    const archived = await product(5, 'archived');
    assert.deepEqual(await gate.reserve(randomUUID(), [{ productId: archived, quantity: 1 }]), { ok: true, reserved: false });
    assert.equal(await figure(archived), undefined);
    const stock = await t.platform.db.primary.execute<{ n: string }>(sql`select sum(available) as n from product_stock where product_id = ${archived}`);
    assert.equal(Number(stock.rows[0]!.n), 5);
  });
});

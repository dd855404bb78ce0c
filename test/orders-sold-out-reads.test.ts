import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, loseRedisData, mintSessionCookies } from './helpers/commerce.ts';
import { queryCounter } from './helpers/query-counter.ts';

/**
 * What a sold-out refusal costs PostgreSQL: nothing in steady state; after a Redis data loss (simulated by deleting
 * this file's Redis prefix, the shared Redis left alone) that may have taken idempotency records, one read for the
 * order under the refused request's key, once per key.
 */
describe('PostgreSQL reads of a sold-out refusal', () => {
  let t: TestApp;
  let counter: ReturnType<typeof queryCounter>;
  const run = randomUUID().slice(0, 8);

  before(async () => {
    // No per-process memory of refusals: every attempt asks the gate (a flush without a restart is not seen by the
    // process, whose memory answers for up to STOCK_VIEW_REFRESH_MS, a limit the README states).
    t = await createTestApp({ STOCK_VIEW_REFRESH_MS: '0', RATE_LIMIT_CHECKOUT_MAX: '10000', RATE_LIMIT_CUSTOMER_MAX: '10000', RATE_LIMIT_GENERAL_MAX: '10000' });
    counter = queryCounter(t.platform.db.pools.primary);
  });
  after(() => t?.close());

  const marker = () => `{${t.config.redis.prefix}}:gate-epoch`;

  async function cookieOf(tag: string): Promise<string> {
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, `${tag}-${run}`);
    return (await mintSessionCookies(t.env, [customerId!]))[0]!;
  }

  async function product(available: number): Promise<number> {
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `reads-${run}-${randomUUID().slice(0, 8)}`, name: 'R', priceCents: 100, available } });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json().id;
  }

  async function order(cookie: string, key: string, productId: number) {
    const { result, counted } = await counter.count(() =>
      t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': key }, payload: { items: [{ productId, quantity: 1 }] } }),
    );
    return { status: result.statusCode, body: result.json(), statements: counted.statements };
  }

  it('reads nothing outside the window, nothing for a loss that could take no record, and one read per key after one that could', async () => {
    const productId = await product(1);
    const alice = await cookieOf('reads-alice');
    assert.equal((await order(alice, `alice-${run}`, productId)).status, 201);

    // Steady state: the marker older than the retention.
    await t.platform.redis.set(marker(), Date.now() - 2 * 86_400_000);
    const bob = await cookieOf('reads-bob');
    const refused = await order(bob, `bob-${run}-1`, productId);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.deepEqual(refused.statements, [], 'a sold-out refusal reads nothing');

    // A young marker with no keyed order before it (a first deployment): one read per process, then nothing.
    const firstOrderAt = await t.platform.db.primary.execute<{ ms: string }>(sql`select floor(extract(epoch from min(created_at)) * 1000) as ms from orders`);
    await t.platform.redis.set(marker(), Number(firstOrderAt.rows[0]!.ms) - 1);
    const first = await order(bob, `bob-${run}-2`, productId);
    assert.equal(first.status, 409);
    assert.ok(first.statements.length <= 1, first.statements.join('\n'));
    assert.ok(!first.statements.some((s) => s.includes('idempotency_key" =')), `no per-key read: ${first.statements.join('\n')}`);
    const second = await order(bob, `bob-${run}-3`, productId);
    assert.deepEqual(second.statements, [], 'the loss is checked once');

    // A loss after Alice's order: a keyed refusal reads the order under its key, once.
    await loseRedisData(t.platform.redis, t.config.redis.prefix);
    const carol = await cookieOf('reads-carol');
    const afterLoss = await order(carol, `carol-${run}`, productId);
    assert.equal(afterLoss.status, 409, JSON.stringify(afterLoss.body));
    assert.ok(afterLoss.statements.some((s) => s.includes('idempotency_key')), `the order under the key is read: ${afterLoss.statements.join('\n')}`);
    const replayed = await order(carol, `carol-${run}`, productId);
    assert.equal(replayed.status, 409);
    assert.deepEqual(replayed.statements, [], "the key's refusal is kept: its retry reads nothing");
  });
  /** Redis' clock (ms): the marker holds Redis' time, never this host's. */
  async function redisNowMs(): Promise<number> {
    const [seconds, micros] = await t.platform.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  it('reads the order under the key for 10 minutes after a loss, and nothing after them', async () => {
    const productId = await product(1);
    const erin = await cookieOf('reads-erin');
    assert.equal((await order(erin, `erin-${run}`, productId)).status, 201);
    // Erin's keyed order placed half an hour ago: a loss after it could have taken its record.
    await t.platform.db.primary.execute(sql`update orders set created_at = now() - interval '30 minutes' where idempotency_key = ${`erin-${run}`}`);
    const dave = await cookieOf('reads-dave');

    await t.platform.redis.set(marker(), (await redisNowMs()) - 9 * 60_000);
    const within = await order(dave, `dave-${run}-1`, productId);
    assert.equal(within.status, 409, JSON.stringify(within.body));
    assert.ok(within.statements.some((s) => s.includes('idempotency_key')), `9 minutes after the loss the key is read: ${within.statements.join('\n')}`);

    await t.platform.redis.set(marker(), (await redisNowMs()) - 11 * 60_000);
    const past = await order(dave, `dave-${run}-2`, productId);
    assert.equal(past.status, 409, JSON.stringify(past.body));
    assert.deepEqual(past.statements, [], '11 minutes after the loss a sold-out refusal reads nothing');
  });
  it('answers a refusal beyond the waiting lookups at once (409, counted skipped), without reading', async () => {
    const productId = await product(1);
    const frank = await cookieOf('reads-frank');
    assert.equal((await order(frank, `frank-${run}`, productId)).status, 201);
    await t.platform.db.primary.execute(sql`update orders set created_at = now() - interval '5 minutes' where idempotency_key = ${`frank-${run}`}`);
    await t.platform.redis.set(marker(), (await redisNowMs()) - 1000);
    const gina = await cookieOf('reads-gina');
    // The loss checked (once per process), so that the lookups below are the only reads the lock holds.
    assert.equal((await order(gina, `gina-${run}-warm`, productId)).status, 409);
    const skipped = async () => (await t.platform.metrics.registry.getSingleMetric('salescale_checkout_loss_lookups_skipped_total')?.get())?.values[0]?.value ?? 0;
    const skippedBefore = await skipped();

    // Every lookup of the order under a key waits on a lock of the orders table: 8 run, 64 wait, the 73rd is over the cap.
    const locker = await t.platform.db.pools.primary.connect();
    const answered: number[] = [];
    let replies: Promise<{ status: number }>[] = [];
    try {
      await locker.query('begin');
      await locker.query('lock table orders in access exclusive mode');
      replies = Array.from({ length: 8 + 64 + 1 }, (_, i) =>
        t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: gina, 'idempotency-key': `gina-${run}-${i}` }, payload: { items: [{ productId, quantity: 1 }] } }).then((reply) => {
          answered.push(reply.statusCode);
          return { status: reply.statusCode };
        }),
      );
      for (const deadline = Date.now() + 30_000; answered.length === 0; ) {
        assert.ok(Date.now() < deadline, 'a refusal beyond the waiting lookups is answered while they are held');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(answered, [409], 'exactly one refusal, answered without its lookup');
      assert.equal((await skipped()) - skippedBefore, 1, 'the skipped lookup is counted');
    } finally {
      await locker.query('commit').catch(() => undefined);
      locker.release();
    }
    const all = await Promise.all(replies);
    assert.deepEqual(new Set(all.map((r) => r.status)), new Set([409]), 'every refusal is OUT_OF_STOCK');
  });
});

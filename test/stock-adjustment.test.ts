import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';

/**
 * An operator adds units to a product while it sells: with real concurrent buyers over HTTP, the units added are
 * exactly the units sold beyond the first stock (none put back on sale, none lost), and a retried adjustment counts once.
 */
describe('admin stock adjustment during a sale', () => {
  let t: TestApp;
  let cookies: string[];
  let base: string;
  before(async () => {
    t = await createTestApp({ STOCK_SHARDS: '4', RATE_LIMIT_CHECKOUT_MAX: '1000000', RATE_LIMIT_MAX: '1000000' });
    cookies = await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 30));
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  after(() => t.close());

  const admin = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method, url: `/api/v1/admin${url}`, headers: { ...t.admin, ...headers }, payload });
  const adjust = (productId: number, delta: number, key?: string) =>
    admin('POST', `/products/${productId}/stock/adjustments`, { delta }, key === undefined ? {} : { 'idempotency-key': key });
  async function stockOf(productId: number): Promise<number> {
    const result = await t.platform.db.primary.execute<{ sum: string }>(sql`select coalesce(sum(available), 0) as sum from product_stock where product_id = ${productId}`);
    return Number(result.rows[0]!.sum);
  }

  /** A product of 10 units whose stock is one row, as `salescale seed` wrote it before seeding wrote STOCK_SHARDS rows. */
  async function seededOneRow(sku: string, name: string): Promise<number> {
    const created = await admin('POST', '/products', { sku, name, priceCents: 500, available: 10 });
    assert.equal(created.statusCode, 201, created.body);
    const productId: number = created.json().id;
    await t.platform.db.primary.execute(sql`delete from product_stock where product_id = ${productId} and shard > 0`);
    await t.platform.db.primary.execute(sql`update product_stock set available = 10 where product_id = ${productId}`);
    return productId;
  }

  it('adds units to the stock as it is while buyers check out: every unit sold once, none invented, a retry applied once', async () => {
    const created = await admin('POST', '/products', { sku: 'RESTOCK-1', name: 'Restocked', priceCents: 500, available: 40 });
    assert.equal(created.statusCode, 201, created.body);
    const productId: number = created.json().id;

    let selling = true;
    let placed = 0;
    const failures: string[] = [];
    const buyers = cookies.map(async (cookie, i) => {
      for (let n = 0; selling; n++) {
        const reply = await fetch(`${base}/api/v1/orders`, {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/json', 'idempotency-key': `buy-${i}-${n}` },
          body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
        });
        const body = await reply.text();
        if (reply.status === 201) placed++;
        else if (reply.status !== 409) failures.push(`${reply.status} ${body}`);
      }
    });

    // While the first 40 units sell, the operator adds 25 and then 35, the second sent twice at once (a retry).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const first = await adjust(productId, 25, 'restock-a');
    assert.equal(first.statusCode, 200, first.body);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const [second, retry] = await Promise.all([adjust(productId, 35, 'restock-b'), adjust(productId, 35, 'restock-b')]);
    // The two run one after the other under the stock's lock: one adds the units, the other finds them added under its key.
    assert.deepEqual([second.statusCode, retry.statusCode], [200, 200], `${second.body} / ${retry.body}`);
    assert.deepEqual([second.headers['idempotent-replayed'], retry.headers['idempotent-replayed']].sort(), ['true', undefined]);
    const late = await adjust(productId, 35, 'restock-b');
    assert.equal(late.statusCode, 200, late.body);
    assert.equal(late.headers['idempotent-replayed'], 'true');

    // The sale runs until every unit is gone.
    const deadline = Date.now() + 60_000;
    while ((await stockOf(productId)) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300));
    selling = false;
    await Promise.all(buyers);

    assert.deepEqual(failures, []);
    assert.equal(placed, 40 + 25 + 35, 'units sold = first stock + units added');
    const ordered = await t.platform.db.primary.execute<{ sum: string }>(sql`select coalesce(sum(quantity), 0) as sum from order_items where product_id = ${productId}`);
    assert.equal(Number(ordered.rows[0]!.sum), 100);
    assert.equal(await stockOf(productId), 0);
    const shown = await t.app.inject({ method: 'GET', url: `/api/v1/products/${productId}` });
    assert.equal(shown.json().available, 0);
  });

  it('refuses an adjustment below zero with 409 STOCK_OUT_OF_RANGE, a missing key with 400, a reused key with 422, an unknown product with 404, and changes nothing', async () => {
    const created = await admin('POST', '/products', { sku: 'RESTOCK-2', name: 'Restocked', priceCents: 500, available: 5 });
    const productId: number = created.json().id;

    const below = await adjust(productId, -6, 'take-6');
    assert.equal(below.statusCode, 409, below.body);
    assert.equal(below.json().error.code, 'STOCK_OUT_OF_RANGE');
    assert.deepEqual(below.json().error.details, { productId, available: 5, delta: -6, max: 1_000_000_000 });

    const noKey = await adjust(productId, 1);
    assert.equal(noKey.statusCode, 400, noKey.body);
    assert.equal(noKey.json().error.code, 'IDEMPOTENCY_KEY_REQUIRED');

    const taken = await adjust(productId, -2, 'take-2');
    assert.equal(taken.statusCode, 200, taken.body);
    assert.equal(taken.json().available, 3);
    const reused = await adjust(productId, -3, 'take-2');
    assert.equal(reused.statusCode, 422, reused.body);
    assert.equal(reused.json().error.code, 'IDEMPOTENCY_KEY_REUSED');

    const unknown = await adjust(999_999, 1, 'unknown');
    assert.equal(unknown.statusCode, 404, unknown.body);
    assert.equal(unknown.json().error.code, 'PRODUCT_NOT_FOUND');

    const tooMany = await adjust(productId, 1_000_000_000, 'too-many');
    assert.equal(tooMany.statusCode, 409, tooMany.body);
    // Each adjustment applied is kept with its counts, once.
    const kept = await t.platform.db.primary.execute(
      sql`select idempotency_key, delta, available_before, available_after from stock_adjustments where product_id = ${productId}`,
    );
    assert.deepEqual(kept.rows, [{ idempotency_key: 'take-2', delta: -2, available_before: 5, available_after: 3 }]);
    assert.equal(await stockOf(productId), 3);
    const read = await admin('GET', `/products/${productId}`);
    assert.equal(read.json().available, 3);
  });

  // An adjustment of 0 units changes nothing: taken, it would store its idempotency key (so the same key with the delta
  // meant would then be 422 IDEMPOTENCY_KEY_REUSED) and be audited as a stock change with before = after.
  it('refuses an adjustment of zero units 400 VALIDATION_FAILED on /delta, storing no key and no adjustment', async () => {
    const created = await admin('POST', '/products', { sku: 'ZERO-DELTA', name: 'Zero delta', priceCents: 500, available: 7 });
    assert.equal(created.statusCode, 201, created.body);
    const productId: number = created.json().id;

    const reply = await adjust(productId, 0, 'zero-1');
    assert.equal(reply.statusCode, 400, reply.body);
    assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
    assert.equal(reply.json().error.details.issues[0].path, '/delta');
    const stored = await t.platform.db.primary.execute<{ n: number }>(sql`select count(*)::int as n from stock_adjustments where product_id = ${productId}`);
    assert.equal(stored.rows[0]!.n, 0);

    // The key was not spent on it: the adjustment meant goes through with it.
    const meant = await adjust(productId, 3, 'zero-1');
    assert.equal(meant.statusCode, 200, meant.body);
    assert.equal(meant.json().available, 10);
  });
  // A product whose stock is one row (seeded before seeding wrote STOCK_SHARDS rows, or STOCK_SHARDS raised since): the
  // first adjustment splits it into STOCK_SHARDS rows. An adjustment that waited for the row's lock meanwhile must
  // count the rows that split added, or the units in them are lost (20 parallel restocks of 3 units to a seeded
  // product of 10 left it with fewer than it started with).
  it('adds every unit of concurrent adjustments to a product whose stock is one row (as seeded)', async () => {
    const productId = await seededOneRow('SEEDED-ROW', 'Seeded');

    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => adjust(productId, 3, `seeded-${i}`)));
    assert.deepEqual(
      replies.map((r) => r.statusCode),
      replies.map(() => 200),
    );
    assert.equal(await stockOf(productId), 10 + 20 * 3);
    // Each adjustment's before and after chain into one another: each saw the stock the previous one left.
    const kept = await t.platform.db.primary.execute<{ before: number; after: number }>(
      sql`select available_before as before, available_after as after from stock_adjustments where product_id = ${productId} order by available_before`,
    );
    assert.deepEqual(
      kept.rows.map((r) => [r.before, r.after]),
      Array.from({ length: 20 }, (_, i) => [10 + 3 * i, 13 + 3 * i]),
    );
  });

  // An order that counted a seeded product's one row, then waited for it while an adjustment split the stock into
  // STOCK_SHARDS rows, finds in that row only its share of the split: it must take from the stock as it now is (12
  // units in 4 rows of 3 hold the 5 asked for), not refuse OUT_OF_STOCK naming 12 available.
  it('sells from a seeded one-row stock that an adjustment splits into shards while the order waits for its row', async () => {
    const productId = await seededOneRow('SEEDED-SPLIT', 'Seeded split');

    // Queue the adjustment, then the order, behind a holder of the row, so that the adjustment splits the row first.
    const waitingOn = async (pattern: string, n: number) => {
      for (let i = 0; ; i++) {
        const waiting = await t.platform.db.primary.execute<{ n: number }>(
          sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike ${pattern}`,
        );
        if (waiting.rows[0]!.n >= n) return;
        assert.ok(i < 600, `nothing waiting on a lock for ${pattern} within 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const holder = await t.platform.db.pools.primary.connect();
    let adjusted: ReturnType<typeof adjust>;
    let ordered: Promise<Response>;
    try {
      await holder.query('begin');
      await holder.query('select * from product_stock where product_id = $1 for update', [productId]);
      adjusted = adjust(productId, 2, 'split-while-selling');
      await waitingOn('%product_stock%for update%', 1);
      ordered = fetch(`${base}/api/v1/orders`, {
        method: 'POST',
        headers: { cookie: cookies[0]!, 'content-type': 'application/json', 'idempotency-key': 'split-while-selling' },
        body: JSON.stringify({ items: [{ productId, quantity: 5 }] }),
      });
      await waitingOn('%place_order%', 1);
    } finally {
      await holder.query('rollback');
      holder.release();
    }
    const adjustment = await adjusted;
    assert.equal(adjustment.statusCode, 200, adjustment.body);
    const order = await ordered;
    const body = await order.text();
    assert.equal(order.status, 201, body);
    // The adjustment split the row first, as queued: it counted 10 under the lock, before the order took any. (Not its
    // reply's `available`: that is read after its commit, when the order, free to go on, may have taken its 5 already.)
    const kept = await t.platform.db.primary.execute<{ before: number; after: number }>(
      sql`select available_before as before, available_after as after from stock_adjustments where product_id = ${productId}`,
    );
    assert.deepEqual(kept.rows, [{ before: 10, after: 12 }]);
    const lines = await t.platform.db.primary.execute<{ quantity: number }>(sql`select quantity from order_items where product_id = ${productId}`);
    assert.deepEqual(lines.rows, [{ quantity: 5 }]);
    assert.equal(await stockOf(productId), 7);
  });

  // take_stock counts a product's rows, then, if it saw one, takes with `update … where product_id = $1 and available >=
  // $2`, which names no shard. When a split of that one row into STOCK_SHARDS rows commits between the two statements,
  // the update's snapshot sees every shard and takes the units from each (an order of 1 took 4 of 12). The split is
  // made to commit in that gap with table locks: the adjustment is held after its split by a SHARE lock on
  // stock_adjustments, and the order's update queues for its table lock behind a SHARE request on product_stock.
  it('takes an order\'s units once when an adjustment splits a seeded one-row stock between its count and its update', async () => {
    const productId = await seededOneRow('SEEDED-GAP', 'Seeded gap');

    const waitingFor = async (relation: string, mode: string) => {
      for (let i = 0; ; i++) {
        const waiting = await t.platform.db.primary.execute<{ n: number }>(
          sql`select count(*)::int as n from pg_locks where relation = ${relation}::regclass and mode = ${mode} and not granted`,
        );
        if (waiting.rows[0]!.n >= 1) return;
        assert.ok(i < 600, `nothing waiting for ${mode} on ${relation} within 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const adjustments = new pg.Client({ connectionString: t.env.DATABASE_URL });
    const stock = new pg.Client({ connectionString: t.env.DATABASE_URL });
    const buyer = new pg.Client({ connectionString: t.env.DATABASE_URL });
    await Promise.all([adjustments.connect(), stock.connect(), buyer.connect()]);
    try {
      await adjustments.query('begin');
      await adjustments.query('lock table stock_adjustments in share mode');
      // The adjustment splits 12 units into 4 rows of 3, then waits to record itself, its split uncommitted.
      const adjusted = adjust(productId, 2, 'split-in-the-gap');
      await waitingFor('stock_adjustments', 'RowExclusiveLock');
      // A SHARE request on product_stock, queued behind the adjustment's writes.
      await stock.query('begin');
      const shared = stock.query('lock table product_stock in share mode');
      await waitingFor('product_stock', 'ShareLock');
      // The order counts one row (the split is not committed), then its update queues behind the SHARE request.
      await buyer.query('begin');
      const taken = buyer.query('select take_stock($1, 1)', [productId]);
      await waitingFor('product_stock', 'RowExclusiveLock');
      // The adjustment commits its split; the SHARE lock is granted and still holds the order's update back.
      await adjustments.query('commit');
      const adjustment = await adjusted;
      assert.equal(adjustment.statusCode, 200, adjustment.body);
      assert.equal(adjustment.json().available, 12);
      await shared;
      await stock.query('commit');
      await taken;
      await buyer.query('commit');
    } finally {
      await Promise.all([adjustments.end(), stock.end(), buyer.end()]);
    }
    assert.equal(await stockOf(productId), 11, 'one unit ordered, one unit taken');
  });
});

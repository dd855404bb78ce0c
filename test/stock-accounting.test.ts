import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createDatabase, type Database } from '../src/platform/db/client.ts';
import { isRetryableConflict } from '../src/platform/db/errors.ts';
import { createInventoryRepository } from '../src/modules/inventory/index.ts';
import { createOrderLifecycleRepository, createOrdersRepository } from '../src/modules/orders/index.ts';
import { insertCustomers } from './helpers/commerce.ts';
import { waitFor } from './helpers/queues.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

const PLACER = path.join(import.meta.dirname, 'helpers', 'order-placer-process.ts');
const SHARDS = 8;

interface PlacerReport {
  committed: [number, Record<number, number>][];
  outcomes: Record<string, number>;
}

/**
 * Stock accounting under concurrent checkouts from several real processes (the orders module's
 * batcher and `place_orders`/`place_order`), with every backend of theirs terminated mid-run, orders
 * cancelled and reservations expired meanwhile (the give-back paths): at the end, per product, initial stock = stock left
 * + units in orders that hold stock, the units of cancelled and expired orders came back once, and the orders the
 * processes were told about are exactly those in the database.
 *
 * The sale's products are created after the last ANALYZE of `product_stock`, as a sale's products
 * usually are (autovacuum analyzes a table only after a share of it changed): the planner then
 * estimates one stock row per product, which is the plan that once made one order take units from
 * several shards.
 */
describe('stock accounting under concurrent checkouts, terminated backends, cancellations and expiry', () => {
  let database: TestDatabase;
  let db: Database;
  const inventory = createInventoryRepository({ shards: SHARDS });
  const orders = createOrdersRepository();
  // A one-second payment window: reservations expire (and give their units back) during the run.
  const lifecycle = createOrderLifecycleRepository({ paymentWindowS: 1 });

  before(async () => {
    database = await createTestDatabase();
    // A connection for each of the test's own concurrent users (two cancellations of one order at once, two sweepers,
    // the fault loop, and room to spare): with 4, the fault loop waited behind sweepers slowed by a loaded machine and
    // its checkout timed out (pg's 5 s), failing the test in a fresh-clone CI run.
    db = createDatabase({ url: database.url, poolMin: 0, poolMax: 8, statementTimeoutMs: 0, applicationName: 'stock-accounting-test' });
  });
  after(async () => {
    await db?.close();
    await database?.drop();
  });

  async function createProduct(name: string, available: number): Promise<number> {
    return db.primary.transaction(async (tx) => {
      const result = await tx.execute<{ id: number }>(sql`insert into products (sku, name, price_cents) values (${`${name}-${Math.random()}`}, ${name}, 500) returning id`);
      const id = Number(result.rows[0]!.id);
      await inventory.create(tx, id, available);
      return id;
    });
  }

  async function stockLeft(productId: number): Promise<number> {
    const result = await db.primary.execute<{ n: string }>(sql`select coalesce(sum(available), 0) as n from product_stock where product_id = ${productId}`);
    return Number(result.rows[0]!.n);
  }

  async function unitsByStatus(productId: number): Promise<Record<string, number>> {
    const result = await db.primary.execute<{ status: string; units: string }>(sql`
      select o.status, sum(i.quantity) as units from orders o join order_items i on i.order_id = o.id
      where i.product_id = ${productId} group by o.status`);
    return Object.fromEntries(result.rows.map((row) => [row.status, Number(row.units)]));
  }

  function runPlacer(env: Record<string, string>): Promise<PlacerReport> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [PLACER], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.stderr.on('data', (chunk) => (err += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code !== 0) return reject(new Error(`order placer exited with ${code}:\n${err}${out}`));
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as PlacerReport);
      });
    });
  }

  it('takes exactly the ordered units from one shard for a product newer than the table statistics', async () => {
    for (let i = 0; i < 20; i++) await createProduct('filler', 800);
    await db.primary.execute(sql`analyze product_stock`);
    const product = await createProduct('new', 800);
    // Each call its own statement and transaction, as place_order's are.
    const taken: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = await stockLeft(product);
      await db.primary.execute(sql`select take_stock(${product}, 1)`);
      taken.push(before - (await stockLeft(product)));
    }
    assert.deepEqual(taken, [1, 1, 1, 1, 1, 1], 'each take of one unit took one unit');
  });

  it('takes exactly the ordered units after waiting for a shard, when every shard was held', async () => {
    await db.primary.execute(sql`analyze product_stock`);
    const product = await createProduct('waited-for', 800);
    const taken: number[] = [];
    for (let round = 0; round < 4; round++) {
      const before = await stockLeft(product);
      const holder = await db.pools.primary.connect();
      try {
        // Another checkout holds every shard: the take finds none free, waits for one, then takes from it.
        await holder.query('BEGIN');
        await holder.query('SELECT 1 FROM product_stock WHERE product_id = $1 ORDER BY shard FOR UPDATE', [product]);
        // Sent now: a drizzle query runs only once awaited or `then`-ed, and before this one ran only after the COMMIT below.
        const waiting = db.primary.execute(sql`select take_stock(${product}, 2)`).then((result) => result);
        // The take is waiting on the held shards before they are let go (polled: it gets there late on a loaded machine).
        await waitFor('the take to wait on a shard', async () => {
          const { rows } = await db.primary.execute<{ n: number }>(
            sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike '%take_stock%'`,
          );
          return rows[0]!.n >= 1 || null;
        }, 30_000);
        await holder.query('COMMIT');
        await waiting;
      } finally {
        holder.release();
      }
      taken.push(before - (await stockLeft(product)));
    }
    assert.deepEqual(taken, [2, 2, 2, 2], 'each take of two units after the wait took two units');
  });

  it('initial stock = stock left + units held by orders, with several processes, terminated backends, cancellations and expiry', async (t) => {
    await db.primary.execute(sql`analyze product_stock`);
    const deepStock = 8000;
    const scarceStock = 400;
    const deep = await createProduct('deep', deepStock);
    const scarce = await createProduct('scarce', scarceStock);
    const customers = await insertCustomers(db.primary, 120, 'stock');
    const durationMs = 4000;

    const placers = [0, 1, 2].map((i) =>
      runPlacer({
        DATABASE_URL: database.url,
        PRODUCT_IDS: `${deep},${scarce}`,
        CUSTOMER_IDS: customers.filter((_, c) => c % 3 === i).join(','),
        DURATION_MS: String(durationMs),
        TAG: `placer-${i}`,
      }),
    );

    let running = true;
    const reports = Promise.all(placers).finally(() => (running = false));
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    // Meanwhile: every backend of the placers terminated in three rounds once they are placing orders,
    // and pending orders cancelled (twice at once each).
    let terminated = 0;
    let cancelled = 0;
    const placerBackends = async (terminate: boolean) => {
      const result = await db.primary.execute<{ n: number }>(
        terminate
          ? sql`select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and application_name = 'order-placer-process'`
          : sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'order-placer-process'`,
      );
      return result.rows[0]!.n;
    };
    const faults = (async () => {
      while (running && (await placerBackends(false)) === 0) await sleep(50);
      for (let round = 0; round < 3 && running; round++) {
        await sleep(600);
        terminated += await placerBackends(true);
      }
    })();
    const cancellations = (async () => {
      while (running) {
        await sleep(100);
        const pending = await db.primary.execute<{ id: number }>(sql`select id from orders where status = 'pending_payment' order by random() limit 3`);
        for (const { id } of pending.rows) {
          const outcomes = await Promise.allSettled([0, 1].map(() => orders.cancel(db.primary, { id: Number(id), customerId: undefined, windowS: undefined })));
          // A deadlock with a checkout batch rolls the cancellation back whole (nothing given back): a client retries it.
          for (const o of outcomes) if (o.status === 'rejected' && !isRetryableConflict(o.reason)) throw o.reason;
          const gaveBack = outcomes.filter((o) => o.status === 'fulfilled' && o.value.kind === 'cancelled').length;
          assert.ok(gaveBack <= 1, 'two concurrent cancellations of one order give its units back once');
          cancelled += gaveBack;
        }
      }
    })();
    // Two sweepers expiring unpaid reservations at once, as two workers do.
    let expired = 0;
    const sweepers = [0, 1].map(async () => {
      while (running) {
        await sleep(150);
        try {
          expired += (await db.primary.transaction((tx) => lifecycle.expire(tx, { limit: 50 }))).length;
        } catch (error) {
          if (!isRetryableConflict(error)) throw error;
        }
      }
    });
    await Promise.all([reports, faults, cancellations, ...sweepers]);

    const told = new Map<number, Record<number, number>>();
    for (const report of await reports) for (const [id, units] of report.committed) told.set(id, units);
    const outcomes = (await reports).map((r) => r.outcomes);
    assert.ok(terminated > 0, 'backends were terminated mid-run');
    assert.ok(cancelled > 0, 'orders were cancelled mid-run');
    assert.ok(expired > 0, 'reservations expired mid-run');

    for (const [product, initial] of [
      [deep, deepStock],
      [scarce, scarceStock],
    ] as const) {
      const left = await stockLeft(product);
      const units = await unitsByStatus(product);
      const held = (units.pending_payment ?? 0) + (units.paid ?? 0);
      const reported = [...told.values()].reduce((n, lines) => n + (lines[product] ?? 0), 0);
      const givenBack = (units.cancelled ?? 0) + (units.expired ?? 0);
      const detail = JSON.stringify({ product, initial, left, units, reported, terminated, cancelled, expired, outcomes });
      t.diagnostic(detail);
      assert.ok(left >= 0, `never below zero: ${detail}`);
      assert.equal(initial - left, held, `units gone from stock = units held by orders: ${detail}`);
      assert.equal(reported, held + givenBack, `units in replies = units held + units given back (cancelled, expired): ${detail}`);
      const purchases = await db.primary.execute<{ n: string }>(sql`select coalesce(sum(quantity), 0) as n from buyer_purchases where product_id = ${product}`);
      assert.equal(Number(purchases.rows[0]!.n), held, `purchase counts = units held: ${detail}`);
    }
    const inDatabase = await db.primary.execute<{ id: number }>(sql`select id from orders`);
    assert.deepEqual(
      inDatabase.rows.map((r) => Number(r.id)).sort((a, b) => a - b),
      [...told.keys()].sort((a, b) => a - b),
      'every committed order was reported to its process, and every reported order is committed',
    );
  });
});

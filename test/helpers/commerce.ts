import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import client from 'prom-client';
import { loadConfig } from '../../src/platform/config/config.ts';
import type { Db } from '../../src/platform/db/client.ts';
import { createSessionStore, hashPassword, SESSION_COOKIE } from '../../src/modules/customers/index.ts';
import { createInventoryRepository, createStockGate, publishingStockGate, stockViewNoticeCounterFor } from '../../src/modules/inventory/index.ts';
import { createOrderExpiry, createOrderLifecycleRepository, expiredCounterFor, type OrderExpiry } from '../../src/modules/orders/index.ts';
import type { TestApp } from './app.ts';
import { TEST_REDIS_URL } from './db.ts';

export const TEST_PASSWORD = 'correct horse battery staple';

/** Inserts `count` customers straight into the database (one shared hash: no KDF per customer). */
export async function insertCustomers(db: Db, count: number, tag = 'c'): Promise<number[]> {
  const hash = await hashPassword(TEST_PASSWORD, { memoryKib: 1024, passes: 1, parallelism: 1 });
  const result = await db.execute<{ id: string }>(sql`
    insert into customers (email, name, password_hash)
    select ${tag} || '-' || g || '-' || floor(random() * 1e9)::bigint || '@example.com', 'Customer ' || g, ${hash}
    from generate_series(1, ${count}) g
    returning id`);
  return result.rows.map((row) => Number(row.id));
}

/**
 * Session cookies for customers, minted through the app's own session store with the instances'
 * environment (same Redis prefix and secret), so every instance accepts them.
 */
export async function mintSessionCookies(env: Record<string, string>, customerIds: number[]): Promise<string[]> {
  const config = loadConfig(env);
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: false });
  try {
    const store = createSessionStore({ redis, prefix: config.redis.prefix, secret: config.secrets.sessionSecret, ttlS: 3600 });
    const ids = await Promise.all(customerIds.map((id) => store.create(id)));
    return ids.map((id) => `${SESSION_COOKIE}=${id}`);
  } finally {
    redis.disconnect();
  }
}

/** The `name=value` part of a Set-Cookie header for the session cookie. */
export function sessionCookieOf(setCookie: string | string[] | undefined): string | undefined {
  const all = Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie];
  const found = all.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  return found?.split(';')[0];
}

/** The stock view notices this test app published and received so far (`workerExpiryFor` counts on its registry too). */
export async function stockViewNotices(t: TestApp): Promise<{ published: number; received: number }> {
  const values = (await stockViewNoticeCounterFor(t.platform.metrics.registry).get()).values;
  const of = (outcome: string) => values.filter((v) => v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
  return { published: of('published'), received: of('received') };
}

/**
 * Waits until a notice was published since `publishedBefore` and every notice published by this process was
 * heard by its own web app's stock view (one subscriber per process: each message is received once).
 */
export async function stockViewNoticesHeard(t: TestApp, publishedBefore: number, withinMs = 30_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const n = await stockViewNotices(t);
    if (n.published > publishedBefore && n.received >= n.published) return;
    if (Date.now() > deadline) throw new Error(`stock view notices not heard within ${withinMs} ms: ${JSON.stringify(n)} (published before: ${publishedBefore})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The worker's reservation-expiry sweep, in the test's process with its own stock gate (as the worker
 * role has its own), over the test app's database and Redis: `sweepOnce()` expires what the worker would. Its gate
 * publishes the products it gives back to every web instance's stock view, as the worker's does
 * (`publishingStockGate`), counted on the app's registry. `notices: false` leaves them unpublished, as a lost
 * pub/sub message would.
 */
export function workerExpiryFor(t: TestApp, paymentWindowS: number, options: { notices?: boolean } = {}): OrderExpiry {
  const inventory = createInventoryRepository({ shards: t.config.checkout.stockShards });
  const shared = createStockGate({
    redis: t.platform.redis,
    prefix: t.config.redis.prefix,
    gateTtlS: t.config.checkout.stockGateTtlS,
    snapshot: (productId, tokens) => inventory.snapshot(t.platform.db.primary, productId, tokens),
  });
  const gate =
    options.notices === false
      ? shared
      : publishingStockGate(shared, { redis: t.platform.redis, prefix: t.config.redis.prefix, logger: t.platform.logger, counter: stockViewNoticeCounterFor(t.platform.metrics.registry) });
  return createOrderExpiry({
    db: t.platform.db,
    lifecycle: createOrderLifecycleRepository({ paymentWindowS }),
    gate,
    expired: expiredCounterFor(new client.Registry()),
    logger: t.platform.logger,
  });
}

/** The ids of a customer's orders, oldest first, read from PostgreSQL (what was placed, whatever the replies said). */
export async function orderIdsOf(db: Db, customerId: number): Promise<number[]> {
  const rows = await db.execute<{ id: number }>(sql`select id from orders where customer_id = ${customerId} order by id`);
  return rows.rows.map((r) => Number(r.id));
}

/** Units of a product in placed orders, read from PostgreSQL: the oversell check compares it with the stock. */
export async function unitsSold(db: Db, productId: number): Promise<number> {
  const rows = await db.execute<{ n: string }>(sql`select coalesce(sum(quantity), 0) as n from order_items where product_id = ${productId}`);
  return Number(rows.rows[0]!.n);
}

/** Deletes every Redis key holding `prefix`, as a restart without persistence loses them (never a flush: Redis is shared). */
export async function loseRedisData(redis: Redis, prefix: string): Promise<void> {
  for (let cursor = '0'; ; ) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
    if (cursor === '0') return;
  }
}

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig, type AppConfig } from '../src/platform/config/config.ts';
import { createIdempotencyStore } from '../src/platform/idempotency/idempotency-store.ts';
import { createLogger } from '../src/platform/logger/logger.ts';
import { createPlatform, type Platform } from '../src/platform/platform.ts';
import { composeWeb } from '../src/web/compose.ts';
import { buildServer, type App } from '../src/web/server.ts';
import { ADMIN_TOKEN, testEnv } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { createTestDatabase, deleteRedisKeys, TEST_REDIS_URL, testPrefix, type TestDatabase } from './helpers/db.ts';
import { killGroup } from './helpers/process-group.ts';

/** A lease far shorter than the 60 s default, so a request held a few seconds outlives it several times over. */
const LEASE_MS = 1500;

async function until<T>(what: string, probe: () => Promise<T | undefined>, withinMs = 15_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('an Idempotency-Key whose request outlives its lease', () => {
  let database: TestDatabase;
  let config: AppConfig;
  let env: Record<string, string>;
  let platform: Platform;
  let app: App;
  let cookie: string;
  let customerId: number;
  let productId: number;

  before(async () => {
    database = await createTestDatabase();
    env = testEnv(database.url, { RATE_LIMIT_CHECKOUT_MAX: '1000', DB_STATEMENT_TIMEOUT_MS: '30000' });
    config = loadConfig(env);
    platform = createPlatform(config, 'web', createLogger({ level: 'silent' }));
    const web = await composeWeb(platform);
    // The web role's store, with a short lease.
    const idempotency = createIdempotencyStore({ redis: web.connections.stateRedis, prefix: config.redis.prefix, retentionS: config.checkout.idempotencyRetentionS, leaseMs: LEASE_MS });
    app = await buildServer({ ...web, idempotency });
    await app.ready();
    [customerId] = (await insertCustomers(platform.db.primary, 1, 'lease')) as [number];
    [cookie] = (await mintSessionCookies(env, [customerId])) as [string];
    const product = await app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { sku: 'LEASE-1', name: 'Lease', priceCents: 500, available: 10 } });
    assert.equal(product.statusCode, 201, product.body);
    productId = product.json().id;
  });
  after(async () => {
    await app?.close();
    await platform?.close();
    await database?.drop();
    await deleteRedisKeys(`${config.redis.prefix}:*`).catch(() => {});
  });

  const order = (key: string) => app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': key }, payload: { items: [{ productId, quantity: 1 }] } });

  it('answers a retry IDEMPOTENCY_IN_PROGRESS while the first attempt still runs past its lease, and places one order', async () => {
    const key = `held-${Date.now()}`;
    const lockWaiters = async () =>
      (await platform.db.primary.execute<{ n: number }>(sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)).rows[0]!.n;
    // A test connection holds the orders table: the first attempt's order waits for it.
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    await holder.query('begin');
    await holder.query('lock table orders in exclusive mode');
    let first: ReturnType<typeof order> | undefined;
    let second: ReturnType<typeof order> | undefined;
    try {
      first = order(key);
      await until('the first attempt to wait for the orders table', async () => ((await lockWaiters()) >= 1 ? true : undefined));
      // Not an assertion: the first attempt is held for three of its leases.
      await sleep(3 * LEASE_MS);
      second = order(key);
      // Answered from Redis alone when the key is still the first attempt's; a retry that took it over would run and
      // wait behind the first (the lock is then let go after this wait, which decides nothing by itself).
      const giveUp = new AbortController();
      const waited = sleep(10 * LEASE_MS, undefined, { signal: giveUp.signal }).then(
        () => undefined,
        () => undefined,
      );
      const retried = await Promise.race([second, waited]);
      giveUp.abort();
      assert.ok(retried !== undefined, 'the retry did not answer while the first attempt was held: it took the key over and ran');
      assert.equal(retried.statusCode, 409, retried.body);
      assert.equal(retried.json().error.code, 'IDEMPOTENCY_IN_PROGRESS');
      assert.equal(retried.headers['retry-after'], '1');
      assert.equal(await lockWaiters(), 1, 'the first attempt is still held');
    } finally {
      await holder.query('commit');
      await holder.end();
    }
    const placed = await first;
    assert.equal(placed.statusCode, 201, placed.body);
    await second;
    const orders = await platform.db.primary.execute<{ id: number }>(sql`select id from orders where customer_id = ${customerId} and idempotency_key = ${key}`);
    assert.deepEqual(orders.rows.map((row) => Number(row.id)), [placed.json().id]);
    const replayed = await order(key);
    assert.equal(replayed.statusCode, 201, replayed.body);
    assert.equal(replayed.headers['idempotent-replayed'], 'true');
    assert.equal(replayed.json().id, placed.json().id);
  });
});

describe('an Idempotency-Key whose owner process is killed', () => {
  const prefix = testPrefix();
  let redis: Redis;
  before(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  after(async () => {
    redis.disconnect();
    await deleteRedisKeys(`${prefix}:*`).catch(() => {});
  });

  it('stays in progress while its live owner renews the lease, and is taken over within one lease of the kill', async () => {
    const store = createIdempotencyStore({ redis, prefix, retentionS: 3600, leaseMs: LEASE_MS });
    const key = `owned-${Date.now()}`;
    const recordKey = `${prefix}:idem:s:${createHash('sha256').update(key).digest('base64url')}`;
    const owner = spawn(process.execPath, ['test/helpers/idempotency-owner-process.ts'], {
      env: { ...process.env, REDIS_URL: TEST_REDIS_URL, PREFIX: prefix, SCOPE: 's', KEY: key, LEASE_MS: String(LEASE_MS) },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    const pid = owner.pid!;
    try {
      const [line] = (await Promise.race([once(owner.stdout!, 'data'), once(owner, 'exit').then(() => assert.fail('the owner process exited before holding its key'))])) as [Buffer];
      assert.ok(JSON.parse(line.toString()).lease);
      // Three leases long, the live owner keeps its key.
      const end = Date.now() + 3 * LEASE_MS;
      while (Date.now() < end) {
        assert.deepEqual(await store.begin('s', key, 'fingerprint'), { kind: 'in-progress' });
        await sleep(100);
      }
    } finally {
      killGroup(pid);
    }
    await once(owner, 'exit');
    const ttl = await redis.pttl(recordKey);
    assert.ok(ttl > 0 && ttl <= LEASE_MS, `the dead owner's lease runs out within one lease (PTTL ${ttl} ms)`);
    const taken = await until('the key to be taken over', async () => {
      const begun = await store.begin('s', key, 'fingerprint');
      return begun.kind === 'started' ? begun : undefined;
    });
    assert.equal(taken.kind, 'started');
  });
});

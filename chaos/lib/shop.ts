/**
 * The chaos suite's shop: its own PostgreSQL and Redis, an SMTP sink, `salescale serve` instances
 * and `salescale worker` processes as real child processes on loopback, and the data a sale needs
 * (buyers who sign in, products with stock).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { hashPassword } from '../../src/modules/customers/index.ts';
import { createInventoryRepository, createStockGate } from '../../src/modules/inventory/index.ts';
import { createDatabase } from '../../src/platform/db/client.ts';
import { SQL_DEFINITIONS } from '../../src/modules/sql-definitions.ts';
import { runMigrations } from '../../src/platform/db/migrate.ts';
import { freePort } from '../../src/platform/local/local-stack.ts';
import { startInstance, type Instance } from '../../test/helpers/instances.ts';
import { startPrivateRedis, type PrivateRedis } from '../../test/helpers/redis-server.ts';
import { startSmtpSink, type SmtpSink } from '../../test/helpers/smtp-sink.ts';
import type { Buyer } from './load.ts';
import { startPrivatePostgres, type PrivatePostgres } from './postgres.ts';

export const ADMIN_TOKEN = 'chaos-admin-token-0123456789';
const PASSWORD = 'chaos buyer password';
const FOLLOW_UPS_NOW = 'email=0,analytics=0,inventory=0';

export interface ShopOptions {
  /** redis-server arguments, e.g. `['--appendonly', 'yes']`. */
  redisArgs?: string[];
  /** Environment of every instance and worker (on top of the suite's). */
  env?: Record<string, string>;
}

export interface Shop {
  postgres: PrivatePostgres;
  redis: PrivateRedis;
  smtp: SmtpSink;
  env: Record<string, string>;
  pool: pg.Pool;
  startWeb(env?: Record<string, string>): Promise<Instance>;
  startWorker(env?: Record<string, string>): Promise<Instance>;
  /** Inserts `count` customers who can sign in (cheap password hashes). */
  createBuyers(count: number, tag: string): Promise<Buyer[]>;
  /** A product with `stock` units (8 shards, as the default). */
  createProduct(name: string, stock: number): Promise<number>;
  /** Units left in PostgreSQL. */
  stockOf(productId: number): Promise<number>;
  /** The stock gate's figure in Redis (undefined when absent: rebuilt from PostgreSQL at next use). */
  gateOf(productId: number): Promise<number | undefined>;
  /** Rebuilds a missing gate from PostgreSQL, as the next checkout would. */
  ensureGate(productId: number): Promise<void>;
  close(): Promise<void>;
}

export async function startShop(options: ShopOptions = {}): Promise<Shop> {
  const postgres = await startPrivatePostgres();
  const redis = await startPrivateRedis({ args: options.redisArgs });
  const smtp = await startSmtpSink();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'salescale-chaos-data-'));
  await runMigrations(postgres.url, SQL_DEFINITIONS);
  const env: Record<string, string> = {
    // Not production: the test payment provider (tok_ok) is refused there, and shoppers pay with it.
    NODE_ENV: 'test',
    DATABASE_URL: postgres.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: 'chaos',
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    SESSION_SECRET: 'chaos-session-secret-0123456789abcdef',
    SMTP_URL: smtp.url,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'error',
    DB_POOL_MAX: '10',
    OUTBOX_POLL_INTERVAL_MS: '100',
    WORKER_LOCK_DURATION_MS: '3000',
    // Below the lock duration (checked at load): a frozen worker's job transaction is ended before its re-delivery.
    WORKER_JOB_IDLE_TIMEOUT_MS: '2500',
    SHUTDOWN_TIMEOUT_MS: '10000',
    // Every shopper comes from 127.0.0.1: the per-address limits would measure the limiter, not the faults.
    RATE_LIMIT_GENERAL_MAX: '10000000',
    RATE_LIMIT_CUSTOMER_MAX: '10000000',
    RATE_LIMIT_CHECKOUT_MAX: '10000000',
    RATE_LIMIT_LOGIN_MAX: '10000000',
    RATE_LIMIT_SIGNUP_MAX: '10000000',
    LOAD_SHED_ENABLED: 'false',
    // Follow-ups are not deferred by a degraded mode, so that missing emails are missing, not late.
    DEGRADE_ELEVATED_QUEUE_DELAY_MS: FOLLOW_UPS_NOW,
    DEGRADE_CRITICAL_QUEUE_DELAY_MS: FOLLOW_UPS_NOW,
    ...options.env,
  };
  const pool = new pg.Pool({ connectionString: postgres.url, max: 3 });
  pool.on('error', () => {});
  const processes: Instance[] = [];

  async function withGate<T>(run: (gate: ReturnType<typeof createStockGate>) => Promise<T>): Promise<T> {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    const db = createDatabase({ url: postgres.url, poolMin: 0, poolMax: 1, statementTimeoutMs: 0, applicationName: 'salescale-chaos' });
    try {
      const inventory = createInventoryRepository();
      return await run(createStockGate({ redis: client, prefix: 'chaos', snapshot: (id, tokens) => inventory.snapshot(db.primary, id, tokens) }));
    } finally {
      client.disconnect();
      await db.close();
    }
  }

  return {
    postgres,
    redis,
    smtp,
    env,
    pool,
    async startWeb(extra = {}) {
      const instance = await startInstance({ env: { ...env, ...extra }, timeoutMs: 90_000 });
      processes.push(instance);
      return instance;
    },
    async startWorker(extra = {}) {
      const port = String(await freePort());
      const instance = await startInstance({ env: { ...env, ...extra, PORT: port, WORKER_PORT: port }, command: 'worker', timeoutMs: 90_000 });
      processes.push(instance);
      return instance;
    },
    async createBuyers(count, tag) {
      const hash = await hashPassword(PASSWORD, { memoryKib: 1024, passes: 1, parallelism: 1 });
      const emails = Array.from({ length: count }, (_, i) => `${tag}-${i}@chaos.example`);
      await pool.query(`INSERT INTO customers (email, name, password_hash) SELECT e, 'Chaos buyer', $2 FROM unnest($1::text[]) AS e`, [emails, hash]);
      return emails.map((email) => ({ email, password: PASSWORD }));
    },
    async createProduct(name, stock) {
      const web = processes.find((p) => p.process.exitCode === null && p.process.spawnargs.includes('serve'));
      if (!web) throw new Error('no web instance running');
      const response = await fetch(`${web.url}/api/v1/admin/products`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sku: `${name.replace(/[^A-Za-z0-9]+/g, "-")}-${Date.now()}`, name, priceCents: 1999, available: stock }),
      });
      if (response.status !== 201) throw new Error(`creating a product: ${response.status} ${await response.text()}`);
      return ((await response.json()) as { id: number }).id;
    },
    async stockOf(productId) {
      const { rows } = await pool.query<{ n: string }>('SELECT coalesce(sum(available), 0) AS n FROM product_stock WHERE product_id = $1', [productId]);
      return Number(rows[0]!.n);
    },
    gateOf: (productId) => withGate(async (gate) => (await gate.peek([productId])).get(productId)),
    ensureGate: (productId) => withGate(async (gate) => void (await gate.ensure(productId))),
    async close() {
      await Promise.allSettled(processes.map((p) => p.stop('SIGKILL')));
      await pool.end().catch(() => {});
      await smtp.close().catch(() => {});
      await redis.destroy().catch(() => {});
      await postgres.destroy().catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * What a scenario runs against: fresh databases on the machine's PostgreSQL and `salescale serve`
 * child processes on the machine's Redis (own key prefix), started and stopped by the runner.
 */
import path from 'node:path';
import pg from 'pg';
import { seedCatalog } from '../src/modules/catalog/index.ts';
import { checkoutEnv } from '../src/platform/config/checkout.config.ts';
import { TEST_REDIS_URL, createTestDatabase, deleteRedisKeys, testPrefix } from '../test/helpers/db.ts';
import { startChild } from './lib.ts';

export const MAIN = path.resolve(import.meta.dirname, '../src/main.ts');

export interface BenchDatabase {
  url: string;
  /** Redis key prefix shared by every instance started on this database (one "deployment"). */
  redisPrefix: string;
  products: number;
  drop(): Promise<void>;
}

export interface StartAppOptions {
  /** Extra environment (overrides the bench defaults). */
  env?: Record<string, string>;
  /** Node flags for the child, e.g. `['--cpu-prof', '--cpu-prof-dir=/tmp/prof']`. */
  nodeArgs?: string[];
}

export interface RunningApp {
  url: string;
  /** The instance's process id (for CPU accounting: `cpuSecondsOf`). */
  pid: number;
  stop(): Promise<void>;
}

export const BENCH_SECRETS = {
  ADMIN_API_TOKEN: 'bench-admin-token-0123456789',
  SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
};

/**
 * A migrated database for one bench run, with `products` seeded products whose stock is split into `stockShards` rows
 * (@defaultValue `STOCK_SHARDS`' default, as the apps started on it split stock unless their env says otherwise).
 */
export async function createBenchDatabase(options: { products?: number; categories?: number; stockShards?: number } = {}): Promise<BenchDatabase> {
  const database = await createTestDatabase();
  const products = options.products ?? 0;
  if (products > 0) {
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    try {
      const stockShards = options.stockShards ?? checkoutEnv.STOCK_SHARDS.parse(undefined, 'STOCK_SHARDS');
      await seedCatalog(pool, { products, categories: options.categories ?? 24, stockShards });
    } finally {
      await pool.end();
    }
  }
  const redisPrefix = testPrefix();
  return {
    url: database.url,
    redisPrefix,
    products,
    // A run leaves sessions and 24 h idempotency records by the hundred thousand: remove them with the database.
    drop: async () => {
      await database.drop();
      await Promise.all([deleteRedisKeys(`${redisPrefix}:*`), deleteRedisKeys(`{${redisPrefix}}:*`)]).catch(() => {});
    },
  };
}

/**
 * The environment of a benchmarked instance: production mode, warn-level logs, and no rate limits
 * or load shedding, since one load generator on one address would otherwise measure the 429/503
 * refusal paths instead of the work.
 */
export function benchEnv(database: BenchDatabase, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: database.redisPrefix,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_ENABLED: 'false',
    LOAD_SHED_ENABLED: 'false',
    ...BENCH_SECRETS,
    ...extra,
  };
}

export async function startApp(database: BenchDatabase, options: StartAppOptions = {}): Promise<RunningApp> {
  const child = await startChild(MAIN, ['serve'], benchEnv(database, options.env), '/ready', options.nodeArgs);
  return { url: child.url, pid: child.pid, stop: child.stop };
}

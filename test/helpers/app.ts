import { loadConfig, type AppConfig } from '../../src/platform/config/config.ts';
import { createLogger, type Logger } from '../../src/platform/logger/logger.ts';
import { createPlatform, type Platform } from '../../src/platform/platform.ts';
import { composeWeb, type WebServices } from '../../src/web/compose.ts';
import { buildServer, type App } from '../../src/web/server.ts';
import { TEST_REDIS_URL, createTestDatabase, deleteRedisKeys, testPrefix, type TestDatabase } from './db.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  app: App;
  platform: Platform;
  config: AppConfig;
  database: TestDatabase;
  /** Environment for child instances that should share this app's database and Redis keys. */
  env: Record<string, string>;
  admin: { authorization: string };
  close(): Promise<void>;
}

/**
 * The environment of a test instance: its own database and Redis prefix, known secrets, quiet logs,
 * load shedding off unless a test turns it on (a busy CI machine must not make unrelated tests flaky).
 */
export function testEnv(databaseUrl: string, extraEnv: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: testPrefix(),
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    SESSION_SECRET: 'test-session-secret-0123456789abcdef',
    LOG_LEVEL: 'silent',
    LOAD_SHED_ENABLED: 'false',
    // The smallest argon2id cost: tests register many accounts; production keeps the documented defaults.
    PASSWORD_HASH_MEMORY_KIB: '1024',
    PASSWORD_HASH_PASSES: '1',
    // Tests register many accounts from one address; the sign-up limit's own tests set it.
    RATE_LIMIT_SIGNUP_MAX: '100000',
    ...extraEnv,
  };
}

/**
 * An in-process web app on its own database and Redis prefix, for `app.inject` tests. `addRoutes`
 * lets a test register routes of its own (one that fails on demand, one that blocks the event loop).
 */
export async function createTestApp(
  extraEnv: Record<string, string> = {},
  addRoutes?: (app: App) => void,
  options: {
    /** The URL the app uses for its database (e.g. through a fault-injecting proxy). */
    databaseUrl?: (url: string) => string;
    /** DATABASE_REPLICA_URL from the test database's URL (e.g. the same database through a proxy). */
    replicaUrl?: (url: string) => string;
    logger?: Logger;
    /** Sees (and may wrap) the composed services before the server is built on them. */
    services?: (web: WebServices) => void;
  } = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  const replica: Record<string, string> = options.replicaUrl ? { DATABASE_REPLICA_URL: options.replicaUrl(database.url) } : {};
  const env = testEnv(options.databaseUrl?.(database.url) ?? database.url, { ...replica, ...extraEnv });
  const config = loadConfig(env);
  const platform = createPlatform(config, 'web', options.logger ?? createLogger({ level: 'silent' }));
  const web = await composeWeb(platform);
  options.services?.(web);
  const app = await buildServer(web);
  addRoutes?.(app);
  await app.ready();
  // A deployed instance is routed to only once /ready says so; tests start at once, so wait for the
  // fast-fail Redis connections (their commands are refused, not queued, until they are connected).
  // (Bounded: a test may start an app against a Redis that is down on purpose: 10 s then. Against the shared test
  // Redis, which is up, 30 s: a loaded machine can take over 10 s to connect, and the test's first command then fails.)
  const connected = (redis: typeof platform.redis) => (redis.status === 'ready' ? undefined : new Promise((resolve) => redis.once('ready', resolve)));
  const redisExpectedUp = config.redis.url === TEST_REDIS_URL && config.redis.cacheUrl === TEST_REDIS_URL;
  await Promise.race([Promise.all([connected(platform.redis), connected(platform.cacheRedis)]), new Promise((resolve) => setTimeout(resolve, redisExpectedUp ? 30_000 : 10_000).unref())]);
  return {
    app,
    platform,
    config,
    database,
    env,
    admin: { authorization: `Bearer ${ADMIN_TOKEN}` },
    async close() {
      await app.close();
      await platform.close();
      await database.drop();
      // Sessions, idempotency records, carts and gates would otherwise outlive the test in the shared Redis.
      const prefix = config.redis.prefix;
      await Promise.all([deleteRedisKeys(`${prefix}:*`), deleteRedisKeys(`{${prefix}}:*`)]).catch(() => {});
    },
  };
}

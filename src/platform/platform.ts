import type { Redis } from 'ioredis';
import { createRedisCache, type Cache } from './cache/cache.ts';
import { createClusterNode, type ClusterNode } from './cluster/cluster-node.ts';
import { requireServices, type AppConfig } from './config/config.ts';
import { createDatabase, type Database } from './db/client.ts';
import { createLogger, type Logger } from './logger/logger.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { checkSelectedDatabases, closeRedis, createRedis } from './redis/redis.ts';

/** How long a role's start waits for a connection to a Redis database other than 0 before checking it later instead. */
export const REDIS_START_WAIT_MS = 5000;

/** Everything a process role holds open; composed once per process. */
export interface Platform {
  config: AppConfig;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  redis: Redis;
  cacheRedis: Redis;
  cache: Cache;
  /**
   * The process's one pub/sub connection to `REDIS_URL` (ioredis role `subscriber`), opened on first
   * use: the cluster's degrade-mode changes, the in-process cache's invalidations (when the cache uses
   * the same Redis), the waiting room's notices and the stock view's (units given back) each subscribe their
   * own channel on it and hear only that channel. Closed by `close()`.
   */
  subscriber(): Redis;
  /** Heartbeat and the cluster-wide degrade mode; idle until a role joins. */
  cluster: ClusterNode;
  /**
   * Refuses (a `ConfigError`) a REDIS_URL or CACHE_REDIS_URL database that the server does not have, before the role
   * uses `redis` or `cacheRedis` (ioredis would work in database 0 without a word): see `checkSelectedDatabases`.
   * The pub/sub connections are not checked: channels belong to no database.
   */
  checkRedisDatabases(): Promise<void>;
  close(): Promise<void>;
}

export function createPlatform(config: AppConfig, role: string, logger: Logger = createLogger({ level: config.logLevel, name: role, instanceId: config.instanceId })): Platform {
  const urls = requireServices(config);
  for (const warning of config.warnings) logger.warn(warning);
  const metrics = createMetrics({ role, instanceId: config.instanceId, slowQueryMs: config.observability.slowQueryMs, dataDir: config.dataDir, logger });
  const db = createDatabase({
    url: urls.databaseUrl,
    replicaUrl: config.db.replicaUrl,
    caCert: config.db.caCert,
    poolMin: config.db.poolMin,
    poolMax: config.db.poolMax,
    poolQueueMax: config.db.poolQueueMax,
    statementTimeoutMs: config.db.statementTimeoutMs,
    applicationName: `salescale-${role}`,
    logger,
  });
  metrics.observePool('primary', db.pools.primary, config.db.poolMax);
  if (db.pools.replica) metrics.observePool('replica', db.pools.replica, config.db.poolMax);
  const redis = createRedis(urls.redisUrl, { name: `salescale-${role}`, role: 'fast-fail', logger, tlsVerify: config.redis.tlsVerify });
  const cacheRedis = urls.cacheRedisUrl === urls.redisUrl ? redis : createRedis(urls.cacheRedisUrl, { name: `salescale-${role}-cache`, role: 'fast-fail', logger, tlsVerify: config.redis.tlsVerify });
  let shared: Redis | undefined;
  const subscriber = () => (shared ??= createRedis(urls.redisUrl, { name: `salescale-${role}-sub`, role: 'subscriber', logger, tlsVerify: config.redis.tlsVerify }));
  // The in-process layer hears invalidations on the shared subscriber, or on its own when the cache has its own Redis.
  const cacheSubscriber = config.cacheLocal.enabled
    ? urls.cacheRedisUrl === urls.redisUrl
      ? subscriber()
      : createRedis(urls.cacheRedisUrl, { name: `salescale-${role}-cache-sub`, role: 'subscriber', logger, tlsVerify: config.redis.tlsVerify })
    : undefined;
  const local = cacheSubscriber ? { subscriber: cacheSubscriber, maxEntries: config.cacheLocal.maxEntries } : undefined;
  const cache = createRedisCache({ redis: cacheRedis, prefix: config.redis.prefix, metrics, logger, local });
  const cluster = createClusterNode({
    config: config.cluster,
    normalTtl: config.cacheTtl,
    instanceId: config.instanceId,
    prefix: config.redis.prefix,
    redis,
    subscriber,
    db,
    metrics,
    logger,
  });
  return {
    config,
    logger,
    metrics,
    db,
    redis,
    cacheRedis,
    cache,
    subscriber,
    cluster,
    checkRedisDatabases: () =>
      checkSelectedDatabases(
        [
          { client: redis, variable: 'REDIS_URL' },
          ...(cacheRedis === redis ? [] : [{ client: cacheRedis, variable: 'CACHE_REDIS_URL' }]),
        ],
        { timeoutMs: REDIS_START_WAIT_MS, logger },
      ),
    async close() {
      await cluster.close().catch((error) => logger.warn({ err: error }, 'could not leave the cluster'));
      await Promise.allSettled([db.close(), closeRedis(redis), cacheRedis === redis ? undefined : closeRedis(cacheRedis), cache.close?.()]);
      // After the cache and the cluster left their channels.
      await Promise.allSettled([shared ? closeRedis(shared) : undefined, cacheSubscriber && cacheSubscriber !== shared ? closeRedis(cacheSubscriber) : undefined]);
    },
  };
}

/**
 * Redis connections the app's processes open, per Redis: what `plan` checks against maxclients and what the Heroku
 * renderer sizes its Key-Value Store plans with (manifests/heroku-redis.ts), one count for both.
 */

/**
 * Connections one process opens, per Redis. Web (src/platform/platform.ts, src/web/compose.ts): the platform's
 * connection, the pub/sub subscriber, the state and the queue-producer connections on REDIS_URL; the cache's
 * connection and its subscriber on CACHE_REDIS_URL. Worker (src/worker): the platform's connection, the subscriber,
 * the queue connection, plus one blocking connection per queue (BullMQ's Worker duplicates it); the cache's two.
 * Without CACHE_REDIS_URL the cache uses the platform's connection and subscriber: nothing more on REDIS_URL.
 */
export const REDIS_CONNECTIONS_PER_PROCESS = { web: { queue: 4, cache: 2 }, worker: { queue: 3, cache: 2 }, perQueue: 1 } as const;

/** Connections one `salescale` CLI command holds on each Redis it uses (src/cli/queues.ts, the platform's). */
export const CLI_REDIS_CONNECTIONS = 1;

/** Redis's own default `maxclients` (redis.conf); managed tiers set lower ones (Heroku premium-0: 40, Azure C0: 256). */
export const REDIS_DEFAULT_MAXCLIENTS = 10_000;

/** The processes counted: instances at the maxima and those a rolling update adds beside them. */
export interface RedisConnectionProcesses {
  web: number;
  worker: number;
  /** Queues each worker runs (one blocking connection each). */
  workerQueues: number;
}

/** Connections per process on the queue Redis (REDIS_URL) and on the cache's own Redis (CACHE_REDIS_URL). */
export function getRedisConnectionsPerProcess(workerQueues: number): { queue: { web: number; worker: number }; cache: { web: number; worker: number } } {
  const c = REDIS_CONNECTIONS_PER_PROCESS;
  return { queue: { web: c.web.queue, worker: c.worker.queue + c.perQueue * workerQueues }, cache: { web: c.web.cache, worker: c.worker.cache } };
}

/** Connections on each Redis for these processes, `extra` (CLI commands, one-off dynos) on each. */
export function countRedisConnections(p: RedisConnectionProcesses, extra: number): { queue: number; cache: number } {
  const per = getRedisConnectionsPerProcess(p.workerQueues);
  return { queue: p.web * per.queue.web + p.worker * per.queue.worker + extra, cache: p.web * per.cache.web + p.worker * per.cache.worker + extra };
}

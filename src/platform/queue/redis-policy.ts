import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Thrown in production when the queue Redis could silently lose jobs. */
export class UnsafeQueueRedisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeQueueRedisError';
  }
}

export interface QueueRedisReport {
  maxmemoryPolicy: string | undefined;
  maxmemory: number | undefined;
  aofEnabled: boolean | undefined;
  problems: string[];
}

function infoField(info: string, field: string): string | undefined {
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}

/**
 * Reads the queue Redis's eviction policy and persistence from INFO (CONFIG GET is often disabled
 * on managed Redis). BullMQ needs `noeviction`: under `allkeys-lru` (what a cache wants) Redis
 * evicts queued jobs and job locks under memory pressure, silently.
 */
export async function inspectQueueRedis(redis: Redis): Promise<QueueRedisReport> {
  const info = await redis.info();
  const maxmemoryPolicy = infoField(info, 'maxmemory_policy');
  const maxmemoryRaw = infoField(info, 'maxmemory');
  const aof = infoField(info, 'aof_enabled');
  const problems: string[] = [];
  if (maxmemoryPolicy !== undefined && maxmemoryPolicy !== 'noeviction') {
    problems.push(
      `the queue Redis has maxmemory-policy ${maxmemoryPolicy}: under memory pressure it evicts queued jobs and job locks. ` +
        'Set maxmemory-policy noeviction on REDIS_URL and put the cache on its own Redis (CACHE_REDIS_URL) with allkeys-lru.',
    );
  }
  return { maxmemoryPolicy, maxmemory: maxmemoryRaw === undefined ? undefined : Number(maxmemoryRaw), aofEnabled: aof === undefined ? undefined : aof === '1', problems };
}

/**
 * At worker start: an evicting queue Redis is fatal in production and a loud error elsewhere. A queue
 * Redis without AOF persistence is a warning (a restart loses every queued job; the outbox relay
 * re-sends the relayed rows not yet applied, within retention, and their delays start again).
 */
export async function checkQueueRedis(redis: Redis, options: { isProduction: boolean; logger: Logger }): Promise<QueueRedisReport> {
  const report = await inspectQueueRedis(redis);
  for (const problem of report.problems) {
    if (options.isProduction) throw new UnsafeQueueRedisError(problem);
    options.logger.error({ maxmemoryPolicy: report.maxmemoryPolicy }, `UNSAFE QUEUE REDIS: ${problem}`);
  }
  if (report.aofEnabled === false) {
    options.logger.warn('the queue Redis has no AOF persistence (appendonly no): a Redis restart loses queued and delayed jobs; the outbox relay re-sends those of the last OUTBOX_RETENTION_HOURS, delays restarting');
  }
  return report;
}

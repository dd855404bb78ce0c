import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.ts';

/** The cache port the modules depend on. */
export interface Cache {
  /**
   * Cache-aside read. Returns the cached value while it is fresh and none of its tags was
   * invalidated since it was written; otherwise loads it once across all instances.
   * Never throws because Redis is down: it then calls `load` directly.
   */
  getOrSet<T>(key: string, load: () => Promise<T>, options: CacheEntryOptions): Promise<T>;
  /** Makes every entry written under one of these tags stale for all instances, at once. */
  invalidateTags(tags: string[]): Promise<void>;
}

export interface CacheEntryOptions {
  ttlSeconds: number;
  /** Invalidation groups, e.g. `product:42`, `products`. */
  tags?: string[];
  /** Metric label; the first key segment when omitted. */
  name?: string;
}

export interface RedisCacheOptions {
  redis: Redis;
  prefix: string;
  metrics?: Metrics;
  logger?: Logger;
  /**
   * How long an expired entry may still be served while one instance reloads it.
   * @defaultValue 30
   */
  staleSeconds?: number;
  /**
   * How long a loader holds the per-key lock; a crashed loader frees the key after this.
   * @defaultValue 5000
   */
  lockMs?: number;
  /**
   * How long a caller that lost the lock race waits for the winner before loading itself.
   * @defaultValue 1000
   */
  waitMs?: number;
}

interface Entry<T> {
  /** Tag versions at the time the value was loaded. */
  v: string[];
  /** Soft expiry (epoch ms): after it the entry is stale but may be served during a reload. */
  s: number;
  d: T;
}

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * Invalidation uses versioned tags instead of key patterns: each entry records the version of its
 * tags when it was loaded, and invalidating a tag is one INCR. A read fetches the entry and its tag
 * versions in one MGET, so there is no KEYS/SCAN anywhere and no window in which a stale entry of an
 * invalidated tag is served.
 */
export function createRedisCache(options: RedisCacheOptions): Cache {
  const { redis, prefix, metrics, logger } = options;
  const staleMs = (options.staleSeconds ?? 30) * 1000;
  const lockMs = options.lockMs ?? 5000;
  const waitMs = options.waitMs ?? 1000;
  const entryKey = (key: string) => `${prefix}:cache:e:${key}`;
  const lockKey = (key: string) => `${prefix}:cache:l:${key}`;
  const tagKey = (tag: string) => `${prefix}:cache:t:${tag}`;
  const pendingTags = new Set<string>();
  let retryTimer: NodeJS.Timeout | undefined;

  async function read<T>(key: string, tags: string[]): Promise<{ entry: Entry<T> | undefined; versions: string[] }> {
    const values = await redis.mget(entryKey(key), ...tags.map(tagKey));
    const versions = values.slice(1).map((v) => v ?? '0');
    const raw = values[0];
    if (!raw) return { entry: undefined, versions };
    const entry = JSON.parse(raw) as Entry<T>;
    const current = entry.v.length === versions.length && entry.v.every((v, i) => v === versions[i]);
    return { entry: current ? entry : undefined, versions };
  }

  async function write<T>(key: string, data: T, versions: string[], ttlSeconds: number): Promise<void> {
    const entry: Entry<T> = { v: versions, s: Date.now() + ttlSeconds * 1000, d: data };
    await redis.set(entryKey(key), JSON.stringify(entry), 'PX', ttlSeconds * 1000 + staleMs);
  }

  async function loadAndStore<T>(key: string, load: () => Promise<T>, versions: string[], ttlSeconds: number, token: string): Promise<T> {
    const data = await load();
    try {
      await write(key, data, versions, ttlSeconds);
      await redis.eval(RELEASE_LOCK, 1, lockKey(key), token);
    } catch (error) {
      logger?.debug({ err: error, key }, 'cache write failed');
    }
    return data;
  }

  async function waitForWinner<T>(key: string, tags: string[]): Promise<Entry<T> | undefined> {
    const deadline = Date.now() + waitMs;
    let delay = 10;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 100);
      const { entry } = await read<T>(key, tags);
      if (entry) return entry;
    }
    return undefined;
  }

  return {
    async getOrSet<T>(key: string, load: () => Promise<T>, entryOptions: CacheEntryOptions): Promise<T> {
      const tags = entryOptions.tags ?? [];
      const name = entryOptions.name ?? key.split(':')[0] ?? 'default';
      let state: Awaited<ReturnType<typeof read<T>>>;
      try {
        state = await read<T>(key, tags);
      } catch (error) {
        metrics?.cacheFallbacks.inc({ cache: name, reason: 'read' });
        logger?.debug({ err: error, key }, 'cache read failed, loading from the database');
        return load();
      }
      const { entry, versions } = state;
      if (entry && entry.s > Date.now()) {
        metrics?.cacheHits.inc({ cache: name });
        return entry.d;
      }

      const token = randomUUID();
      let won: boolean;
      try {
        won = (await redis.set(lockKey(key), token, 'PX', lockMs, 'NX')) === 'OK';
      } catch {
        metrics?.cacheFallbacks.inc({ cache: name, reason: 'lock' });
        return load();
      }
      if (won) {
        metrics?.cacheMisses.inc({ cache: name });
        return loadAndStore(key, load, versions, entryOptions.ttlSeconds, token);
      }
      if (entry) {
        // Expired but still of the current tag versions: serve it while the winner refreshes.
        metrics?.cacheStale.inc({ cache: name });
        return entry.d;
      }
      try {
        const fresh = await waitForWinner<T>(key, tags);
        if (fresh) {
          metrics?.cacheHits.inc({ cache: name });
          return fresh.d;
        }
      } catch {
        metrics?.cacheFallbacks.inc({ cache: name, reason: 'wait' });
      }
      metrics?.cacheMisses.inc({ cache: name });
      return load();
    },

    async invalidateTags(tags: string[]): Promise<void> {
      if (tags.length === 0) return;
      try {
        await bumpTags(tags);
      } catch (error) {
        // The database write already happened: keep retrying in the background so no instance
        // serves the old value longer than the outage.
        logger?.warn({ err: error, tags }, 'cache invalidation failed; retrying until Redis answers');
        metrics?.cacheFallbacks.inc({ cache: 'invalidate', reason: 'invalidate' });
        for (const tag of tags) pendingTags.add(tag);
        scheduleRetry();
      }
    },
  };

  async function bumpTags(tags: Iterable<string>): Promise<void> {
    const pipeline = redis.multi();
    for (const tag of tags) pipeline.incr(tagKey(tag));
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('invalidation transaction aborted');
  }

  function scheduleRetry(): void {
    if (retryTimer) return;
    retryTimer = setTimeout(async () => {
      retryTimer = undefined;
      const tags = [...pendingTags];
      try {
        await bumpTags(tags);
        for (const tag of tags) pendingTags.delete(tag);
      } catch {
        scheduleRetry();
      }
    }, 1000);
    retryTimer.unref();
  }
}

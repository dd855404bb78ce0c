import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.ts';
import { defineScript } from '../redis/script.ts';
import { CLOSE_STEP_MS, settlesWithin } from '../../shared/settles-within.ts';

/** The cache port the modules depend on. */
export interface Cache {
  /**
   * Cache-aside read. Returns the cached value while it is fresh and none of its tags was
   * invalidated since it was written; otherwise loads it once across all instances.
   * Never throws because Redis is down: it then calls `load` directly, once per key in this process for the
   * callers that arrive while that load runs (they share its value or its failure).
   *
   * When `load` fails (the source is down): the key's lock is released at once; an expired value
   * of the current tag versions is served instead when there is one; concurrent callers in this
   * process share the one failing load, callers waiting on other instances take its failure as
   * soon as it is known (`CacheLoadFailedError`, carrying the original code as `cause`), and for
   * `failureMs` after it callers without a stale value fail at once instead of queueing on the source.
   */
  getOrSet<T>(key: string, load: () => Promise<T>, options: CacheEntryOptions): Promise<T>;
  /** Makes every entry written under one of these tags stale for all instances, at once. */
  invalidateTags(tags: string[]): Promise<void>;
  /** Releases what the cache holds of its own (its invalidation subscription). */
  close?(): Promise<void>;
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
  /**
   * After a load fails, how long callers for that key without a stale value fail at once with
   * that failure instead of querying the source again or waiting on the lock.
   * @defaultValue 1000
   */
  failureMs?: number;
  /** An in-process layer (L1) in front of Redis; off when omitted. See `createLocalLayer`. */
  local?: LocalLayerOptions;
}

export interface LocalLayerOptions {
  /**
   * A pub/sub connection (ioredis role `subscriber`) to the cache's Redis, shared with the process's
   * other subscribers (each hears only its own channel). The cache subscribes to its channel on every
   * connect and unsubscribes on `close()`; whoever opened the connection closes it.
   */
  subscriber: Redis;
  /**
   * Entries kept in process; the oldest is dropped beyond it.
   * @defaultValue 10000
   */
  maxEntries?: number;
}

interface Entry<T> {
  /** Tag versions at the time the value was loaded. */
  v: string[];
  /** Soft expiry (epoch ms): after it the entry is stale but may be served during a reload. */
  s: number;
  d: T;
}

interface ReadSnapshot {
  generation: number;
  epochs: number[];
}

interface LocalEntry {
  data: unknown;
  /** Soft expiry of the Redis entry it mirrors: after it, the Redis path decides (stale-while-revalidate). */
  s: number;
  tags: string[];
  /** The local invalidation epoch of each tag when the Redis read that filled it was sent. */
  epochs: number[];
}

/**
 * The in-process layer. An entry is served from process memory only while
 * - the invalidation subscription is up (on any disconnect the whole layer is dropped and stays off
 *   until the subscription is confirmed again: a missed message must never leave a stale entry), and
 * - no invalidation of its tags has been heard since the Redis read that filled it was *sent*
 *   (per-tag epochs, so a message that overtakes the read's reply still wins), and
 * - the mirrored Redis entry's soft expiry has not passed.
 * `invalidateTags` publishes the tags in the same MULTI as the version INCRs, so every instance's
 * socket holds the message before the writer's reply leaves. A hit is decided after the current I/O
 * poll phase (`setImmediate`), so a message that arrived with a request that causally follows the
 * write is processed first. Values are shared between callers and frozen: callers copy before
 * changing them (`{ ...product, available }`).
 */
function createLocalLayer(options: LocalLayerOptions, channel: string, logger?: Logger) {
  const { subscriber } = options;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, LocalEntry>();
  const epochs = new Map<string, number>();
  let live = false;
  /** One check-phase turn shared by every hit of the current loop iteration (one setImmediate, not one per hit). */
  let afterPoll: Promise<void> | undefined;
  const afterPollPhase = () =>
    (afterPoll ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        afterPoll = undefined;
        resolve();
      }),
    ));
  /** Bumped on every drop: a read sent before a disconnect may have missed a message. */
  let generation = 0;
  const epochOf = (tag: string) => epochs.get(tag) ?? 0;
  const drop = () => {
    live = false;
    generation += 1;
    entries.clear();
  };
  const subscribe = () => {
    subscriber.subscribe(channel).then(
      () => {
        if (subscriber.status === 'ready') live = true;
      },
      (error: unknown) => logger?.warn({ err: error }, 'cache invalidation subscription failed; local cache off'),
    );
  };
  const onMessage = (from: string, message: string) => {
    if (from !== channel) return;
    for (const tag of message.split('\n')) epochs.set(tag, epochOf(tag) + 1);
    // Epochs only grow with invalidated tags; past a bound, start over. Resetting them could make an
    // old snapshot look current, so every entry goes too.
    if (epochs.size > maxEntries * 10) {
      entries.clear();
      epochs.clear();
    }
  };
  const dropEvents = ['close', 'end', 'reconnecting', 'error'] as const;
  subscriber.on('message', onMessage);
  for (const event of dropEvents) subscriber.on(event, drop);
  subscriber.on('ready', subscribe);
  if (subscriber.status === 'ready') subscribe();

  return {
    /** Taken before sending the Redis read; none while the subscription is down. */
    snapshot: (tags: string[]): ReadSnapshot | undefined => (live ? { generation, epochs: tags.map(epochOf) } : undefined),
    async get(key: string): Promise<{ data: unknown } | undefined> {
      if (!live || !entries.has(key)) return undefined;
      await afterPollPhase();
      const entry = entries.get(key);
      if (!live || !entry) return undefined;
      if (entry.s <= Date.now() || !entry.tags.every((tag, i) => epochOf(tag) === entry.epochs[i])) {
        entries.delete(key);
        return undefined;
      }
      return { data: entry.data };
    },
    set(key: string, data: unknown, s: number, tags: string[], read: ReadSnapshot): void {
      if (!live || read.generation !== generation || !tags.every((tag, i) => epochOf(tag) === read.epochs[i])) return;
      entries.delete(key);
      if (entries.size >= maxEntries) {
        for (const [oldest] of entries) {
          entries.delete(oldest);
          break;
        }
      }
      entries.set(key, { data: deepFreeze(data), s, tags, epochs: read.epochs });
    },
    /** This instance's own writes are seen here without waiting for the message. */
    invalidateLocally(tags: string[]): void {
      for (const tag of tags) epochs.set(tag, epochOf(tag) + 1);
    },
    async close(): Promise<void> {
      drop();
      subscriber.off('ready', subscribe);
      subscriber.off('message', onMessage);
      for (const event of dropEvents) subscriber.off(event, drop);
      // Bounded: a black-holed Redis keeps the connection 'ready' and never answers (no command timeout on pub/sub).
      if (subscriber.status === 'ready') await settlesWithin(subscriber.unsubscribe(channel), CLOSE_STEP_MS);
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const RELEASE_LOCK_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * Releases the loader's lock and leaves a failure marker (the failure's message and code) for
 * `ARGV[3]` ms, so that callers waiting on other instances stop waiting at once.
 */
const RELEASE_LOCK_ON_FAILURE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`;

const releaseLock = defineScript({ name: 'cache-release-lock', keys: ['lock'], lua: RELEASE_LOCK_LUA, parse: Number });
const releaseLockOnFailure = defineScript({ name: 'cache-release-lock-on-failure', keys: ['lock', 'failure'], lua: RELEASE_LOCK_ON_FAILURE_LUA, parse: Number });

/** What a failed load leaves behind for other callers: enough for the error handler to classify it. */
interface FailureMarker {
  message: string;
  code?: string;
  severity?: string;
}

/** The failure of the load that another caller (maybe on another instance) ran for the same key. */
export class CacheLoadFailedError extends Error {
  constructor(key: string, marker: FailureMarker) {
    // The original's code (and SQLSTATE severity) travel as the cause, where the error classifiers look.
    const cause = Object.assign(new Error(marker.message), marker.code ? { code: marker.code } : {}, marker.severity ? { severity: marker.severity } : {});
    super(`loading cache key ${key} failed: ${marker.message}`, { cause });
    this.name = 'CacheLoadFailedError';
  }
}

/** The innermost coded error of a cause chain (Drizzle wraps pg's error), as a marker. */
function markerOf(error: unknown): FailureMarker {
  let marker: FailureMarker = { message: error instanceof Error ? error.message : String(error) };
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { message, code, severity } = e as { message?: unknown; code?: unknown; severity?: unknown };
    if (typeof code === 'string') marker = { message: String(message), code, ...(typeof severity === 'string' ? { severity } : {}) };
  }
  return marker;
}

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
  const failureMs = options.failureMs ?? 1000;
  const entryKey = (key: string) => `${prefix}:cache:e:${key}`;
  const lockKey = (key: string) => `${prefix}:cache:l:${key}`;
  const failureKey = (key: string) => `${prefix}:cache:f:${key}`;
  /** Loads in flight in this process: concurrent callers for a key share one load and its outcome. */
  const inflight = new Map<string, Promise<unknown>>();
  /** Recent load failures in this process, by key: callers fail at once until `until`. */
  const failures = new Map<string, { error: unknown; until: number }>();
  const recentFailure = (key: string) => {
    const failure = failures.get(key);
    if (failure && failure.until > Date.now()) return failure;
    if (failure) failures.delete(key);
    return undefined;
  };
  const tagKey = (tag: string) => `${prefix}:cache:t:${tag}`;
  const pendingTags = new Set<string>();
  let retryTimer: NodeJS.Timeout | undefined;
  const channel = `${prefix}:cache:invalidations`;
  const local = options.local ? createLocalLayer(options.local, channel, logger) : undefined;

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
    let data: T;
    try {
      data = await load();
    } catch (error) {
      // Free the key at once (no caller should wait out the lock for a source that is down) and tell
      // the callers waiting on other instances.
      remember(key, error);
      await releaseLockOnFailure.run(redis, { lock: lockKey(key), failure: failureKey(key) }, token, JSON.stringify(markerOf(error)), failureMs).catch(() => {});
      throw error;
    }
    try {
      await write(key, data, versions, ttlSeconds);
      await releaseLock.run(redis, { lock: lockKey(key) }, token);
    } catch (error) {
      logger?.debug({ err: error, key }, 'cache write failed');
    }
    return data;
  }

  function remember(key: string, error: unknown): void {
    failures.set(key, { error, until: Date.now() + failureMs });
    if (failures.size > 10_000) for (const [k] of failures) if (!recentFailure(k)) failures.delete(k);
  }

  /** The winner's entry once it is written; throws the winner's failure as soon as it is known. */
  async function waitForWinner<T>(key: string, tags: string[]): Promise<Entry<T> | undefined> {
    const deadline = Date.now() + waitMs;
    let delay = 10;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 100);
      const [{ entry }, failed] = await Promise.all([read<T>(key, tags), redis.get(failureKey(key))]);
      if (entry) return entry;
      if (failed) throw new CacheLoadFailedError(key, JSON.parse(failed) as FailureMarker);
    }
    return undefined;
  }

  /** One load per key in this process at a time; the others share its value or its failure. */
  function shared<T>(key: string, run: () => Promise<T>): Promise<T> {
    const running = inflight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const started = run().finally(() => inflight.delete(key));
    inflight.set(key, started);
    return started;
  }

  /** A miss: load under the per-key lock, or wait for the instance that holds it. */
  async function fill<T>(key: string, name: string, load: () => Promise<T>, ttlSeconds: number, tags: string[], entry: Entry<T> | undefined, versions: string[]): Promise<T> {
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
      return loadAndStore(key, load, versions, ttlSeconds, token);
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
    } catch (error) {
      if (error instanceof CacheLoadFailedError) {
        // The winner's load failed: fail now, as it did, instead of queueing on the source.
        metrics?.cacheFallbacks.inc({ cache: name, reason: 'source-failing' });
        remember(key, error);
        throw error;
      }
      metrics?.cacheFallbacks.inc({ cache: name, reason: 'wait' });
    }
    metrics?.cacheMisses.inc({ cache: name });
    return load();
  }

  return {
    async getOrSet<T>(key: string, load: () => Promise<T>, entryOptions: CacheEntryOptions): Promise<T> {
      const tags = entryOptions.tags ?? [];
      const name = entryOptions.name ?? key.split(':')[0] ?? 'default';
      if (local) {
        const hit = await local.get(key);
        if (hit) {
          metrics?.cacheHits.inc({ cache: name });
          return hit.data as T;
        }
      }
      const readSnapshot = local?.snapshot(tags);
      let state: Awaited<ReturnType<typeof read<T>>>;
      try {
        state = await read<T>(key, tags);
      } catch (error) {
        metrics?.cacheFallbacks.inc({ cache: name, reason: 'read' });
        logger?.debug({ err: error, key }, 'cache read failed, loading from the database');
        // Shared as a fill is: while Redis is down a hot key's burst is one source read per process, not one per request.
        return shared(key, load);
      }
      const { entry, versions } = state;
      if (entry && entry.s > Date.now()) {
        metrics?.cacheHits.inc({ cache: name });
        if (local && readSnapshot) local.set(key, entry.d, entry.s, tags, readSnapshot);
        return entry.d;
      }

      const serveStale = (error: unknown): T => {
        // The source failed: an expired value of the current tag versions beats an error.
        if (!entry) throw error;
        metrics?.cacheStale.inc({ cache: name });
        logger?.debug({ err: error, key }, 'cache load failed; serving the stale value');
        return entry.d;
      };
      const failed = recentFailure(key);
      if (failed) {
        metrics?.cacheFallbacks.inc({ cache: name, reason: 'source-failing' });
        return serveStale(failed.error);
      }
      if (entry && inflight.has(key)) {
        // This process is already refreshing it: serve the expired value meanwhile.
        metrics?.cacheStale.inc({ cache: name });
        return entry.d;
      }
      return shared(key, () => fill(key, name, load, entryOptions.ttlSeconds, tags, entry, versions)).catch(serveStale);
    },

    async invalidateTags(tags: string[]): Promise<void> {
      if (tags.length === 0) return;
      local?.invalidateLocally(tags);
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

    async close(): Promise<void> {
      if (retryTimer) clearTimeout(retryTimer);
      await local?.close();
    },
  };

  async function bumpTags(tags: Iterable<string>): Promise<void> {
    const pipeline = redis.multi();
    const list = [...tags];
    for (const tag of list) pipeline.incr(tagKey(tag));
    // In the same transaction: every instance's local layer hears of it before this write's reply.
    pipeline.publish(channel, list.join('\n'));
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

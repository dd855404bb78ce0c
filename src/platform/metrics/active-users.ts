import type { Redis } from 'ioredis';

/** Distinct sessions are counted over the current minute and the four before it. */
export const ACTIVE_USERS_WINDOW_MINUTES = 5;
const KEY_TTL_SECONDS = (ACTIVE_USERS_WINDOW_MINUTES + 1) * 60;
/** Flush early when this many sessions wait, so memory stays bounded under a spike. */
const MAX_PENDING = 5000;

export interface ActiveUsers {
  /** Notes a session as active now (buffered; written to Redis within `flushIntervalMs`). */
  record(sessionId: string): void;
  /** Writes buffered sessions to Redis. */
  flush(): Promise<void>;
  /** Distinct sessions over the last five minutes, cluster-wide (HyperLogLog: ~0.81 % standard error). */
  count(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Active users across every instance: one Redis HyperLogLog per minute (`PFADD`), counted as the
 * union of the last five (`PFCOUNT` of several keys). 12 KB per key at most, whatever the traffic;
 * the keys share a hash tag so that a Redis Cluster keeps them in one slot.
 */
export function createActiveUsers(deps: { redis: Redis; prefix: string; flushIntervalMs?: number; now?: () => number }): ActiveUsers {
  const now = deps.now ?? Date.now;
  const keyOf = (minute: number) => `${deps.prefix}:{active-users}:${minute}`;
  const pending = new Map<number, Set<string>>();
  let flushing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (pending.size === 0) return flushing;
    const batches = [...pending.entries()];
    pending.clear();
    const multi = deps.redis.multi();
    for (const [minute, sessions] of batches) {
      multi.pfadd(keyOf(minute), ...sessions);
      multi.expire(keyOf(minute), KEY_TTL_SECONDS);
    }
    // Losing a second of sessions while Redis is down is fine for a gauge; never reject into a hook.
    flushing = flushing.then(() => multi.exec().then(() => undefined, () => undefined));
    return flushing;
  };
  const timer = setInterval(() => void flush(), deps.flushIntervalMs ?? 1000);
  timer.unref();

  return {
    record(sessionId) {
      const minute = Math.floor(now() / 60_000);
      let sessions = pending.get(minute);
      if (!sessions) {
        sessions = new Set();
        pending.set(minute, sessions);
      }
      sessions.add(sessionId);
      if (sessions.size >= MAX_PENDING) void flush();
    },
    flush,
    async count() {
      await flush();
      const minute = Math.floor(now() / 60_000);
      const keys = Array.from({ length: ACTIVE_USERS_WINDOW_MINUTES }, (_, i) => keyOf(minute - i));
      return deps.redis.pfcount(...keys);
    },
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

import type { Redis } from 'ioredis';

/**
 * Carts in Redis: one hash per customer (product id → quantity) that expires `ttlS` after its last
 * change, plus one sorted set of carts by last change, from which abandoned carts (untouched for
 * `abandonedAfterS`, not turned into an order) are counted cluster-wide without a scan.
 */
export interface CartStore {
  get(customerId: number): Promise<Map<number, number>>;
  set(customerId: number, productId: number, quantity: number): Promise<void>;
  remove(customerId: number, productId: number): Promise<void>;
  /** Empties the cart (removed by the customer, or turned into an order: then it is never counted as abandoned). */
  clear(customerId: number): Promise<void>;
  counts(): Promise<{ active: number; abandoned: number }>;
}

export function createCartStore(deps: { redis: Redis; prefix: string; ttlS: number; abandonedAfterS: number; clock?: () => number }): CartStore {
  const now = deps.clock ?? Date.now;
  const cartKey = (customerId: number) => `${deps.prefix}:cart:${customerId}`;
  const indexKey = `${deps.prefix}:carts`;

  return {
    async get(customerId) {
      const raw = await deps.redis.hgetall(cartKey(customerId));
      return new Map(Object.entries(raw).map(([productId, quantity]) => [Number(productId), Number(quantity)]));
    },

    async set(customerId, productId, quantity) {
      await deps.redis
        .multi()
        .hset(cartKey(customerId), String(productId), String(quantity))
        .expire(cartKey(customerId), deps.ttlS)
        .zadd(indexKey, now(), String(customerId))
        .exec();
    },

    async remove(customerId, productId) {
      const results = await deps.redis.multi().hdel(cartKey(customerId), String(productId)).hlen(cartKey(customerId)).exec();
      if (Number(results?.[1]?.[1] ?? 0) === 0) await deps.redis.zrem(indexKey, String(customerId));
      else await deps.redis.zadd(indexKey, now(), String(customerId));
    },

    async clear(customerId) {
      await deps.redis.multi().del(cartKey(customerId)).zrem(indexKey, String(customerId)).exec();
    },

    async counts() {
      const t = now();
      const abandonedBefore = t - deps.abandonedAfterS * 1000;
      const results = await deps.redis
        .multi()
        // Carts past their TTL are gone: drop them from the index too.
        .zremrangebyscore(indexKey, '-inf', `(${t - deps.ttlS * 1000}`)
        .zcount(indexKey, '-inf', `(${abandonedBefore}`)
        .zcount(indexKey, abandonedBefore, '+inf')
        .exec();
      return { abandoned: Number(results?.[1]?.[1] ?? 0), active: Number(results?.[2]?.[1] ?? 0) };
    },
  };
}

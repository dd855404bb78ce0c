import type { Redis } from 'ioredis';

/** Whose cart: a customer id, or `g:<id>` for a guest (an anonymous visitor's signed cookie). */
export type CartOwner = number | `g:${string}`;

/**
 * Carts in Redis: one hash per owner (product id → quantity) that expires `ttlS` after its last
 * change, plus one sorted set of carts by last change, from which abandoned carts (untouched for
 * `abandonedAfterS`, not turned into an order) are counted cluster-wide without a scan.
 */
export interface CartStore {
  get(owner: CartOwner): Promise<Map<number, number>>;
  set(owner: CartOwner, productId: number, quantity: number): Promise<void>;
  remove(owner: CartOwner, productId: number): Promise<void>;
  /** Empties the cart (removed by the customer, or turned into an order: then it is never counted as abandoned). */
  clear(owner: CartOwner): Promise<void>;
  /**
   * Moves a guest's cart into a customer's, in one Redis script: quantities of a product in both are
   * added (capped at `maxQuantity`), and the guest cart is deleted in the same step, so a repeated or
   * concurrent sign-in finds nothing left to merge (nothing lost, nothing doubled). Returns the lines moved.
   */
  merge(guest: `g:${string}`, customerId: number, maxQuantity: number): Promise<number>;
  counts(): Promise<{ active: number; abandoned: number }>;
}

/** KEYS: guest cart, customer cart, index. ARGV: ttl s, now ms, customer member, guest member, max quantity. */
const MERGE_LUA = `
local lines = redis.call('HGETALL', KEYS[1])
if #lines == 0 then return 0 end
for i = 1, #lines, 2 do
  local total = redis.call('HINCRBY', KEYS[2], lines[i], tonumber(lines[i + 1]))
  if total > tonumber(ARGV[5]) then redis.call('HSET', KEYS[2], lines[i], ARGV[5]) end
end
redis.call('DEL', KEYS[1])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
redis.call('ZREM', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), ARGV[3])
return #lines / 2
`;

export function createCartStore(deps: { redis: Redis; prefix: string; ttlS: number; abandonedAfterS: number; clock?: () => number }): CartStore {
  const now = deps.clock ?? Date.now;
  const cartKey = (owner: CartOwner) => `${deps.prefix}:cart:${owner}`;
  const indexKey = `${deps.prefix}:carts`;

  return {
    async merge(guest, customerId, maxQuantity) {
      const moved = await deps.redis.eval(MERGE_LUA, 3, cartKey(guest), cartKey(customerId), indexKey, deps.ttlS, now(), String(customerId), guest, maxQuantity);
      return Number(moved);
    },

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

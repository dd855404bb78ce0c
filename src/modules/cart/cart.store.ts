import type { Redis } from 'ioredis';
import { defineScript, integerReply } from '../../platform/redis/script.ts';

/** Whose cart: a customer id, or `g:<id>` for a guest (an anonymous visitor's signed cookie). */
export type CartOwner = number | `g:${string}`;

/**
 * Carts in Redis: one hash per owner (product id → quantity) that expires `ttlS` after its last
 * change, plus one sorted set of carts by last change, from which abandoned carts (untouched for
 * `abandonedAfterS`, not turned into an order) are counted cluster-wide without a scan.
 */
export interface CartStore {
  get(owner: CartOwner): Promise<Map<number, number>>;
  /**
   * Sets a line's quantity. With `ifLines`, only while the cart holds exactly those products (the ones its
   * caller read and checked the line against: room, currency), in one step: false when the cart holds other
   * products by now (another change came first), and nothing is written.
   */
  set(owner: CartOwner, productId: number, quantity: number, ifLines?: Iterable<number>): Promise<boolean>;
  /**
   * Adds `quantity` units to a line (0 if none) in one step, only while the cart holds exactly the products
   * `ifLines` (as `set`) and the sum is at most `maxQuantity`: the sum written; `{ held }` (what the line holds,
   * nothing written) when the sum would pass it; undefined when the cart holds other products by now. Adds to the
   * same line at once never make each other try again: each adds to what the line holds when it runs.
   */
  add(owner: CartOwner, productId: number, quantity: number, maxQuantity: number, ifLines: Iterable<number>): Promise<number | { held: number } | undefined>;
  remove(owner: CartOwner, productId: number): Promise<void>;
  /** Empties the cart (removed by the customer, or turned into an order: then it is never counted as abandoned). */
  clear(owner: CartOwner): Promise<void>;
  /**
   * Takes ordered lines out of the cart, in one step: a line leaves only while it still holds the quantity
   * that was ordered, so a line added or changed since the cart was read for the order (another tab) stays.
   */
  removeOrdered(owner: CartOwner, lines: readonly { productId: number; quantity: number }[]): Promise<void>;
  /**
   * Moves the given products' lines of a guest's cart into a customer's, in one Redis script, only while the
   * customer's cart holds exactly the products `ifLines` (the ones its caller read and checked the guest's lines
   * against: currency, room), as `set` with `ifLines` does: undefined when it holds others by now (another device
   * changed it first), and nothing is moved. Otherwise the
   * quantities of a product in both are added, a line holding at most its product's `maxQuantity` (or the customer's
   * own quantity, kept as it is where it is above that already); a product new to the customer's
   * cart joins only while it has fewer than `maxLines` lines (in the order given). Each line moved is
   * deleted from the guest cart in the same step, so a repeated or concurrent sign-in finds only what was
   * not moved (nothing lost, nothing doubled). Lines not moved stay in the guest cart.
   */
  merge(
    guest: `g:${string}`,
    customerId: number,
    options: { products: readonly { id: number; maxQuantity: number }[]; maxLines: number; ifLines: Iterable<number> },
  ): Promise<MergeResult | undefined>;
  counts(): Promise<{ active: number; abandoned: number }>;
  /**
   * Claims the right to order the cart for `leaseMs` under `token`: true when no other order of it holds the claim. A
   * claim lapses after its lease (a process that died while ordering blocks the cart no longer than that).
   */
  claimOrdering(owner: CartOwner, token: string, leaseMs: number): Promise<boolean>;
  /** Extends a claim still held under `token` by `leaseMs`: false when it lapsed or another holds it. */
  renewOrdering(owner: CartOwner, token: string, leaseMs: number): Promise<boolean>;
  /** Gives back a claim held under `token` (one that lapsed and was taken by another stays the other's). */
  releaseOrdering(owner: CartOwner, token: string): Promise<void>;
}

/** What a merge did: lines moved, lines left for want of room (with their quantities), lines the guest cart still holds. */
export interface MergeResult {
  moved: number;
  full: { productId: number; quantity: number }[];
  /**
   * Lines that joined at less than the two carts' sum: the quantity kept (the maximum, or the customer's own
   * quantity where that was above it already) and how many of the guest's units that dropped.
   */
  capped: { productId: number; quantity: number; dropped: number }[];
  guestLinesLeft: number;
}

/**
 * Lua: whether the cart hash `key` holds exactly the products ARGV[from..to] (no more, no fewer). The one condition
 * under which a change checked against the lines its caller read (room, currency) is written: by `set` and `merge`
 * alike, so no path into a cart can skip it.
 */
const HOLDS_EXACTLY_LUA = `
local function holdsExactly(key, from, to)
  if redis.call('HLEN', key) ~= to - from + 1 then return false end
  for i = from, to do
    if redis.call('HEXISTS', key, ARGV[i]) == 0 then return false end
  end
  return true
end
`;

/**
 * KEYS guest cart, customer cart, index; ARGV ttl s, now ms, customer member, guest member, max lines, n, the n
 * product ids the customer cart must hold (no more, no fewer), then product id and its max quantity pairs →
 * -1 when the customer cart holds other products (nothing moved), else {moved, guest lines left, 2 × the products
 * left for want of room, then per such product: id, quantity; then per line that joined at less than the sum: id,
 * quantity kept, units dropped}.
 */
const MERGE_LUA = `${HOLDS_EXACTLY_LUA}
local firstPair = 7 + tonumber(ARGV[6])
if not holdsExactly(KEYS[2], 7, firstPair - 1) then return -1 end
local maxLines = tonumber(ARGV[5])
local lines = redis.call('HLEN', KEYS[2])
local moved = 0
local full = {}
local capped = {}
for i = firstPair, #ARGV, 2 do
  local id, maxQuantity = ARGV[i], tonumber(ARGV[i + 1])
  local quantity = redis.call('HGET', KEYS[1], id)
  if quantity then
    local own = redis.call('HGET', KEYS[2], id)
    if own then
      -- The account's own units stay, even above a maximum lowered since they were added: only the guest's are capped.
      local total = tonumber(own) + tonumber(quantity)
      local kept = math.max(tonumber(own), math.min(total, maxQuantity))
      redis.call('HSET', KEYS[2], id, kept)
      if kept < total then
        capped[#capped + 1] = id
        capped[#capped + 1] = kept
        capped[#capped + 1] = total - kept
      end
      redis.call('HDEL', KEYS[1], id)
      moved = moved + 1
    elseif lines < maxLines then
      redis.call('HSET', KEYS[2], id, math.min(tonumber(quantity), maxQuantity))
      if tonumber(quantity) > maxQuantity then
        capped[#capped + 1] = id
        capped[#capped + 1] = maxQuantity
        capped[#capped + 1] = tonumber(quantity) - maxQuantity
      end
      redis.call('HDEL', KEYS[1], id)
      lines = lines + 1
      moved = moved + 1
    else
      full[#full + 1] = id
      full[#full + 1] = quantity
    end
  end
end
if moved > 0 then
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
  redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), ARGV[3])
end
local left = redis.call('HLEN', KEYS[1])
if left == 0 then redis.call('ZREM', KEYS[3], ARGV[4]) end
local out = {moved, left, #full}
for i = 1, #full do out[#out + 1] = full[i] end
for i = 1, #capped do out[#out + 1] = capped[i] end
return out
`;

/**
 * KEYS cart, index; ARGV ttl s, now ms, member, product id, quantity, then '1' and the product ids the cart must hold
 * (no more, no fewer) or '0' for no condition → 1 set, 0 not (the cart holds other products).
 */
const SET_LUA = `${HOLDS_EXACTLY_LUA}
if ARGV[6] == '1' and not holdsExactly(KEYS[1], 7, #ARGV) then return 0 end
redis.call('HSET', KEYS[1], ARGV[4], ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), ARGV[3])
return 1
`;

/**
 * KEYS cart, index; ARGV ttl s, now ms, member, product id, quantity to add, the line's maximum, then the product ids
 * the cart must hold (no more, no fewer) → {1, sum} added, {0, held} the sum would pass the maximum (nothing
 * written), {-1, 0} the cart holds other products.
 */
const ADD_LUA = `${HOLDS_EXACTLY_LUA}
if not holdsExactly(KEYS[1], 7, #ARGV) then return {-1, 0} end
local held = tonumber(redis.call('HGET', KEYS[1], ARGV[4]) or '0')
local sum = held + tonumber(ARGV[5])
if sum > tonumber(ARGV[6]) then return {0, held} end
redis.call('HSET', KEYS[1], ARGV[4], sum)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), ARGV[3])
return {1, sum}
`;

/**
 * KEYS cart, index; ARGV member, then product id and quantity pairs → lines left. Deletes each line still at
 * the quantity given; an emptied cart leaves the index (it became an order: never counted as abandoned).
 */
const REMOVE_ORDERED_LUA = `
for i = 2, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
local left = redis.call('HLEN', KEYS[1])
if left == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) end
return left
`;

/** KEYS claim; ARGV token, lease ms → 1 extended, 0 not held under that token. */
const RENEW_ORDERING_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`;

/** KEYS claim; ARGV token → 1 released, 0 not held under that token. */
const RELEASE_ORDERING_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

const cartRenewOrdering = defineScript({ name: 'cart-renew-ordering', keys: ['claim'], lua: RENEW_ORDERING_LUA, parse: (reply) => Number(reply) === 1 });

const cartReleaseOrdering = defineScript({ name: 'cart-release-ordering', keys: ['claim'], lua: RELEASE_ORDERING_LUA, parse: integerReply });

const cartRemoveOrdered = defineScript({ name: 'cart-remove-ordered', keys: ['cart', 'index'], lua: REMOVE_ORDERED_LUA, parse: integerReply });

const cartSet = defineScript({ name: 'cart-set', keys: ['cart', 'index'], lua: SET_LUA, parse: (reply) => Number(reply) === 1 });

const cartAdd = defineScript({
  name: 'cart-add',
  keys: ['cart', 'index'],
  lua: ADD_LUA,
  parse: (reply): number | { held: number } | undefined => {
    const [status, value] = (reply as unknown[]).map(Number) as [number, number];
    return status === 1 ? value : status === 0 ? { held: value } : undefined;
  },
});

const cartMerge = defineScript({
  name: 'cart-merge',
  keys: ['guest', 'customer', 'index'],
  lua: MERGE_LUA,
  parse: (reply): MergeResult | undefined => {
    if (!Array.isArray(reply)) return undefined;
    const [moved, left, fullLength, ...rest] = (reply as (number | string)[]).map(Number);
    const pairs = (from: number, to: number) => {
      const out: [number, number][] = [];
      for (let i = from; i + 1 < to; i += 2) out.push([rest[i]!, rest[i + 1]!]);
      return out;
    };
    const triples = (from: number, to: number) => {
      const out: [number, number, number][] = [];
      for (let i = from; i + 2 < to; i += 3) out.push([rest[i]!, rest[i + 1]!, rest[i + 2]!]);
      return out;
    };
    return {
      moved: moved!,
      guestLinesLeft: left!,
      full: pairs(0, fullLength!).map(([productId, quantity]) => ({ productId, quantity })),
      capped: triples(fullLength!, rest.length).map(([productId, quantity, dropped]) => ({ productId, quantity, dropped })),
    };
  },
});

/** A list as a script argument: its length, then its items. */
function lengthPrefixed(items: readonly string[]): string[] {
  return [String(items.length), ...items];
}

export function createCartStore(deps: { redis: Redis; prefix: string; ttlS: number; abandonedAfterS: number; clock?: () => number }): CartStore {
  const now = deps.clock ?? Date.now;
  const cartKey = (owner: CartOwner) => `${deps.prefix}:cart:${owner}`;
  const indexKey = `${deps.prefix}:carts`;
  const orderingKey = (owner: CartOwner) => `${deps.prefix}:cart-ordering:${owner}`;

  return {
    merge(guest, customerId, options) {
      return cartMerge.run(
        deps.redis,
        { guest: cartKey(guest), customer: cartKey(customerId), index: indexKey },
        deps.ttlS,
        now(),
        String(customerId),
        guest,
        options.maxLines,
        ...lengthPrefixed([...options.ifLines].map(String)),
        ...options.products.flatMap((product) => [String(product.id), String(product.maxQuantity)]),
      );
    },
    async get(customerId) {
      const raw = await deps.redis.hgetall(cartKey(customerId));
      return new Map(Object.entries(raw).map(([productId, quantity]) => [Number(productId), Number(quantity)]));
    },

    set(owner, productId, quantity, ifLines) {
      const condition = ifLines === undefined ? ['0'] : ['1', ...[...ifLines].map(String)];
      return cartSet.run(deps.redis, { cart: cartKey(owner), index: indexKey }, deps.ttlS, now(), String(owner), String(productId), String(quantity), ...condition);
    },

    add(owner, productId, quantity, maxQuantity, ifLines) {
      const lines = [...ifLines].map(String);
      return cartAdd.run(deps.redis, { cart: cartKey(owner), index: indexKey }, deps.ttlS, now(), String(owner), String(productId), String(quantity), String(maxQuantity), ...lines);
    },

    async remove(customerId, productId) {
      // A removal is a change: the cart lives `ttlS` after it, as after any other (a cart emptied by it is gone anyway).
      const results = await deps.redis.multi().hdel(cartKey(customerId), String(productId)).expire(cartKey(customerId), deps.ttlS).hlen(cartKey(customerId)).exec();
      if (Number(results?.[2]?.[1] ?? 0) === 0) await deps.redis.zrem(indexKey, String(customerId));
      else await deps.redis.zadd(indexKey, now(), String(customerId));
    },

    async clear(customerId) {
      await deps.redis.multi().del(cartKey(customerId)).zrem(indexKey, String(customerId)).exec();
    },

    async removeOrdered(owner, lines) {
      await cartRemoveOrdered.run(deps.redis, { cart: cartKey(owner), index: indexKey }, String(owner), ...lines.flatMap((line) => [String(line.productId), String(line.quantity)]));
    },

    async claimOrdering(owner, token, leaseMs) {
      return (await deps.redis.set(orderingKey(owner), token, 'PX', leaseMs, 'NX')) === 'OK';
    },

    renewOrdering(owner, token, leaseMs) {
      return cartRenewOrdering.run(deps.redis, { claim: orderingKey(owner) }, token, String(leaseMs));
    },

    async releaseOrdering(owner, token) {
      await cartReleaseOrdering.run(deps.redis, { claim: orderingKey(owner) }, token);
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

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
   * Sets a line's quantity, or adds units to it (0 if none), in one Redis script that checks against the cart as it
   * finds it what a change of another line could break: the quantity written at most `maxQuantity` (else `over`, with
   * what the line holds); a product new to the cart only while it has fewer than `maxLines` lines (else `full`) and
   * only in the cart's currency. The cart's currency is kept beside it, as the currency every line written since the
   * cart was empty was checked against: a new line in that currency joins whatever other lines joined meanwhile, so
   * adds of different products at once never make each other try again. A new line in another currency (or where
   * none is kept: a cart from before it was, or merged without one) joins only while the cart holds exactly the
   * products `write.readLines` (the ones its caller read and checked its currency against): else `changed`, nothing
   * written, and the caller checks the cart again. A line the cart holds already adds no currency and no line.
   */
  writeLine(owner: CartOwner, write: LineWrite): Promise<LineWriteResult>;
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
   * not moved (nothing lost, nothing doubled). Lines not moved stay in the guest cart. When lines move, `currency`
   * (the customer cart's currency after the merge, as its caller checked it; undefined: none) is kept as `writeLine`'s.
   */
  merge(
    guest: `g:${string}`,
    customerId: number,
    options: { products: readonly { id: number; maxQuantity: number }[]; maxLines: number; ifLines: Iterable<number>; currency: string | undefined },
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

/** One line's change (see CartStore.writeLine). */
export interface LineWrite {
  productId: number;
  /** `set`: the line holds `quantity` units; `add`: `quantity` units more than it holds when the script runs. */
  mode: 'set' | 'add';
  quantity: number;
  /** The most the line may hold (its product's stock, per-customer cap and MAX_LINE_QUANTITY, as read). */
  maxQuantity: number;
  /** The most lines the cart may hold. */
  maxLines: number;
  /** The product's currency, which the cart must have (or none, empty) for it to join. */
  currency: string;
  /** The products the caller read the cart holding, and checked `currency` against. */
  readLines: Iterable<number>;
}

/** `written` the line's quantity now; `over` nothing written, `held` what the line holds; `full`, `changed` see CartStore.writeLine. */
export type LineWriteResult = { status: 'written'; quantity: number } | { status: 'over'; held: number } | { status: 'full' } | { status: 'changed' };

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
 * Lua: whether the cart hash `key` holds exactly the products ARGV[from..to] (no more, no fewer). The condition under
 * which a change checked against the lines its caller read (currency; and room, for a merge) is written where the
 * cart's kept currency cannot vouch for the lines added meanwhile: by `writeLine` and `merge` alike.
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
 * KEYS guest cart, customer cart, customer cart's currency, index; ARGV ttl s, now ms, customer member, guest member,
 * max lines, the customer cart's currency after the merge ('' none), n, the n product ids the customer cart must hold
 * (no more, no fewer), then product id and its max quantity pairs →
 * -1 when the customer cart holds other products (nothing moved), else {moved, guest lines left, 2 × the products
 * left for want of room, then per such product: id, quantity; then per line that joined at less than the sum: id,
 * quantity kept, units dropped}.
 */
const MERGE_LUA = `${HOLDS_EXACTLY_LUA}
local firstPair = 8 + tonumber(ARGV[7])
if not holdsExactly(KEYS[2], 8, firstPair - 1) then return -1 end
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
  -- The currency the lines were checked against, as read while the cart held exactly them: kept for the adds that follow.
  if ARGV[6] ~= '' then redis.call('SET', KEYS[3], ARGV[6], 'EX', tonumber(ARGV[1])) else redis.call('DEL', KEYS[3]) end
  redis.call('ZADD', KEYS[4], tonumber(ARGV[2]), ARGV[3])
end
local left = redis.call('HLEN', KEYS[1])
if left == 0 then redis.call('ZREM', KEYS[4], ARGV[4]) end
local out = {moved, left, #full}
for i = 1, #full do out[#out + 1] = full[i] end
for i = 1, #capped do out[#out + 1] = capped[i] end
return out
`;

/**
 * KEYS cart, cart's currency, index; ARGV ttl s, now ms, member, product id, quantity, '1' add / '0' set, the line's
 * maximum, max lines, the product's currency, then the product ids read (see CartStore.writeLine) → {1, quantity}
 * written, {0, held} past the maximum, {-1, 0} changed, {-2, lines} full; nothing written but on {1, …}.
 */
const WRITE_LINE_LUA = `${HOLDS_EXACTLY_LUA}
local ttl = tonumber(ARGV[1])
local held = redis.call('HGET', KEYS[1], ARGV[4])
if not held then
  local lines = redis.call('HLEN', KEYS[1])
  if lines >= tonumber(ARGV[8]) then return {-2, lines} end
  if lines > 0 and redis.call('GET', KEYS[2]) ~= ARGV[9] and not holdsExactly(KEYS[1], 10, #ARGV) then return {-1, 0} end
end
local quantity = tonumber(ARGV[5])
if ARGV[6] == '1' then quantity = quantity + tonumber(held or '0') end
if quantity > tonumber(ARGV[7]) then return {0, tonumber(held or '0')} end
redis.call('HSET', KEYS[1], ARGV[4], quantity)
redis.call('EXPIRE', KEYS[1], ttl)
-- A new line was checked against the kept currency, or against every line the cart holds: the cart's currency is its.
if held then redis.call('EXPIRE', KEYS[2], ttl) else redis.call('SET', KEYS[2], ARGV[9], 'EX', ttl) end
redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), ARGV[3])
return {1, quantity}
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

const cartWriteLine = defineScript({
  name: 'cart-write-line',
  keys: ['cart', 'currency', 'index'],
  lua: WRITE_LINE_LUA,
  parse: (reply): LineWriteResult => {
    const [status, value] = (reply as unknown[]).map(Number) as [number, number];
    if (status === 1) return { status: 'written', quantity: value };
    if (status === 0) return { status: 'over', held: value };
    return status === -2 ? { status: 'full' } : { status: 'changed' };
  },
});

const cartMerge = defineScript({
  name: 'cart-merge',
  keys: ['guest', 'customer', 'currency', 'index'],
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
  const currencyKey = (owner: CartOwner) => `${deps.prefix}:cart-currency:${owner}`;
  const indexKey = `${deps.prefix}:carts`;
  const orderingKey = (owner: CartOwner) => `${deps.prefix}:cart-ordering:${owner}`;

  return {
    merge(guest, customerId, options) {
      return cartMerge.run(
        deps.redis,
        { guest: cartKey(guest), customer: cartKey(customerId), currency: currencyKey(customerId), index: indexKey },
        deps.ttlS,
        now(),
        String(customerId),
        guest,
        options.maxLines,
        options.currency ?? '',
        ...lengthPrefixed([...options.ifLines].map(String)),
        ...options.products.flatMap((product) => [String(product.id), String(product.maxQuantity)]),
      );
    },
    async get(customerId) {
      const raw = await deps.redis.hgetall(cartKey(customerId));
      return new Map(Object.entries(raw).map(([productId, quantity]) => [Number(productId), Number(quantity)]));
    },

    writeLine(owner, write) {
      return cartWriteLine.run(
        deps.redis,
        { cart: cartKey(owner), currency: currencyKey(owner), index: indexKey },
        deps.ttlS,
        now(),
        String(owner),
        String(write.productId),
        String(write.quantity),
        write.mode === 'add' ? '1' : '0',
        String(write.maxQuantity),
        String(write.maxLines),
        write.currency,
        ...[...write.readLines].map(String),
      );
    },

    async remove(customerId, productId) {
      // A removal is a change: the cart lives `ttlS` after it, as after any other (a cart emptied by it is gone anyway).
      const results = await deps.redis
        .multi()
        .hdel(cartKey(customerId), String(productId))
        .expire(cartKey(customerId), deps.ttlS)
        .hlen(cartKey(customerId))
        .expire(currencyKey(customerId), deps.ttlS)
        .exec();
      if (Number(results?.[2]?.[1] ?? 0) === 0) await deps.redis.zrem(indexKey, String(customerId));
      else await deps.redis.zadd(indexKey, now(), String(customerId));
    },

    async clear(customerId) {
      await deps.redis.multi().del(cartKey(customerId), currencyKey(customerId)).zrem(indexKey, String(customerId)).exec();
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

import { defineScript, integerReply } from '../../platform/redis/script.ts';

/**
 * Lua for the stock gate. Per product three keys share the deployment's hash tag:
 * `a` (units the gate lets through: committed stock minus reservations in flight; expires so the
 * gate is rebuilt from PostgreSQL now and then), `r` (a hash of reservations in flight:
 * token → "quantity:expiresAtMs") and `v` (a version bumped by every change a rebuild's figure could miss,
 * so that a rebuild can tell whether anything moved while it read PostgreSQL: reservations, releases,
 * invalidations, forgets and rebuilds, not confirmations, see `CONFIRM_LUA`). Every script is idempotent per token:
 * ioredis re-sends a command whose reply was lost in a reconnect, and a re-sent reservation must not
 * take the units twice.
 */

/**
 * KEYS: a1 r1 v1 a2 r2 v2 … epoch. ARGV: token, expiresAtMs, reservationsTtlS, q1, q2 …
 * Returns {0, left1, left2 …} reserved | {1} already reserved under this token |
 * {2, i …} gate missing for product i (1-based) | {3, sinceLossMs, lossAtMs, i, available, …} not enough for product i.
 *
 * `epoch` is the Redis data-loss marker: a key without TTL holding the time (Redis' clock, ms) it was set, set only
 * when absent. Absent means this Redis lost its data (restarted without persistence, flushed, failed over to an
 * empty replica) or never had it (first deployment): so a gate figure found missing sets it (a figure's own expiry
 * finds it there and changes nothing), and a sold-out reply reads it and answers its age and value: the
 * idempotency records of the orders placed before that time may be gone. Read only on those two paths: a
 * reservation that succeeds does not touch it.
 */
const RESERVE_LUA = `
local epoch = KEYS[#KEYS]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local n = (#KEYS - 1) / 3
local token = ARGV[1]
if redis.call('HEXISTS', KEYS[2], token) == 1 then return {1} end
local missing = {2}
local short = {3}
local left = {0}
for i = 0, n - 1 do
  local a = redis.call('GET', KEYS[i * 3 + 1])
  local q = tonumber(ARGV[4 + i])
  if not a then
    table.insert(missing, i + 1)
  elseif tonumber(a) < q then
    table.insert(short, i + 1)
    table.insert(short, tonumber(a))
  end
end
if #missing > 1 then
  redis.call('SET', epoch, now_ms(), 'NX')
  return missing
end
if #short > 1 then
  local now = now_ms()
  local since = tonumber(redis.call('GET', epoch))
  if not since then
    redis.call('SET', epoch, now)
    since = now
  end
  table.insert(short, 2, math.max(0, now - since))
  table.insert(short, 3, since)
  return short
end
for i = 0, n - 1 do
  local q = tonumber(ARGV[4 + i])
  table.insert(left, redis.call('DECRBY', KEYS[i * 3 + 1], q))
  redis.call('HSET', KEYS[i * 3 + 2], token, q .. ':' .. ARGV[2])
  redis.call('EXPIRE', KEYS[i * 3 + 2], ARGV[3])
  redis.call('INCR', KEYS[i * 3 + 3])
end
return left
`;

/**
 * Orders committed: their units are now out of PostgreSQL too. KEYS: r1 v1 r2 v2 … ARGV: per product
 * pair, the number of tokens, then the tokens (the confirmations of many orders in one call).
 *
 * It leaves the version alone: a confirmation never changes what a rebuild in progress computes, so it must not
 * make the rebuild read again (on a hot product restocked mid-sale, orders in flight kept confirming during each
 * read until the rebuild gave up and checkout answered 503). A confirmed token's order committed in PostgreSQL
 * before the confirmation. If it committed before the rebuild's snapshot, the snapshot names it committed: its
 * units are out of the snapshot's stock and the rebuild forgets the token. If after, the snapshot's stock still
 * holds its units and the rebuild subtracts them as in flight: once the order commits that is the stock PostgreSQL
 * has, taken once. A release is different (the rebuild subtracted units that came back), so it bumps the version.
 * `v1 v2 …` stay in KEYS (unused) so that the callers need not change.
 */
const CONFIRM_LUA = `
local a = 1
for i = 1, #KEYS, 2 do
  local n = tonumber(ARGV[a])
  for j = a + 1, a + n do redis.call('HDEL', KEYS[i], ARGV[j]) end
  a = a + n + 1
end
return 0
`;

/**
 * The order did not happen: give its units back. KEYS: a1 r1 v1 … ARGV: token. Returns the 1-based numbers of
 * the products whose reservation it gave back (none when there was nothing to give back: released already,
 * never applied, or forgotten by a rebuild).
 */
const RELEASE_LUA = `
local released = {}
for i = 1, #KEYS, 3 do
  local entry = redis.call('HGET', KEYS[i + 1], ARGV[1])
  if entry then
    if redis.call('EXISTS', KEYS[i]) == 1 then
      redis.call('INCRBY', KEYS[i], tonumber(string.match(entry, '^(%d+)')))
    end
    redis.call('HDEL', KEYS[i + 1], ARGV[1])
    redis.call('INCR', KEYS[i + 2])
    table.insert(released, (i + 2) / 3)
  end
end
return released
`;

/** Stock changed outside checkout: drop the figure so the next reader rebuilds it. KEYS: a v. */
const INVALIDATE_LUA = `
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
return 0
`;

/**
 * A server that restarted or was promoted: drop the figure and the reservations in flight (the hash may
 * hold reservations released on the server that is gone). KEYS: a r v. Returns 1 if a figure was dropped.
 */
const FORGET_LUA = `
local dropped = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('INCR', KEYS[3])
return dropped
`;

/** KEYS: a r v. Returns {1} when the gate exists, else {0, version, token1, entry1, …}. */
const REBUILD_BEGIN_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {1} end
local out = {0, redis.call('GET', KEYS[3]) or '0'}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all do table.insert(out, all[i]) end
return out
`;

/**
 * KEYS: a r v. ARGV: version read by REBUILD_BEGIN, available, ttlS, tokens to forget …
 * Returns 0 set | 1 someone else rebuilt it | 2 something moved since REBUILD_BEGIN (retry): an invalidation, a
 * forget or a release (a confirmation does not move it, see `CONFIRM_LUA`).
 */
const REBUILD_COMMIT_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[1] then return 2 end
for i = 4, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('INCR', KEYS[3])
return 0
`;

/** Reply codes of `stockReserve` (the first element of its reply). */
export const RESERVE_REPLY = { reserved: 0, alreadyReserved: 1, gateMissing: 2, short: 3 } as const;

export type ReserveReply =
  | { kind: 'reserved' }
  | { kind: 'already-reserved' }
  /** 1-based line numbers whose gate figure is missing. */
  | { kind: 'gate-missing'; lines: number[] }
  /** 1-based line numbers with the units the gate holds for them; the data-loss marker's age and value (ms, Redis' clock). */
  | { kind: 'short'; lines: { line: number; available: number }[]; sinceLossMs: number; lossAtMs: number };

export const stockReserve = defineScript({
  name: 'stock-reserve',
  keys: 'variadic',
  lua: RESERVE_LUA,
  parse(reply): ReserveReply {
    const [code, ...rest] = (reply as unknown[]).map(Number);
    switch (code) {
      case RESERVE_REPLY.reserved:
        return { kind: 'reserved' };
      case RESERVE_REPLY.alreadyReserved:
        return { kind: 'already-reserved' };
      case RESERVE_REPLY.gateMissing:
        return { kind: 'gate-missing', lines: rest };
      case RESERVE_REPLY.short: {
        const [sinceLossMs = 0, lossAtMs = 0, ...pairs] = rest;
        const lines = [];
        for (let i = 0; i < pairs.length; i += 2) lines.push({ line: pairs[i]!, available: pairs[i + 1]! });
        return { kind: 'short', lines, sinceLossMs, lossAtMs };
      }
      default:
        throw new Error(`stock-reserve: unknown reply code ${code}`);
    }
  },
});

export const stockConfirm = defineScript({ name: 'stock-confirm', keys: 'variadic', lua: CONFIRM_LUA, parse: integerReply });
export const stockRelease = defineScript({ name: 'stock-release', keys: 'variadic', lua: RELEASE_LUA, parse: (reply): number[] => (reply as unknown[]).map(Number) });
export const stockInvalidate = defineScript({ name: 'stock-invalidate', keys: ['a', 'v'], lua: INVALIDATE_LUA, parse: integerReply });
export const stockForget = defineScript({ name: 'stock-forget', keys: ['a', 'r', 'v'], lua: FORGET_LUA, parse: integerReply });

export type RebuildBeginReply = { kind: 'exists' } | { kind: 'absent'; version: string; inFlight: Map<string, { quantity: number; expiresAt: number }> };

export const stockRebuildBegin = defineScript({
  name: 'stock-rebuild-begin',
  keys: ['a', 'r', 'v'],
  lua: REBUILD_BEGIN_LUA,
  parse(reply): RebuildBeginReply {
    const values = reply as (number | string)[];
    if (Number(values[0]) === 1) return { kind: 'exists' };
    const inFlight = new Map<string, { quantity: number; expiresAt: number }>();
    for (let i = 2; i < values.length; i += 2) {
      const [quantity = '0', expiresAt = '0'] = String(values[i + 1]).split(':');
      inFlight.set(String(values[i]), { quantity: Number(quantity), expiresAt: Number(expiresAt) });
    }
    return { kind: 'absent', version: String(values[1]), inFlight };
  },
});

/** Reply codes of `stockRebuildCommit`. */
export const REBUILD_COMMIT_REPLY = { set: 0, rebuiltElsewhere: 1, moved: 2 } as const;
type RebuildCommitReply = (typeof REBUILD_COMMIT_REPLY)[keyof typeof REBUILD_COMMIT_REPLY];

export const stockRebuildCommit = defineScript({
  name: 'stock-rebuild-commit',
  keys: ['a', 'r', 'v'],
  lua: REBUILD_COMMIT_LUA,
  parse: (reply) => Number(reply) as RebuildCommitReply,
});

/**
 * A Redis restart that kept its data (AOF every second) or a promoted replica: the last writes may be gone, the
 * idempotency records of the orders just placed among them, while the data-loss marker (see `stockReserve`) survived
 * from long before. Dates a loss now (Redis' clock), unless one was dated within `ARGV[1]` ms: every instance sees
 * the same restart and they keep one date. KEYS: epoch. ARGV: sameLossMs. Returns the marker's value.
 */
const DATE_LOSS_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local since = tonumber(redis.call('GET', KEYS[1]))
if since and now - since >= 0 and now - since < tonumber(ARGV[1]) then return since end
redis.call('SET', KEYS[1], now)
return now
`;

export const stockDateLoss = defineScript({
  name: 'stock-date-loss',
  keys: ['epoch'],
  lua: DATE_LOSS_LUA,
  parse: integerReply,
});

import { defineScript } from '../redis/script.ts';

/**
 * Lua scripts for the cluster state, each one round trip and atomic. Times are Redis's clock (`TIME`),
 * so instances with skewed clocks agree on who is live and when a level was entered.
 * All keys share the `{cluster}` hash tag (one Redis Cluster slot).
 */

/** Milliseconds on the Redis clock. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Heartbeat plus mode re-read.
 * KEYS: 1 instances (sorted set, member → last beat), 2 this member's figures, 3 mode hash.
 * ARGV: 1 member, 2 figures JSON, 3 stale-after ms.
 * Drops members older than stale-after. Returns `{ now, members..., '', mode hash fields... }`.
 */
const HEARTBEAT_LUA = `${NOW}
local stale = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - stale))
redis.call('PEXPIRE', KEYS[1], stale * 10)
redis.call('SET', KEYS[2], ARGV[2], 'PX', stale)
local out = { tostring(now) }
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do out[#out + 1] = m end
out[#out + 1] = ''
for _, v in ipairs(redis.call('HGETALL', KEYS[3])) do out[#out + 1] = v end
return out
`;

/** Leaves the cluster at once (a graceful stop should not count as live for three more beats). */
const LEAVE_LUA = `redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1`;

/**
 * Takes or renews the leader lease. KEYS: 1 lease. ARGV: 1 holder id, 2 lease ms. Returns 1 when held.
 */
const LEAD_LUA = `local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Gives the lease up if still held by ARGV[1]. */
const RESIGN_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Writes the admin override (`forced`, '' = auto) or the auto level, recomputes the effective mode
 * and, when anything changed, publishes a nudge so every instance re-reads the hash.
 * KEYS: 1 mode hash. ARGV: 1 'forced' | 'auto', 2 value, 3 reason, 4 channel.
 * Returns `{ changed (1|0), previous effective, mode hash fields... }` (the fields it set, read in the same
 * step: a second call to read them could fail on a blip after the change was made).
 */
const SET_MODE_LUA = `${NOW}
local kind, value, why = ARGV[1], ARGV[2], ARGV[3]
local before = redis.call('HGET', KEYS[1], kind) or ''
if kind == 'forced' then
  redis.call('HSET', KEYS[1], 'forced', value, 'forcedReason', why)
else
  redis.call('HSET', KEYS[1], 'auto', value, 'autoReason', why)
  if before ~= value then redis.call('HSET', KEYS[1], 'autoChangedAt', tostring(now)) end
end
local forced = redis.call('HGET', KEYS[1], 'forced') or ''
local effective, reason
if forced ~= '' then
  effective = forced
  reason = 'forced by admin: ' .. (redis.call('HGET', KEYS[1], 'forcedReason') or '')
else
  effective = redis.call('HGET', KEYS[1], 'auto') or 'normal'
  reason = 'auto: ' .. (redis.call('HGET', KEYS[1], 'autoReason') or '')
end
local previous = redis.call('HGET', KEYS[1], 'effective') or 'normal'
local changed = 0
if previous ~= effective or not redis.call('HGET', KEYS[1], 'changedAt') then
  redis.call('HSET', KEYS[1], 'effective', effective, 'reason', reason, 'changedAt', tostring(now))
  if previous ~= effective then changed = 1 end
end
if changed == 1 or before ~= value then
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  redis.call('PUBLISH', ARGV[4], effective)
end
local out = { changed, previous, before }
for _, field in ipairs({ 'effective', 'reason', 'changedAt', 'forced', 'auto', 'autoChangedAt' }) do
  local v = redis.call('HGET', KEYS[1], field)
  if v then
    out[#out + 1] = field
    out[#out + 1] = v
  end
end
return out
`;

/** The heartbeat's reply: the Redis clock, the live members, the mode hash as field/value pairs. */
export const heartbeat = defineScript({
  name: 'cluster-heartbeat',
  keys: ['instances', 'figures', 'mode'],
  lua: HEARTBEAT_LUA,
  parse(reply) {
    const values = (reply as unknown[]).map(String);
    const split = values.indexOf('', 1);
    return { now: Number(values[0]), members: values.slice(1, split), modeFields: values.slice(split + 1) };
  },
});

export const leave = defineScript({ name: 'cluster-leave', keys: ['instances', 'figures'], lua: LEAVE_LUA, parse: Number });

/** Reply of `lead`. */
export const LEAD_REPLY = { notHeld: 0, held: 1 } as const;
export const lead = defineScript({ name: 'cluster-lead', keys: ['lease'], lua: LEAD_LUA, parse: (reply) => Number(reply) === LEAD_REPLY.held });

export const resign = defineScript({ name: 'cluster-resign', keys: ['lease'], lua: RESIGN_LUA, parse: Number });

export const setModeScript = defineScript({
  name: 'cluster-set-mode',
  keys: ['mode'],
  lua: SET_MODE_LUA,
  parse(reply) {
    // `before`: the value the call replaced (`forced` or `auto`), '' when unset.
    const [changed, previous, before, ...modeFields] = reply as [number, string, string, ...string[]];
    return { changed: Number(changed) === 1, previous: String(previous), before: String(before), modeFields: modeFields.map(String) };
  },
});

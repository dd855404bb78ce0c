import { defineScript } from '../../platform/redis/script.ts';

/**
 * The waiting room's Redis steps. Every key of one event shares a hash tag, so each step is one atomic
 * script on one node (Redis Cluster too). Time is Redis's own clock (TIME), the same for every instance.
 *
 * Keys of an event: `q` waiting tickets (sorted set, score = place in line), `holders` holder → ticket,
 * `owners` ticket → holders, `joined` ticket → ms, `place` ticket → its place as its ticket carries it,
 * `addr` address class → tickets, `admitted` ticket → ms, `merged` ticket a merge took out of the line → the
 * ticket kept (see `merge`), `bucket` the admission token bucket, `sold` set while sold out, `since` when this room's keys were (re)born, `presented` web instance → when its
 * last full pass over its open streams began (see PRESENTED), `hold` set by the admin's pause (see ADMIT). Which passes bought their order is not
 * here: it is kept in PostgreSQL (`waiting-room.repository.ts`), so a loss of Redis does not unspend them.
 *
 * Redis may lose them all (restarted without persistence, an empty replica promoted): the status step
 * puts a signed ticket it does not know back at the place the ticket carries (see STATUS), and after a
 * rebirth mid-sale the admission step waits until every web instance has presented its streams' tickets
 * again, so the line is back before anyone is admitted.
 */

/** Keys outlive the sale by a day (late readers see `expired`), then Redis drops them. */
export const KEEP_AFTER_END_MS = 86_400_000;

/** Every key of an event's room (see above). */
export const ROOM_PARTS = ['q', 'holders', 'owners', 'joined', 'addr', 'place', 'admitted', 'merged', 'bucket', 'sold', 'since', 'presented', 'hold'] as const;

/** The keys of the rooms under a Redis prefix: one hash tag per event. */
export function roomKeys(prefix: string) {
  const key = (eventId: number, part: string) => `{${prefix}:wr:${eventId}}:${part}`;
  return {
    key,
    /** Named keys of one event, as a script's `run` takes them. */
    of: <P extends string>(eventId: number, parts: readonly P[]) => Object.fromEntries(parts.map((part) => [part, key(eventId, part)])) as Record<P, string>,
    /** When the keys of an event ending at `endsAtMs` expire. */
    expireAt: (event: { endsAtMs: number }) => event.endsAtMs + KEEP_AFTER_END_MS,
  };
}

export type RoomKeys = ReturnType<typeof roomKeys>;

/**
 * The Lua function `merge(asking, always)` both JOIN and STATUS use, on the keys at the given KEYS indexes: the tickets
 * bound to the holders `asking` (a list) are one shopper's. With two or more, one is kept — the one admitted last (its
 * pass runs out last: an earlier admission's pass may have run out unused, and keeping it sent the shopper to the back
 * of the line with a good pass dropped), else the waiting one with the lowest score — every holder of the others and
 * every asking holder moves to it, and the others leave the line and their admission for good (their `joined` entry
 * stays: STATUS does not put them back as lost with Redis; an admission kept on one read `admitted` with a pass bound
 * to nobody), each recorded in `merged` as replaced by the one kept (STATUS names it to the holders bound to it), and
 * listed in `dropped` (ticket dropped, ticket kept, …), which the script returns for the caller to record in
 * PostgreSQL (Redis may lose `merged`, and the dropped ticket's pass must buy nothing still). With one, the asking holders are bound to it only if `always` (a join; a read binds nothing new). Returns the
 * ticket kept, false if none is bound.
 */
function mergeLua(k: { q: number; holders: number; owners: number; joined: number; admitted: number; merged: number; expireAt: number }): string {
  return `
-- Every ticket a merge of this run dropped, then the ticket it kept, in pairs: the caller records them in PostgreSQL.
local dropped = {}
local function merge(asking, always)
  local held, seenTicket = {}, {}
  for _, holder in ipairs(asking) do
    local t = redis.call('HGET', KEYS[${k.holders}], holder)
    if t and not seenTicket[t] then
      seenTicket[t] = true
      held[#held + 1] = t
    end
  end
  if #held == 0 then return false end
  if #held == 1 and not always then return held[1] end
  local existing = held[1]
  if #held > 1 then
    local best, bestScore, admittedAt = false, false, false
    for _, t in ipairs(held) do
      -- Admitted: the latest admission, whose pass runs out last (an earlier one's may have run out unused).
      local at = tonumber(redis.call('HGET', KEYS[${k.admitted}], t) or 'nil')
      if at then
        if not admittedAt or at > admittedAt then best, admittedAt = t, at end
      elseif not admittedAt then
        local score = tonumber(redis.call('ZSCORE', KEYS[${k.q}], t) or 'nil')
        if score and (not bestScore or score < bestScore) then best, bestScore = t, score end
      end
    end
    existing = best or held[1]
  end
  local owners, listed = {}, {}
  local function own(holder)
    if listed[holder] then return end
    listed[holder] = true
    owners[#owners + 1] = holder
    redis.call('HSET', KEYS[${k.holders}], holder, existing)
  end
  for holder in string.gmatch(redis.call('HGET', KEYS[${k.owners}], existing) or '', '[^,]+') do own(holder) end
  for _, t in ipairs(held) do
    if t ~= existing then
      for holder in string.gmatch(redis.call('HGET', KEYS[${k.owners}], t) or '', '[^,]+') do own(holder) end
      redis.call('ZREM', KEYS[${k.q}], t)
      redis.call('HDEL', KEYS[${k.owners}], t)
      redis.call('HSETNX', KEYS[${k.joined}], t, 0)
      -- Its admission goes too: read as admitted, it showed a pass bound to nobody (its holders moved to the kept one).
      redis.call('HDEL', KEYS[${k.admitted}], t)
      redis.call('HSET', KEYS[${k.merged}], t, existing)
      redis.call('PEXPIREAT', KEYS[${k.merged}], ARGV[${k.expireAt}])
      dropped[#dropped + 1] = t
      dropped[#dropped + 1] = existing
    end
  end
  for _, holder in ipairs(asking) do own(holder) end
  redis.call('HSET', KEYS[${k.owners}], existing, table.concat(owners, ','))
  return existing
end
`;
}

/**
 * Join. KEYS q holders owners joined addr place admitted merged; ARGV newTicketId startsAtMs expireAtMs preScore
 * addressClass maxPerAddress holder… → {0, ticket, place, dropped…} an existing ticket of one of the holders (the
 * others are linked to it; `dropped`: the tickets a merge took out of the line, each followed by the ticket kept,
 * see `merge`), {1, ticket, place} new, {2, '', ''} the address class has its tickets. An
 * empty addressClass (a signed-in customer) is neither limited nor counted.
 * Holders with different tickets (a guest ticket taken on a second device, then signing in there to an account
 * holding one) are one shopper: they keep one place — a ticket already admitted, the last one (see `merge`; its place is used: as for one
 * ticket, the shopper joins again at the back only if its pass expired without buying an order), else the
 * waiting ticket with the lowest score — and every holder of the others moves to it. The others leave the line; their `joined` entry stays, marking them as
 * given up (not lost with Redis: STATUS does not put them back).
 * Before the start a ticket's place is `p`, its score the hidden draw `preScore` in [0, 1) (so the
 * pre-queue is in random order); after it, the arrival's Redis time in µs (arrival order, behind the
 * pre-queue, and later than any place given before a loss of the line). Also before the start once the
 * line holds an arrival: the sale was live and has been postponed, and a draw would put its newcomers
 * ahead of everyone already waiting.
 */
const JOIN_LUA = `${mergeLua({ q: 1, holders: 2, owners: 3, joined: 4, admitted: 7, merged: 8, expireAt: 3 })}
local function placeOf(ticket)
  local place = redis.call('HGET', KEYS[6], ticket)
  if place then return place end
  -- A ticket from before tickets carried their place: its score says which kind it was.
  local score = tonumber(redis.call('ZSCORE', KEYS[1], ticket) or '0')
  if score < 1 then return 'p' end
  return string.format('%.0f', score)
end
local asking = {}
for i = 7, #ARGV do asking[#asking + 1] = ARGV[i] end
local existing = merge(asking, true)
if existing then
  local out = {0, existing, placeOf(existing)}
  for _, t in ipairs(dropped) do out[#out + 1] = t end
  return out
end
if ARGV[5] ~= '' and tonumber(redis.call('HGET', KEYS[5], ARGV[5]) or '0') >= tonumber(ARGV[6]) then return {2, '', ''} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local place, score
-- A line holding arrivals (scores >= 1) has been live: a sale postponed after it started keeps them ahead of
-- whoever joins before its new start, who queue behind in arrival order rather than draw a pre-queue place.
if now < tonumber(ARGV[2]) and #redis.call('ZRANGEBYSCORE', KEYS[1], 1, '+inf', 'LIMIT', 0, 1) == 0 then
  place, score = 'p', ARGV[4]
else
  -- Formatted in full: a Lua number passed as is would be cut to 14 digits.
  place = string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
  score = place
end
local ticket = ARGV[1]
local owners = {}
for i = 7, #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], ticket)
  owners[#owners + 1] = ARGV[i]
end
redis.call('ZADD', KEYS[1], score, ticket)
redis.call('HSET', KEYS[3], ticket, table.concat(owners, ','))
redis.call('HSET', KEYS[4], ticket, now)
if ARGV[5] ~= '' then redis.call('HINCRBY', KEYS[5], ARGV[5], 1) end
redis.call('HSET', KEYS[6], ticket, place)
for i = 1, 6 do redis.call('PEXPIREAT', KEYS[i], ARGV[3]) end
return {1, ticket, place}
`;

/**
 * Join again after an admission whose pass expired unused: a new ticket at the back of the line (the
 * arrival's Redis time in µs), to which the old ticket's holders and the asking ones move. KEYS q holders
 * owners joined place; ARGV oldTicket newTicket expireAtMs holder… → {1, ticket, place} the new ticket,
 * {0, ticket, ''} one of the holders holds another ticket now (a concurrent join again made it: return it).
 * Not counted against the address class: the visitor's place is replaced, not added.
 */
const REJOIN_LUA = `
for i = 4, #ARGV do
  local held = redis.call('HGET', KEYS[2], ARGV[i])
  if held and held ~= ARGV[1] then return {0, held, redis.call('HGET', KEYS[5], held) or ''} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local place = string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
local ticket = ARGV[2]
local owners, seen = {}, {}
local function own(holder)
  if seen[holder] then return end
  seen[holder] = true
  owners[#owners + 1] = holder
  redis.call('HSET', KEYS[2], holder, ticket)
end
for holder in string.gmatch(redis.call('HGET', KEYS[3], ARGV[1]) or '', '[^,]+') do own(holder) end
for i = 4, #ARGV do own(ARGV[i]) end
redis.call('ZADD', KEYS[1], place, ticket)
redis.call('HSET', KEYS[3], ticket, table.concat(owners, ','))
redis.call('HSET', KEYS[4], ticket, now)
redis.call('HSET', KEYS[5], ticket, place)
for i = 1, 5 do redis.call('PEXPIREAT', KEYS[i], ARGV[3]) end
return {1, ticket, place}
`;

/**
 * Status of tickets. KEYS q admitted sold owners holders joined place merged; ARGV endsAtMs expireAtMs, then per
 * ticket: id place score holders (comma-separated: who asks) → {nowMs, sold, preQueue (tickets waiting with a
 * pre-queue draw, score below 1: ranks 0 … preQueue - 1), then per ticket: rank (-1: not waiting), admittedAt
 * (-1: not admitted), owners, replacedBy, its place (both '' but for a ticket a merge took out of the line, asked
 * about by a holder bound to the ticket kept: see below), restored (1: put back in this run, see below), then the tickets this run's merges dropped, each followed
 * by the ticket kept (see `merge`)}.
 *
 * A ticket neither waiting nor admitted was signed by us (the caller checked), so the line lost it: while
 * the sale runs it goes back at the place it carries, bound to the holders asking, unless one of them
 * holds another ticket now (joined again meanwhile). Whoever holds a ticket's text may do this, as they
 * may read its status: a ticket is a bearer token of its place.
 *
 * While the sale runs, a ticket presented by several holders whose tickets differ (a guest ticket read on a device
 * signed in to an account holding another) merges them first, as JOIN does: one shopper keeps one place whether they
 * join again, poll or follow the stream (before, only a join merged, and one who only read kept two places and could
 * take two admissions). Only tickets bound to the asking holders take part, never the presented one as such.
 *
 * A ticket a merge took out of the line names the ticket kept (following merges of merges) to a holder bound to
 * it — the shopper's own devices, one still following the ticket dropped (told only `expired`, a shopper believed
 * the place lost, gave up or joined again at the back) — and to nobody else: the dropped ticket's text alone is
 * no claim on the place kept.
 */
const STATUS_LUA = `${mergeLua({ q: 1, holders: 5, owners: 4, joined: 6, admitted: 2, merged: 8, expireAt: 2 })}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function restore(ticket, place, score, holders)
  if score == '' or holders == '' or now >= tonumber(ARGV[1]) then return 0 end
  -- Known to the line (its join is recorded): given up on signing in (see JOIN), not lost with Redis.
  if redis.call('HEXISTS', KEYS[6], ticket) == 1 then return 0 end
  local list = {}
  for holder in string.gmatch(holders, '[^,]+') do
    local other = redis.call('HGET', KEYS[5], holder)
    if other and other ~= ticket then return 0 end
    list[#list + 1] = holder
  end
  redis.call('ZADD', KEYS[1], 'NX', score, ticket)
  for _, holder in ipairs(list) do redis.call('HSETNX', KEYS[5], holder, ticket) end
  redis.call('HSETNX', KEYS[4], ticket, holders)
  redis.call('HSETNX', KEYS[6], ticket, now)
  redis.call('HSETNX', KEYS[7], ticket, place)
  for _, k in ipairs({1, 4, 5, 6, 7}) do redis.call('PEXPIREAT', KEYS[k], ARGV[2]) end
  return 1
end
local function replacedBy(ticket, holders)
  local kept = redis.call('HGET', KEYS[8], ticket)
  if not kept then return '', '' end
  for _ = 1, 16 do
    local further = redis.call('HGET', KEYS[8], kept)
    if not further then break end
    kept = further
  end
  for holder in string.gmatch(holders, '[^,]+') do
    if redis.call('HGET', KEYS[5], holder) == kept then
      local place = redis.call('HGET', KEYS[7], kept)
      if not place then
        -- A ticket from before tickets carried their place (see JOIN's placeOf).
        local score = tonumber(redis.call('ZSCORE', KEYS[1], kept) or '0')
        place = score < 1 and 'p' or string.format('%.0f', score)
      end
      return kept, place
    end
  end
  return '', ''
end
-- A signed-in shopper presenting a guest ticket (both holders asking) whose account holds another ticket: one
-- shopper, one place, merged as a join would (see JOIN), whether they join, poll or follow the stream.
if now < tonumber(ARGV[1]) then
  for i = 6, #ARGV, 4 do
    local asking = {}
    for holder in string.gmatch(ARGV[i], '[^,]+') do asking[#asking + 1] = holder end
    if #asking > 1 then merge(asking, false) end
  end
end
local out = {now, redis.call('EXISTS', KEYS[3]), 0}
for i = 3, #ARGV, 4 do
  local ticket = ARGV[i]
  local rank = redis.call('ZRANK', KEYS[1], ticket)
  local admitted = redis.call('HGET', KEYS[2], ticket)
  local restored = 0
  if not rank and not admitted then
    restored = restore(ticket, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
    rank = redis.call('ZRANK', KEYS[1], ticket)
  end
  out[#out + 1] = rank or -1
  out[#out + 1] = tonumber(admitted or '-1')
  out[#out + 1] = redis.call('HGET', KEYS[4], ticket) or ''
  local kept, place = '', ''
  if not rank and not admitted then kept, place = replacedBy(ticket, ARGV[i + 3]) end
  out[#out + 1] = kept
  out[#out + 1] = place
  out[#out + 1] = restored
end
out[3] = redis.call('ZCOUNT', KEYS[1], '-inf', '(1')
for _, t in ipairs(dropped) do out[#out + 1] = t end
return out
`;

/**
 * One admission step, safe to run from every instance at once: the token bucket lives in Redis and
 * ZPOPMIN takes each ticket once, so the rate holds cluster-wide and nobody is admitted twice.
 * KEYS q admitted bucket sold joined since presented hold; ARGV ratePerS burst available startsAtMs endsAtMs
 * expireAtMs maxBatch graceMs instances maxHoldMs paused (`available` = units left in the stock gate for the
 * event's products, -1 unknown; `instances` = web instances expected to present their streams; `paused` 1
 * while the admin holds admission)
 * → {change (0 none, 1 sold out now, 2 re-opened now), nowMs, ticket, joinedAt, …}.
 * Keys born more than `graceMs` after the start (Redis lost the room mid-sale) admit nobody until
 * `instances` web instances have each begun a full pass over their streams since the rebirth (see
 * PRESENTED: every waiting visitor's ticket is back in line then, see STATUS), and for `graceMs` at
 * least (polling visitors); after `maxHoldMs` admission goes on regardless (an instance that died with
 * Redis never presents).
 * Paused (`paused`, as this instance last read the room, or the `hold` key the admin's pause set, so a pause holds on
 * every instance at once rather than once each has re-read the rooms): nobody is admitted and the bucket is kept empty (`idle`), so on resuming admission starts from no
 * credit at the rate, in line order, rather than letting the paused time's credit (up to `burst`) in at once.
 * The stock is still read: a sell-out while paused is marked and told as ever.
 */
const ADMIT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst, available = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local grace = tonumber(ARGV[8])
local born = tonumber(redis.call('GET', KEYS[6]) or '0')
if born == 0 then
  born = now
  redis.call('SET', KEYS[6], now, 'PXAT', ARGV[6])
end
local function idle()
  redis.call('HSET', KEYS[3], 'last', now, 'credit', 0)
  redis.call('PEXPIREAT', KEYS[3], ARGV[6])
end
if now < tonumber(ARGV[4]) or now >= tonumber(ARGV[5]) then idle() return {0, now} end
local change = 0
if available == 0 then
  if redis.call('SET', KEYS[4], now, 'NX', 'PXAT', ARGV[6]) then change = 1 end
  idle()
  return {change, now}
end
if available > 0 and redis.call('DEL', KEYS[4]) == 1 then change = 2 end
if redis.call('EXISTS', KEYS[4]) == 1 then idle() return {change, now} end
if ARGV[11] == '1' or redis.call('EXISTS', KEYS[8]) == 1 then idle() return {change, now} end
if born > tonumber(ARGV[4]) + grace and now < born + tonumber(ARGV[10]) then
  if now < born + grace then idle() return {change, now} end
  local presented = 0
  for _, since in ipairs(redis.call('HVALS', KEYS[7])) do
    if tonumber(since) >= born then presented = presented + 1 end
  end
  if presented < tonumber(ARGV[9]) then idle() return {change, now} end
end
local last = tonumber(redis.call('HGET', KEYS[3], 'last') or now)
local credit = tonumber(redis.call('HGET', KEYS[3], 'credit') or '0')
if now > last then credit = math.min(burst, credit + (now - last) * rate / 1000) end
local want = math.floor(credit)
local waiting = redis.call('ZCARD', KEYS[1])
local take = math.min(want, waiting, tonumber(ARGV[7]))
local out = {change, now}
if take > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[1], take)
  for i = 1, #popped, 2 do
    local ticket = popped[i]
    redis.call('HSET', KEYS[2], ticket, now)
    out[#out + 1] = ticket
    out[#out + 1] = redis.call('HGET', KEYS[5], ticket) or now
  end
  redis.call('PEXPIREAT', KEYS[2], ARGV[6])
end
credit = credit - take
-- An empty line banks no admissions for later arrivals.
if take < want then credit = math.min(credit, 1) end
redis.call('HSET', KEYS[3], 'last', math.max(now, last), 'credit', credit)
redis.call('PEXPIREAT', KEYS[3], ARGV[6])
return out
`;

/**
 * A web instance has presented every open stream's ticket of an event (so put back any the line lost).
 * KEYS presented; ARGV instanceId beganAtMs (when the pass's first status step ran on Redis's clock;
 * 0: now, an instance with no stream of the event) expireAtMs.
 */
const PRESENTED_LUA = `
local began = tonumber(ARGV[2])
if began == 0 then
  local t = redis.call('TIME')
  began = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
redis.call('HSET', KEYS[1], ARGV[1], began)
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return began
`;

export const waitingRoomPresented = defineScript({ name: 'waiting-room-presented', keys: ['presented'], lua: PRESENTED_LUA, parse: Number });

/** Reply codes of `waitingRoomJoin` (the first element). */
export const JOIN_REPLY = { replayed: 0, joined: 1, ticketLimit: 2 } as const;

export const waitingRoomJoin = defineScript({
  name: 'waiting-room-join',
  keys: ['q', 'holders', 'owners', 'joined', 'addr', 'place', 'admitted', 'merged'],
  lua: JOIN_LUA,
  parse: (reply) => reply as [number, string, string, ...string[]],
});

export const waitingRoomRejoin = defineScript({
  name: 'waiting-room-rejoin',
  keys: ['q', 'holders', 'owners', 'joined', 'place'],
  lua: REJOIN_LUA,
  parse: (reply) => reply as [number, string, string],
});

export const waitingRoomStatus = defineScript({
  name: 'waiting-room-status',
  keys: ['q', 'admitted', 'sold', 'owners', 'holders', 'joined', 'place', 'merged'],
  lua: STATUS_LUA,
  parse: (reply) => reply as (number | string)[],
});

/**
 * Takes tickets STATUS just put back out of the line again, as PostgreSQL has them merged away (a loss of Redis forgot
 * the merge; see the repository's `recordMerges`). KEYS q holders owners merged admitted; ARGV expireAtMs, then pairs:
 * ticket, ticket kept. The ticket leaves the queue and its holders (so the kept ticket can come back bound to them),
 * and its admission if an admission step took it from the queue since STATUS put it back (put back near the head, a
 * ticket admitted before the loss is admitted again at once; its pass would be refused at checkout); its `joined`
 * entry stays, so it is not put back again; `merged` names the ticket kept, as the merge did.
 */
const UNRESTORE_LUA = `
for i = 2, #ARGV, 2 do
  local ticket = ARGV[i]
  redis.call('ZREM', KEYS[1], ticket)
  redis.call('HDEL', KEYS[5], ticket)
  local owners = redis.call('HGET', KEYS[3], ticket)
  if owners then
    for holder in string.gmatch(owners, '[^,]+') do
      if redis.call('HGET', KEYS[2], holder) == ticket then redis.call('HDEL', KEYS[2], holder) end
    end
  end
  redis.call('HDEL', KEYS[3], ticket)
  redis.call('HSET', KEYS[4], ticket, ARGV[i + 1])
  redis.call('PEXPIREAT', KEYS[4], ARGV[1])
end
return 1
`;

export const waitingRoomUnrestore = defineScript({ name: 'waiting-room-unrestore', keys: ['q', 'holders', 'owners', 'merged', 'admitted'], lua: UNRESTORE_LUA, parse: Number });

export const waitingRoomAdmit = defineScript({
  name: 'waiting-room-admit',
  keys: ['q', 'admitted', 'bucket', 'sold', 'joined', 'since', 'presented', 'hold'],
  lua: ADMIT_LUA,
  parse: (reply) => reply as (number | string)[],
});

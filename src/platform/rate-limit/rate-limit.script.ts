/**
 * GCRA (generic cell rate algorithm) over several limits in ONE round trip.
 *
 * Each key stores a "theoretical arrival time" (TAT, whole microseconds on the Redis clock). A limit of
 * `max` units per `window` ms admits one unit every `window / max` ms with bursts up to `max`; a request is
 * allowed when, after adding its cost, the TAT stays at most `max` intervals ahead of now. The interval is whole
 * microseconds, rounded up, and the tolerance is `max` of them rather than the window: rounded down against the
 * window, a window shorter in microseconds than max × (max + 1) fitted max + 1 units (60 s / 9999 = 6000.6 µs,
 * read as 6000: 10,000 a minute); rounded up, a burst of `max` always fits and no window ever admits more than
 * `max`. All arithmetic is on integers below 2^53, exact in Lua's doubles (fractional milliseconds such as
 * 2000 ms / 3, stored by `tostring` to 14 digits and summed in floating point, drifted up with every unit: the
 * last unit of a burst was refused).
 * Unlike a fixed window there is no boundary at which a client can spend twice its budget, and unlike a
 * sliding log it stores one number.
 * The clock is Redis's (`TIME`), so instances with skewed clocks share one view.
 *
 * KEYS: one key per limit, then one shadow key for each limit with a `baseMax` (in the same order). ARGV: for each
 * limit, five values `max, windowMs, cost, enforce, baseMax`:
 * - cost: units to record (0 = only check whether one more unit would fit).
 * - enforce: 1 = refuse when over; 0 = record regardless (counting a failure after the fact).
 * - baseMax: 0, or the configured max a degrade mode cut `max` from. Its shadow key then runs the same GCRA at
 *   `baseMax`: a request refused by the cut but admitted there was refused only by the degrade mode.
 * All-or-nothing: when any enforced limit refuses, nothing is recorded on the limits. The shadows record what the
 * normal limits would have: a request when every enforced limit admits it at its configured max (a cut limit's
 * shadow, any other limit itself), whatever the cuts answered; when an un-cut limit refuses, or a shadow does,
 * the normal limits would have refused it too and no shadow records it, or a shadow would run ahead of the normal
 * limit and report later requests refused only by the cut as past it. Nor does a shadow record a request it
 * refused itself (an un-enforced limit, `enforce` 0, past its `baseMax`).
 * Returns, per limit, `allowed (1|0), remaining, retryAfterMs, resetMs, withinBase (1|0)` (withinBase: the shadow
 * admitted it, or, without a baseMax, `allowed`), then `1` when the whole request was admitted (all integers: Redis
 * truncates Lua numbers).
 */
export const GCRA_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #ARGV / 5
local tats = {}
local refused = false
local baseRefused = false
local out = {}
local shadowKeys = {}
local baseTats = {}
local shadows = n
for i = 1, n do
  local max = tonumber(ARGV[(i - 1) * 5 + 1])
  local window = tonumber(ARGV[(i - 1) * 5 + 2]) * 1000
  local cost = tonumber(ARGV[(i - 1) * 5 + 3])
  local enforce = ARGV[(i - 1) * 5 + 4] == '1'
  local interval = math.ceil(window / max)
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  tats[i] = tat
  local wanted = cost
  if wanted < 1 then wanted = 1 end
  local allowAt = tat + interval * wanted - interval * max
  if enforce and allowAt > now then
    refused = true
    out[i] = {0, math.ceil((allowAt - now) / 1000)}
  else
    out[i] = {1, 0}
  end
  out[i][3] = out[i][1]
  local baseMax = tonumber(ARGV[(i - 1) * 5 + 5])
  if baseMax > 0 then
    shadows = shadows + 1
    shadowKeys[i] = KEYS[shadows]
    local baseTat = tonumber(redis.call('GET', KEYS[shadows])) or now
    if baseTat < now then baseTat = now end
    baseTats[i] = baseTat
    local baseInterval = math.ceil(window / baseMax)
    if baseTat + baseInterval * wanted - baseInterval * baseMax > now then
      out[i][3] = 0
    else
      out[i][3] = 1
    end
  end
  -- Under the normal limits: a cut limit answers by its shadow, any other by itself.
  if enforce and out[i][3] == 0 then baseRefused = true end
end
if not baseRefused then
  for i = 1, n do
    local cost = tonumber(ARGV[(i - 1) * 5 + 3])
    -- Only a shadow that admitted it: baseRefused counts enforced limits only, so an un-enforced one (enforce=0)
    -- past its baseMax would otherwise record and run its shadow ahead of the configured max.
    if shadowKeys[i] and cost > 0 and out[i][3] == 1 then
      local baseInterval = math.ceil(tonumber(ARGV[(i - 1) * 5 + 2]) * 1000 / tonumber(ARGV[(i - 1) * 5 + 5]))
      local baseTat = baseTats[i] + baseInterval * cost
      redis.call('SET', shadowKeys[i], string.format('%.0f', baseTat), 'PX', math.max(1, math.ceil((baseTat - now) / 1000)))
    end
  end
end
local result = {}
for i = 1, n do
  local max = tonumber(ARGV[(i - 1) * 5 + 1])
  local window = tonumber(ARGV[(i - 1) * 5 + 2]) * 1000
  local cost = tonumber(ARGV[(i - 1) * 5 + 3])
  local interval = math.ceil(window / max)
  local tat = tats[i]
  if not refused and cost > 0 then
    tat = tat + interval * cost
    redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.max(1, math.ceil((tat - now) / 1000)))
  end
  local remaining = math.floor((interval * max - (tat - now)) / interval)
  if remaining < 0 then remaining = 0 end
  if remaining > max then remaining = max end
  result[#result + 1] = out[i][1]
  result[#result + 1] = remaining
  result[#result + 1] = out[i][2]
  result[#result + 1] = math.ceil((tat - now) / 1000)
  result[#result + 1] = out[i][3]
end
if refused then result[#result + 1] = 0 else result[#result + 1] = 1 end
return result
`;

/**
 * Gives back `cost` units recorded earlier (an attempt counted before its outcome was known, which then
 * succeeded): moves each key's TAT back by `cost` intervals, never before now.
 * KEYS[i]: one key per limit. ARGV: for each key, `max, windowMs, cost`. Returns nothing useful (0).
 */
export const GCRA_GIVE_BACK_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 1, #KEYS do
  local max = tonumber(ARGV[(i - 1) * 3 + 1])
  local window = tonumber(ARGV[(i - 1) * 3 + 2]) * 1000
  local cost = tonumber(ARGV[(i - 1) * 3 + 3])
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if tat then
    tat = tat - math.ceil(window / max) * cost
    if tat <= now then
      redis.call('DEL', KEYS[i])
    else
      redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.max(1, math.ceil((tat - now) / 1000)))
    end
  end
end
return 0
`;

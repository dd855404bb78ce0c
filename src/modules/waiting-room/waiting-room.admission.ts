import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { StockGate } from '../inventory/index.ts';
import type { WaitingRoomConfig } from '../../platform/config/waiting-room.config.ts';
import { getWaitSeconds, type WaitingRoomMetrics } from './waiting-room.metrics.ts';
import { admissionRate } from './waiting-room.rate.ts';
import type { EventRegistry, QueuedEvent } from './waiting-room.registry.ts';
import { KEEP_AFTER_END_MS, ROOM_PARTS, roomKeys, waitingRoomAdmit } from './waiting-room.scripts.ts';

/*
 * The admission engine: on a timer, lets each live room's line in at its rate (no further than the stock gate's units
 * left: a sold-out room admits no one until units come back), holds admission while the admin pauses a room, and sets
 * the keys of rooms that ended to expire. Every instance runs it at once: each step is one atomic script (ADMIT). The
 * visitor-facing calls (`waiting-room.service.ts`) are built on it and read its rate for their ETAs.
 */

/**
 * A change every instance's event streams must hear (Redis pub/sub). `used`: an order spent the pass of ticket `t`
 * (published by the checkout, once per order with a pass; the streams of that ticket say so and end).
 */
export type RoomNotice = { e: number; kind: 'admitted'; tickets: string[] } | { e: number; kind: 'sold_out' | 'reopened' } | { e: number; kind: 'used'; t: string };

export interface AdmissionDeps {
  redis: Redis;
  prefix: string;
  config: WaitingRoomConfig;
  registry: EventRegistry;
  /** Reads the stock gate through the inventory module: units left per product. */
  gate: Pick<StockGate, 'peek' | 'ensure'>;
  /**
   * Calls its listener with products whose stock or status may have changed (their gate invalidated, here or in
   * another process: an admin's stock or status change, a cancellation), or undefined for "any product" (the stock
   * view's `onForget`); returns the function that stops calling it. Absent: products not for sale are re-read once
   * their memory runs out (NOT_FOR_SALE_MEMORY_MS).
   */
  stockChanges?: (listener: (productIds: readonly number[] | undefined) => void) => () => void;
  liveWebInstances: () => number;
  /** Requests/s one web instance serves within the SLO (capacity benchmark). */
  capacityRps: number;
  metrics: WaitingRoomMetrics;
  logger: Logger;
  /** Now on Redis's clock (see the room clock): every decision about a sale's window reads it. */
  clock: () => number;
  /** Called with each change the admission step made (the caller publishes it). */
  notify: (notice: RoomNotice) => void;
  /**
   * Runs `use` with whether the event's room is held as committed in PostgreSQL now, serialised with the admin's
   * changes of it and every other such call (the repository's `withRoomHold`).
   */
  withRoomHold: (eventId: number, use: (held: boolean) => Promise<void>) => Promise<void>;
}

/**
 * Most tickets one admission script takes: a bound on the time Redis spends in it (about a few ms), which
 * every other command waits for. A step needing more (a high rate at a long tick) runs the script again.
 */
const MAX_BATCH = 10_000;

/**
 * Most stock gates one admission step rebuilds from PostgreSQL for one event; the rest on the next steps. A sale may
 * list 10,000 products: rebuilding every missing gate at once sent a read per product in one burst, on every web
 * instance, at the sale's first step and again each STOCK_GATE_TTL_S (the figures, built together, expire together),
 * which overflowed the pool's queue: shoppers and admins were answered 503 DATABASE_BUSY.
 */
const MAX_REBUILDS_PER_STEP = 16;

/**
 * How long (room clock) the admission step takes a product that is not for sale (archived, draft, deleted: it keeps no
 * stock gate) as such without asking PostgreSQL again, unless its gate is invalidated first (`stockChanges`: putting it
 * back on sale does, on every instance, through the stock view notices). Without it a product pulled during a sale was
 * read at every step on every instance (10 reads/s per instance at the default tick). The bound is for a notice lost
 * (pub/sub is at most once): a product put back on sale then reopens the sale this much later at most.
 */
const NOT_FOR_SALE_MEMORY_MS = 5_000;

/**
 * How one step admits at `rate`: what it may take (two ticks' worth, so a step delayed or skipped is caught
 * up on the next one; at least 1,000, and a burst after a longer stall is spread over the next steps), in
 * script runs of at most MAX_BATCH, and the bucket's burst (a second's credit, or a step's at a long tick).
 * A fixed 1,000 a step admitted at most 1,000 a tick, whatever the rate said.
 */
export function stepBatch(rate: number, tickMs: number): { burst: number; batch: number; runs: number } {
  const twoTicks = Math.ceil((2 * rate * tickMs) / 1000);
  const perStep = Math.max(1000, twoTicks);
  const batch = Math.min(MAX_BATCH, perStep);
  return { burst: Math.max(1, rate, twoTicks), batch, runs: Math.ceil(perStep / batch) };
}

/**
 * How far back the web instances expected after a loss of the line are counted: the cluster's live set
 * lives in Redis too, and after a loss it fills again only as each instance's heartbeat comes back.
 */
const PEAK_WINDOW_MS = 60_000;

/** The largest value `read` gave within the last `windowMs` (read on each call). */
function recentPeak(read: () => number, windowMs: number): () => number {
  let samples: { at: number; value: number }[] = [];
  return () => {
    const at = performance.now();
    const value = read();
    samples = samples.filter((sample) => at - sample.at < windowMs && sample.value > value);
    samples.push({ at, value });
    return Math.max(...samples.map((sample) => sample.value));
  };
}

export function createAdmission(deps: AdmissionDeps) {
  const { config, registry } = deps;
  const { redis } = deps;
  const { key, of: eventKeys, expireAt } = roomKeys(deps.prefix);
  /**
   * After Redis lost a live room, nobody is admitted until every web instance has presented its open
   * streams' tickets again (putting them back in line: on reconnecting, then every `streamRefreshMs`),
   * and for this long at least, for visitors who poll instead.
   */
  const restoreGraceMs = 2 * config.streamRefreshMs + config.tickMs;
  /** ... and at most this long: an instance that died with Redis never presents (see ADMIT). */
  const restoreMaxHoldMs = 5 * restoreGraceMs;
  /** Web instances seen live lately: those expected to present their streams after a loss of the line. */
  const webInstances = recentPeak(() => deps.liveWebInstances(), PEAK_WINDOW_MS);
  /** Per event, whether its last step found it sold out (the sell-out gauge, `soldOut`). */
  const soldOut = new Map<number, boolean>();
  /** Per event, where the next step's gate rebuilds start among its missing gates (see `unitsLeft`). */
  const rebuildFrom = new Map<number, number>();
  /** Products the gate last said are not for sale: when (room clock). Forgotten on their invalidation (`stockChanges`). */
  const notForSale = new Map<number, number>();
  /**
   * The gate rebuilds in flight, each with the products invalidated while it reads (`all`: every product): a "not for
   * sale" read of a product invalidated meanwhile is not remembered. Per product, not one counter for all: in a busy
   * sale invalidations of some product never stop (cancellations, expiries, admin changes), and a counter voided every
   * read, so the memory never held. Kept only while the reads are in flight: no record per product ever invalidated.
   */
  const reading = new Set<{ invalidated: Set<number>; all: boolean }>();
  const onStockChange = (productIds: readonly number[] | undefined) => {
    if (productIds === undefined) notForSale.clear();
    else for (const id of productIds) notForSale.delete(id);
    for (const read of reading) {
      if (productIds === undefined) read.all = true;
      else for (const id of productIds) read.invalidated.add(id);
    }
  };
  let stopStockChanges: (() => void) | undefined;

  function rateOf(event: QueuedEvent): number {
    return admissionRate({
      configured: event.admissionPerSecond,
      liveWebInstances: deps.liveWebInstances(),
      capacityRpsPerInstance: deps.capacityRps,
      safetyFactor: config.safetyFactor,
      requestsPerVisitor: config.requestsPerVisitor,
    }).perSecond;
  }

  async function unitsLeft(event: QueuedEvent): Promise<number> {
    if (event.productIds.length === 0) return -1;
    const figures = await deps.gate.peek(event.productIds);
    const now = deps.clock();
    // A product known not for sale keeps no gate: no units, and no read of PostgreSQL until its memory runs out.
    const missing = event.productIds.filter((id) => {
      if (figures.has(id)) return false;
      const at = notForSale.get(id);
      if (at === undefined) return true;
      if (now - at < NOT_FOR_SALE_MEMORY_MS) return false;
      notForSale.delete(id);
      return true;
    });
    let unknown = false;
    if (missing.length > 0) {
      // A gate expired or was invalidated (admin stock change, cancellation): rebuild it from PostgreSQL, at most
      // MAX_REBUILDS_PER_STEP per step, from where the last step left off (a product not for sale, which keeps no
      // gate, is missing until remembered and must not keep the others from their turn).
      const from = (rebuildFrom.get(event.id) ?? 0) % missing.length;
      const turn = [...missing.slice(from), ...missing.slice(0, from)].slice(0, MAX_REBUILDS_PER_STEP);
      rebuildFrom.set(event.id, from + turn.length);
      const read = { invalidated: new Set<number>(), all: false };
      reading.add(read);
      let sellable: boolean[];
      try {
        sellable = await Promise.all(turn.map((id) => deps.gate.ensure(id)));
      } finally {
        reading.delete(read);
      }
      if (!read.all) {
        for (const [i, id] of turn.entries()) if (!sellable[i] && !read.invalidated.has(id)) notForSale.set(id, now);
      }
      const again = await deps.gate.peek(turn.filter((_, i) => sellable[i]));
      for (const [id, value] of again) figures.set(id, value);
      unknown = turn.length < missing.length;
    }
    let total = 0;
    for (const value of figures.values()) total += Math.max(0, value);
    // Gates left for later steps may hold units: not sold out until they are read (units known: not sold out).
    return unknown && total === 0 ? -1 : total;
  }

  /** One admission step for one live event (see ADMIT): safe on every instance at once. */
  async function admit(event: QueuedEvent): Promise<void> {
    const available = await unitsLeft(event).catch((error: unknown) => {
      deps.logger.warn({ err: error, saleEvent: event.id }, 'waiting room: could not read the stock gate');
      return -1;
    });
    const rate = rateOf(event);
    const { burst, batch, runs } = stepBatch(rate, config.tickMs);
    const label = { sale_event: String(event.id) };
    for (let run = 0; run < runs; run++) {
      const reply = await waitingRoomAdmit.run(
        redis,
        eventKeys(event.id, ['q', 'admitted', 'bucket', 'sold', 'joined', 'since', 'presented', 'hold']),
        rate,
        burst,
        available,
        event.startsAtMs,
        event.endsAtMs,
        expireAt(event),
        batch,
        restoreGraceMs,
        webInstances(),
        restoreMaxHoldMs,
        event.paused ? 1 : 0,
      );
      const change = Number(reply[0]);
      const now = Number(reply[1]);
      if (change === 1) {
        soldOut.set(event.id, true);
        deps.notify({ e: event.id, kind: 'sold_out' });
      } else if (change === 2) {
        soldOut.set(event.id, false);
        deps.notify({ e: event.id, kind: 'reopened' });
      } else if (available === 0) soldOut.set(event.id, true);
      else if (available > 0) soldOut.set(event.id, false);
      const tickets: string[] = [];
      for (let i = 2; i + 1 < reply.length; i += 2) {
        tickets.push(String(reply[i]));
        deps.metrics.wait.observe(label, getWaitSeconds(now, Number(reply[i + 1]), event.startsAtMs));
      }
      if (tickets.length > 0) {
        deps.metrics.admitted.inc(label, tickets.length);
        deps.notify({ e: event.id, kind: 'admitted', tickets });
      }
      // A full batch: more credit may be left (only at a long tick); else this step is done.
      if (tickets.length < batch) break;
    }
  }

  /**
   * The keys of a room are set to expire a day after its planned end. A sale ended early, deleted or
   * whose room was switched off would keep them (a big sale's line: tens of MB) until then — for good, for
   * a sale planned with a far end and ended by hand. So once an event has ended, or has left the registry,
   * every key of its room is made to expire a day from its end (from when it left, for one that left),
   * never later than it would have (`LT`). This is repeated on every step for `retireSettleMs`: until then
   * another instance that has not re-read the event yet may still step it (and set its old expiry again).
   *
   * The other way round, an event seen with a later end than before (extended, also after being ended or
   * switched off: its keys may have been set to go a day after the early end; or first seen here) has every
   * key of its room made to expire a day after the new end, never earlier than it would have (`GT`), also
   * for `retireSettleMs` (another instance may still be retiring it). Keys no step touches again (`since`,
   * a line nobody joins any more) would otherwise go in the middle of the sale.
   */
  const retireSettleMs = 5 * config.eventsRefreshMs + config.tickMs;
  const retiring = new Map<number, { atMs: number; since: number }>();
  const extending = new Map<number, { atMs: number; since: number }>();
  /** The keys' expiry each event of the registry was last seen with. */
  let seen = new Map<number, number>();
  async function retireEnded(now: number): Promise<void> {
    const events = registry.all();
    const ids = new Set(events.map((event) => event.id));
    for (const id of seen.keys()) {
      if (ids.has(id) || retiring.has(id)) continue;
      retiring.set(id, { atMs: now + KEEP_AFTER_END_MS, since: now });
      extending.delete(id);
    }
    const next = new Map<number, number>();
    for (const event of events) {
      const atMs = expireAt(event);
      next.set(event.id, atMs);
      if (now < event.endsAtMs) {
        // Running (again): no longer retired; its keys get the expiry of its (new) end.
        retiring.delete(event.id);
        if (seen.get(event.id) !== atMs) extending.set(event.id, { atMs, since: now });
        continue;
      }
      if (retiring.get(event.id)?.atMs === atMs) continue;
      retiring.set(event.id, { atMs, since: now });
      extending.delete(event.id);
    }
    seen = next;
    const due: [number, number, 'LT' | 'GT'][] = [];
    for (const [id, { atMs, since }] of retiring) {
      if (now - since <= retireSettleMs) due.push([id, atMs, 'LT']);
      else if (!ids.has(id)) retiring.delete(id);
    }
    for (const [id, { atMs, since }] of extending) {
      if (now - since <= retireSettleMs) due.push([id, atMs, 'GT']);
      else extending.delete(id);
    }
    if (due.length === 0) return;
    const pipeline = redis.pipeline();
    for (const [id, atMs, when] of due) {
      for (const part of ROOM_PARTS) {
        if (when === 'LT') pipeline.pexpireat(key(id, part), atMs, 'LT');
        else pipeline.pexpireat(key(id, part), atMs, 'GT');
      }
    }
    await pipeline.exec();
  }

  /**
   * Drops what the steps remember that no step will read again: the rebuild position and sell-out state of an event no
   * longer stepped (ended, deleted, switched off; the sell-out gauge reads live events only, which every step steps),
   * and "not for sale" entries whose memory ran out (those of a product in no stepped event are never looked at again
   * otherwise). A web instance runs for weeks through thousands of sales; without this the maps only grew. Expiry is enough for products: an entry lives NOT_FOR_SALE_MEMORY_MS at most, and costs a
   * pass over the few remembered, not over every product of every live sale at each step.
   */
  function forgetPast(due: readonly QueuedEvent[], now: number): void {
    const stepped = new Set(due.map((event) => event.id));
    for (const id of rebuildFrom.keys()) if (!stepped.has(id)) rebuildFrom.delete(id);
    for (const id of soldOut.keys()) if (!stepped.has(id)) soldOut.delete(id);
    for (const [id, at] of notForSale) if (now - at >= NOT_FOR_SALE_MEMORY_MS) notForSale.delete(id);
  }

  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  async function tick(): Promise<void> {
    if (ticking) return;
    ticking = true;
    try {
      const now = deps.clock();
      // Events about to start are stepped too, so the bucket starts empty at the start on Redis's clock.
      const due = registry.all().filter((event) => event.startsAtMs - 1000 <= now && now < event.endsAtMs);
      forgetPast(due, now);
      await Promise.all([
        ...due.map((event) => admit(event).catch((error: unknown) => deps.logger.warn({ err: error, saleEvent: event.id }, 'waiting room: admission step failed'))),
        retireEnded(now).catch((error: unknown) => deps.logger.warn({ err: error }, "waiting room: could not set an ended room's keys to expire")),
      ]);
    } finally {
      ticking = false;
    }
  }

  /**
   * How long the admin's pause is held in Redis: until every instance has surely re-read the rooms (and carries the
   * pause itself), with room for a few failed reads. Bounded, so a resume whose removal of it failed (Redis
   * unreachable just then) delays admission by this at most.
   */
  const holdMs = Math.max(10_000, 10 * config.eventsRefreshMs);

  return {
    /** The rate an event admits at now (its ETAs are counted at it too). */
    rateOf,

    /**
     * After the admin paused or resumed a room, in PostgreSQL: holds (or releases) admission in the room's Redis state
     * at once, which the admission step of every instance reads, so no instance admits for up to
     * `WAITING_ROOM_EVENTS_REFRESH_MS` after a pause on the setting it read before. The key is set from the row as
     * committed now, read and written under the row's lock (see `withRoomHold`), not from `requested` (what the
     * caller's own change set): a pause and a resume racing, possibly on two instances, would otherwise write Redis
     * in either order, and a pause written after the resume held admission for `holdMs` in a room not paused. A
     * failure is logged, not thrown: the change is stored, and every instance carries it within that period anyway.
     */
    async holdAdmission(eventId: number, requested: boolean): Promise<void> {
      const hold = key(eventId, 'hold');
      await deps
        .withRoomHold(eventId, async (held) => {
          await (held ? redis.set(hold, '1', 'PX', holdMs) : redis.del(hold));
        })
        .catch((error: unknown) => {
          deps.logger.warn(
            { err: error, saleEvent: eventId, paused: requested },
            "waiting room: could not write the admin's pause to Redis (every instance reads it from the rooms within WAITING_ROOM_EVENTS_REFRESH_MS)",
          );
        });
    },

    /**
     * Rates in force of the live waiting rooms (metrics; events not started or over are left out): 0 while paused,
     * so the admission-rate gauge tells the truth and `WaitingRoomAdmissionStalled` (which needs a rate above 0)
     * does not page for a pause an operator chose.
     */
    rates: () => new Map(registry.live(deps.clock()).map((event) => [event.id, event.paused ? 0 : rateOf(event)])),
    soldOut: () => new Map(registry.live(deps.clock()).map((event) => [event.id, soldOut.get(event.id) ?? false])),

    start(): void {
      stopStockChanges ??= deps.stockChanges?.(onStockChange);
      timer ??= setInterval(() => void tick(), config.tickMs);
      timer.unref();
    },
    /** Stops the timer, and waits for a step still running. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      stopStockChanges?.();
      stopStockChanges = undefined;
      while (ticking) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    /** One admission step now (tests). */
    tick,
    /** What the steps carry from one to the next (tests): events with a rebuild position or a sell-out state, products remembered not for sale. */
    memory: () => ({ rebuildEvents: [...rebuildFrom.keys()], soldOutEvents: [...soldOut.keys()], notForSale: [...notForSale.keys()] }),
  };
}

export type Admission = ReturnType<typeof createAdmission>;

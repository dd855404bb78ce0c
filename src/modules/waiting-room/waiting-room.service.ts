import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { StockGate } from '../inventory/index.ts';
import type { WaitingRoomConfig } from '../../platform/config/waiting-room.config.ts';
import {
  SaleEndedError,
  TicketLimitError,
  TicketNotFoundError,
  unavailableOnError,
  WaitingRoomNotFoundError,
  WaitingRoomNotOpenError,
} from './waiting-room.errors.ts';
import { getWaitSeconds, type WaitingRoomMetrics } from './waiting-room.metrics.ts';
import { admissionRate } from './waiting-room.rate.ts';
import type { EventRegistry, QueuedEvent } from './waiting-room.registry.ts';
import {
  JOIN_REPLY,
  KEEP_AFTER_END_MS,
  ROOM_PARTS,
  roomKeys,
  waitingRoomAdmit,
  waitingRoomJoin,
  waitingRoomPresented,
  waitingRoomRejoin,
  waitingRoomStatus,
  waitingRoomUnrestore,
} from './waiting-room.scripts.ts';
import type { MergedTicket } from './waiting-room.repository.ts';
import type { TicketRef, TokenSigner } from './waiting-room.tokens.ts';

/**
 * `expired`: the pass ran out unused, or the ticket is no longer in line. `closed`: the line itself is gone
 * (the sale ended, or its waiting room was switched off or the sale deleted): nothing to wait for, and a
 * visitor told "expired" then would have believed they had missed their turn.
 */
/** `used`: the ticket's pass bought an order (see the checkout rule's `used` notice, and `status`). */
export type TicketState = 'waiting' | 'admitted' | 'sold_out' | 'expired' | 'closed' | 'used';

/** The status of every ticket of a line that is gone. */
const CLOSED: TicketStatus = { state: 'closed', position: null, etaSeconds: null };
/** The status of a ticket whose pass bought an order (as the event streams' `used` frame). */
const USED: TicketStatus = { state: 'used', position: null, etaSeconds: null };

export interface TicketStatus {
  state: TicketState;
  /** Place in line (1 = next); null before the sale starts (the pre-queue is ordered at the start), while sold out, and once out of the line. */
  position: number | null;
  /**
   * Seconds until admission at the current rate; null when not waiting. Before the start: until the start, plus
   * the time to admit the pre-queue (the place a draw gives is hidden until then, and any may be drawn last).
   */
  etaSeconds: number | null;
  /** The signed admission pass, while admitted. */
  pass?: string;
  passExpiresAt?: string;
  admittedAt?: string;
  /**
   * True while the admin holds admission (state stays `waiting`, the place is kept, `etaSeconds` is null: no
   * one can say when it resumes); absent otherwise.
   */
  paused?: true;
  /**
   * With `expired`, for a ticket taken out of the line by merging it with another of the same shopper (a guest
   * ticket and an account ticket, see JOIN): the signed ticket kept, where the shopper's place lives on. Given only
   * to a holder bound to that ticket (the shopper's devices), never for the dropped ticket's text alone. A client
   * follows it instead of telling the shopper their place is lost; one that does not know it sees `expired`, as before.
   */
  replacedBy?: string;
  /**
   * With `admitted`, and `closed` by the sale's end: when the sale ends (an early end or an extension moves it). The
   * admitted hold their stream until the pass is used or expires, and this is how they hear of a new end.
   */
  saleEndsAt?: string;
  /** With `admitted`: everything in the sale is taken now (the pass still buys if units come back before it expires). */
  soldOut?: true;
  /**
   * With `expired`: a join of the ticket's holders takes a new ticket at the back of the line (see `join`: admitted,
   * the pass expired without buying an order). Absent, a join answers the same expired ticket (a pass that bought its
   * order, a ticket out of line), so a client offers no "join again".
   */
  canRejoin?: true;
}

/** Who is asking: the holders a ticket is bound to (`c:<customerId>`, `g:<visitorId>`). */
export interface Visitor {
  holders: string[];
  /** Address class (IPv4 address, IPv6 /64) for the per-address ticket limit. */
  addressClass: string;
}

/**
 * A ticket as a request presents it: the entry it names and the holders presenting it (to whom the entry
 * is bound again if the line lost it).
 */
export interface PresentedTicket {
  id: string;
  /** Its place as its ticket carries it (`p`, µs digits; '' unknown) and that place's score in the line ('' unknown). */
  place: string;
  score: string;
  holders: readonly string[];
}

/**
 * A change every instance's event streams must hear (Redis pub/sub). `used`: an order spent the pass of ticket `t`
 * (published by the checkout, once per order with a pass; the streams of that ticket say so and end).
 */
export type RoomNotice = { e: number; kind: 'admitted'; tickets: string[] } | { e: number; kind: 'sold_out' | 'reopened' } | { e: number; kind: 'used'; t: string };

export interface WaitingRoomDeps {
  redis: Redis;
  prefix: string;
  config: WaitingRoomConfig;
  signer: TokenSigner;
  registry: EventRegistry;
  /** Reads the stock gate through the inventory module: units left per product. */
  gate: Pick<StockGate, 'peek' | 'ensure'>;
  liveWebInstances: () => number;
  /** This process's instance id: names its `presented` mark after a loss of the line (see PRESENTED). */
  instanceId: string;
  /** Requests/s one web instance serves within the SLO (capacity benchmark). */
  capacityRps: number;
  metrics: WaitingRoomMetrics;
  logger: Logger;
  /** Now on Redis's clock (see the room clock): every decision about a sale's window reads it. */
  clock: () => number;
  /** Called with each change the admission step made (the caller publishes it). */
  notify: (notice: RoomNotice) => void;
  /** Whether the pass of a ticket has bought an order (PostgreSQL, see `waiting-room.repository.ts`). */
  isSpent: (eventId: number, ticketId: string) => Promise<boolean>;
  /**
   * Records in PostgreSQL the tickets a merge took out of the line, each with the ticket kept (the repository's
   * `recordMerges`): their passes then buy nothing whatever Redis loses.
   */
  recordMerges: (eventId: number, merges: readonly MergedTicket[]) => Promise<void>;
  /** Which of these tickets PostgreSQL has merged away, each with the ticket kept (the repository's `replacedOf`). */
  replacedOf: (eventId: number, ticketIds: readonly string[]) => Promise<Map<string, string>>;
  /**
   * Runs `use` with whether the event's room is held as committed in PostgreSQL now, serialised with the admin's
   * changes of it and every other such call (the repository's `withRoomHold`).
   */
  withRoomHold: (eventId: number, use: (held: boolean) => Promise<void>) => Promise<void>;
}

/**
 * How long before its start a sale's line takes visitors. Joined earlier, a ticket would outlive what it is bound to
 * (the visitor cookie lasts 30 days, a session less: a guest back without it is a new visitor, refused behind their
 * own address's ticket or given a second place while the first stays in the draw) and keep its room's keys in Redis
 * for as long as the sale is ahead (years, for a sale planned far out).
 */
export const JOIN_OPENS_BEFORE_MS = 86_400_000;

/** A merge record PostgreSQL refused is tried again after this, doubling per try up to `MERGE_RECORD_RETRY_MAX_MS`. */
const MERGE_RECORD_RETRY_MS = 500;
const MERGE_RECORD_RETRY_MAX_MS = 30_000;
/** Tries of a merge record in all (about 7 minutes of retries): a PostgreSQL outage or failover passes in less. */
const MERGE_RECORD_ATTEMPTS = 20;

/**
 * Most tickets one admission script takes: a bound on the time Redis spends in it (about a few ms), which
 * every other command waits for. A step needing more (a high rate at a long tick) runs the script again.
 */
const MAX_BATCH = 10_000;

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

export function createWaitingRoom(deps: WaitingRoomDeps) {
  const { config, registry, signer } = deps;
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
  /** Per-instance view for metrics and ETAs. */
  const rates = new Map<number, number>();
  const soldOut = new Map<number, boolean>();

  function rateOf(event: QueuedEvent): number {
    const rate = admissionRate({
      configured: event.admissionPerSecond,
      liveWebInstances: deps.liveWebInstances(),
      capacityRpsPerInstance: deps.capacityRps,
      safetyFactor: config.safetyFactor,
      requestsPerVisitor: config.requestsPerVisitor,
    }).perSecond;
    rates.set(event.id, rate);
    return rate;
  }

  function eventOrThrow(id: number): QueuedEvent {
    const event = registry.get(id);
    if (!event) throw new WaitingRoomNotFoundError(id);
    return event;
  }

  const redisCall = <T>(call: () => Promise<T>) => unavailableOnError(call, deps.logger);
  /** Whether a ticket's pass bought an order; true when PostgreSQL cannot say (the visitor keeps their expired ticket). */
  const passSpent = (eventId: number, ticketId: string) =>
    deps.isSpent(eventId, ticketId).catch((error: unknown) => {
      deps.logger.warn({ err: error, saleEvent: eventId }, 'waiting room: could not read whether a pass was spent');
      return true;
    });

  /**
   * Marks the expired tickets a join would take back into the line (`canRejoin`, the rule of `join`): admitted, the pass
   * not spent (a sale ended reads `closed`). One PostgreSQL read for each such ticket, and a ticket reads `expired` once
   * (its stream ends, a client stops polling); one PostgreSQL cannot speak for is not offered, as the join keeps it out.
   */
  function withRejoin(eventId: number, tickets: readonly PresentedTicket[], statuses: TicketStatus[]): Promise<TicketStatus[]> {
    return Promise.all(
      statuses.map(async (status, i) =>
        status.state === 'expired' && status.admittedAt !== undefined && !(await passSpent(eventId, tickets[i]!.id)) ? { ...status, canRejoin: true as const } : status,
      ),
    );
  }

  /** The pairs (ticket dropped, ticket kept) a script's merges returned from `from` on (see `merge`). */
  function mergesIn(reply: readonly unknown[], from: number): MergedTicket[] {
    const merges: MergedTicket[] = [];
    for (let i = from; i + 1 < reply.length; i += 2) merges.push({ ticketId: String(reply[i]), keptId: String(reply[i + 1]) });
    return merges;
  }

  /** Merge records PostgreSQL refused, waiting for their next try (see `recordMerges`). */
  const unrecorded = new Map<NodeJS.Timeout, { eventId: number; merges: readonly MergedTicket[] }>();
  /** Set by `stop`: a try still running then is not followed by another (its timer would outlive the room). */
  let stopped = false;

  /** Tries a failed merge record again after a backoff, until it is written, `MERGE_RECORD_ATTEMPTS` ran out or the room stopped. */
  function retryRecord(eventId: number, merges: readonly MergedTicket[], attempt: number): void {
    if (stopped) {
      deps.logger.error({ saleEvent: eventId, merges }, 'waiting room: stopped before merged tickets were recorded in PostgreSQL (only Redis refuses their passes)');
      return;
    }
    const handle = setTimeout(() => {
      unrecorded.delete(handle);
      deps.recordMerges(eventId, merges).then(
        () => deps.logger.info({ saleEvent: eventId, merges, attempt }, 'waiting room: merged tickets recorded in PostgreSQL on a retry'),
        (error: unknown) => {
          if (attempt + 1 < MERGE_RECORD_ATTEMPTS) return retryRecord(eventId, merges, attempt + 1);
          deps.logger.error({ err: error, saleEvent: eventId, merges }, 'waiting room: gave up recording merged tickets in PostgreSQL (only Redis refuses their passes)');
        },
      );
    }, Math.min(MERGE_RECORD_RETRY_MS * 2 ** (attempt - 1), MERGE_RECORD_RETRY_MAX_MS));
    handle.unref();
    unrecorded.set(handle, { eventId, merges });
  }

  /**
   * Records what a merge dropped in PostgreSQL before the reply that follows it (rare: a shopper signing in with a
   * guest ticket while their account holds another). A failure is logged and the record tried again in the
   * background with a backoff (a PostgreSQL outage or failover passes): meanwhile Redis's `merged` refuses the dropped
   * ticket's pass at checkout. A record still unwritten when the instance stops is logged (Redis alone holds it then).
   */
  async function recordMerges(eventId: number, merges: readonly MergedTicket[]): Promise<void> {
    if (merges.length === 0) return;
    await deps.recordMerges(eventId, merges).catch((error: unknown) => {
      deps.logger.error({ err: error, saleEvent: eventId, merges }, 'waiting room: could not record merged tickets in PostgreSQL (tried again in the background)');
      retryRecord(eventId, merges, 1);
    });
  }

  /**
   * `preQueue`: tickets waiting with a pre-queue draw (they rank first, before any arrival). Before the start a
   * drawn ticket is told the latest it may be admitted: the whole pre-queue at the rate after the start, the same
   * for each, so it says nothing of the draw (a visitor who could read theirs would join again until it is good).
   * Told the time to the start alone, a visitor of a pre-queue of 60,000 at 200/s expected to be in at the start
   * and waited up to five minutes more.
   */
  function statusOf(event: QueuedEvent, ticketId: string, now: number, sold: boolean, preQueue: number, rank: number, admittedAt: number, owners: string, replacedBy: string): TicketStatus {
    // The end first: a sale over (also one the admin ended early) is over for the admitted too, whose pass buys nothing
    // now, and `closed` is what the schema and the storefront's page tell of it.
    const saleEndsAt = new Date(event.endsAtMs).toISOString();
    if (now >= event.endsAtMs) return { ...CLOSED, saleEndsAt };
    if (admittedAt >= 0) {
      const expiresAt = admittedAt + config.passS * 1000;
      const times = { admittedAt: new Date(admittedAt).toISOString(), passExpiresAt: new Date(expiresAt).toISOString() };
      if (now >= expiresAt) return { state: 'expired', position: null, etaSeconds: null, ...times };
      const pass = signer.pass({ e: event.id, t: ticketId, h: owners === '' ? [] : owners.split(','), x: expiresAt });
      return { state: 'admitted', position: null, etaSeconds: null, pass, ...times, saleEndsAt, ...(sold ? { soldOut: true as const } : {}) };
    }
    if (rank < 0) return replacedBy === '' ? { state: 'expired', position: null, etaSeconds: null } : { state: 'expired', position: null, etaSeconds: null, replacedBy };
    // No place in line while sold out: every waiting visitor is told the same (one frame for all, see the streams).
    if (sold) return { state: 'sold_out', position: null, etaSeconds: null };
    // Paused: the place holds, but a wait at the rate would be a promise nobody can keep.
    if (event.paused) return { state: 'waiting', position: now < event.startsAtMs ? null : rank + 1, etaSeconds: null, paused: true };
    if (now < event.startsAtMs) {
      const ahead = rank < preQueue ? preQueue : rank + 1;
      return { state: 'waiting', position: null, etaSeconds: Math.ceil((event.startsAtMs - now) / 1000 + ahead / rateOf(event)) };
    }
    return { state: 'waiting', position: rank + 1, etaSeconds: Math.ceil((rank + 1) / rateOf(event)) };
  }

  /** A ticket presented by `holders`, its score computed once (a pre-queue draw is an HMAC). */
  function presented(eventId: number, ref: TicketRef, holders: readonly string[]): PresentedTicket {
    const score = ref.place === undefined ? '' : ref.place === 'p' ? signer.preQueueScore(eventId, ref.id) : ref.place;
    return { id: ref.id, place: ref.place ?? '', score, holders };
  }

  /**
   * Of tickets STATUS just put back in the line (Redis lost it), takes out again those PostgreSQL has merged away: a
   * loss of Redis forgets merges, and a dropped ticket put back would hold the shopper's holders (their kept ticket
   * could not come back) with a pass refused at checkout. Rare (only after a loss), so one read then; if PostgreSQL
   * cannot answer, the tickets stay (logged), as before. Returns the tickets taken out.
   */
  async function takeBackMergedAway(event: QueuedEvent, restored: readonly string[]): Promise<Set<string>> {
    if (restored.length === 0) return new Set();
    const replaced = await deps.replacedOf(event.id, restored).catch((error: unknown) => {
      deps.logger.warn({ err: error, saleEvent: event.id }, 'waiting room: could not read whether tickets put back were merged away');
      return new Map<string, string>();
    });
    if (replaced.size === 0) return new Set();
    await redisCall(() => waitingRoomUnrestore.run(redis, eventKeys(event.id, ['q', 'holders', 'owners', 'merged', 'admitted']), expireAt(event), ...[...replaced].flat()));
    return new Set(replaced.keys());
  }

  /**
   * Statuses of many tickets of one event in one round trip (putting back those the line lost, see
   * STATUS), and Redis's time when they were read.
   */
  async function read(event: QueuedEvent, tickets: readonly PresentedTicket[]): Promise<{ now: number; statuses: TicketStatus[] }> {
    const args = tickets.flatMap((ticket) => [ticket.id, ticket.place, ticket.score, ticket.holders.join(',')]);
    const reply = await waitingRoomStatus.run(redis, eventKeys(event.id, ['q', 'admitted', 'sold', 'owners', 'holders', 'joined', 'place', 'merged']), event.endsAtMs, expireAt(event), ...args);
    const now = Number(reply[0]);
    const sold = Number(reply[1]) === 1;
    const preQueue = Number(reply[2]);
    await recordMerges(event.id, mergesIn(reply, 3 + tickets.length * 6));
    const gone = await takeBackMergedAway(event, tickets.filter((_, i) => Number(reply[3 + i * 6 + 5]) === 1).map(({ id }) => id));
    return {
      now,
      statuses: tickets.map(({ id }, i) => {
        const at = 3 + i * 6;
        if (gone.has(id)) return statusOf(event, id, now, sold, preQueue, -1, -1, '', '');
        const kept = String(reply[at + 3] ?? '');
        const replacedBy = kept === '' ? '' : signer.ticket(event.id, kept, String(reply[at + 4]));
        return statusOf(event, id, now, sold, preQueue, Number(reply[at]), Number(reply[at + 1]), String(reply[at + 2] ?? ''), replacedBy);
      }),
    };
  }
  const statuses = async (event: QueuedEvent, tickets: readonly PresentedTicket[]) => (await read(event, tickets)).statuses;

  async function unitsLeft(event: QueuedEvent): Promise<number> {
    if (event.productIds.length === 0) return -1;
    const figures = await deps.gate.peek(event.productIds);
    const missing = event.productIds.filter((id) => !figures.has(id));
    if (missing.length > 0) {
      // A gate expired or was invalidated (admin stock change, cancellation): rebuild it from PostgreSQL.
      const sellable = await Promise.all(missing.map((id) => deps.gate.ensure(id)));
      const again = await deps.gate.peek(missing.filter((_, i) => sellable[i]));
      for (const [id, value] of again) figures.set(id, value);
    }
    let total = 0;
    for (const value of figures.values()) total += Math.max(0, value);
    return total;
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

  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  async function tick(): Promise<void> {
    if (ticking) return;
    ticking = true;
    try {
      const now = deps.clock();
      // Events about to start are stepped too, so the bucket starts empty at the start on Redis's clock.
      const due = registry.all().filter((event) => event.startsAtMs - 1000 <= now && now < event.endsAtMs);
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

    async queueLengths(): Promise<Map<number, number>> {
      const now = deps.clock();
      const events = registry.all().filter((event) => now < event.endsAtMs);
      const lengths = await Promise.all(events.map((event) => redis.zcard(key(event.id, 'q'))));
      return new Map(events.map((event, i) => [event.id, lengths[i]!]));
    },

    /** The room as the storefront shows it. */
    async info(eventId: number) {
      const event = eventOrThrow(eventId);
      const [waiting, sold] = await redisCall(() => Promise.all([redis.zcard(key(eventId, 'q')), redis.exists(key(eventId, 'sold'))]));
      return {
        saleEventId: event.id,
        name: event.name,
        startsAt: new Date(event.startsAtMs).toISOString(),
        endsAt: new Date(event.endsAtMs).toISOString(),
        productIds: event.productIds,
        admissionPerSecond: rateOf(event),
        paused: event.paused,
        waiting,
        soldOut: sold === 1,
        now: deps.clock(),
      };
    },

    /** Joins the line (or returns the visitor's ticket). */
    async join(eventId: number, visitor: Visitor): Promise<{ ticket: string; replayed: boolean; status: TicketStatus }> {
      const event = eventOrThrow(eventId);
      if (deps.clock() >= event.endsAtMs) throw new SaleEndedError(eventId);
      const opensAtMs = event.startsAtMs - JOIN_OPENS_BEFORE_MS;
      if (deps.clock() < opensAtMs) throw new WaitingRoomNotOpenError(eventId, new Date(opensAtMs).toISOString());
      const fresh = randomBytes(16).toString('base64url');
      const [kind, ticketId, place, ...dropped] = await redisCall(() =>
        waitingRoomJoin.run(
          redis,
          eventKeys(eventId, ['q', 'holders', 'owners', 'joined', 'addr', 'place', 'admitted', 'merged']),
          fresh,
          event.startsAtMs,
          expireAt(event),
          // A place in the pre-queue no one can choose, predict or read, and the room can compute again.
          signer.preQueueScore(eventId, fresh),
          visitor.addressClass,
          config.ticketsPerAddress,
          ...visitor.holders,
        ),
      );
      if (Number(kind) === JOIN_REPLY.ticketLimit) throw new TicketLimitError(eventId, config.ticketsPerAddress);
      await recordMerges(eventId, mergesIn(dropped, 0));
      let ticket = presented(eventId, { id: ticketId, place: String(place) }, visitor.holders);
      let [status] = await redisCall(() => statuses(event, [ticket]));
      let replayed = Number(kind) === JOIN_REPLY.replayed;
      // Admitted, but the pass expired unused (the visitor was away): they join again at the back of the line, as
      // on any waiting room. A pass that bought its order does not: one visitor's places buy one order in a sale.
      if (replayed && status!.state === 'expired' && status!.admittedAt !== undefined && deps.clock() < event.endsAtMs && !(await passSpent(eventId, ticket.id))) {
        const [again, id, at] = await redisCall(() =>
          waitingRoomRejoin.run(redis, eventKeys(eventId, ['q', 'holders', 'owners', 'joined', 'place']), ticket.id, randomBytes(16).toString('base64url'), expireAt(event), ...visitor.holders),
        );
        ticket = presented(eventId, { id: String(id), place: String(at) }, visitor.holders);
        [status] = await redisCall(() => statuses(event, [ticket]));
        replayed = Number(again) === 0;
      }
      return { ticket: signer.ticket(eventId, ticket.id, ticket.place), replayed, status: status! };
    },

    /**
     * The queue entry a signed ticket names, as `holders` present it; 404 for anything we did not sign. A
     * ticket signed for the event is good even once its room is gone (switched off, the sale deleted): its
     * status is `closed` (see `status`).
     */
    present(eventId: number, ticket: string, holders: readonly string[]): PresentedTicket {
      const ref = signer.verifyTicket(eventId, ticket);
      if (ref === undefined) throw new TicketNotFoundError(eventId);
      return presented(eventId, ref, holders);
    },

    /**
     * A presented ticket's status, as the poll answers it and an event stream opens with. A ticket is signed only by a
     * room that existed, so one whose room this instance does not know is `closed` once a fresh read of the rooms
     * confirms it is gone (the room may be new and not read here yet); if the rooms cannot be read, 404 as before. Such
     * reads are shared and at most one a second (`confirm`): thousands of reconnecting visitors of a deleted sale cost
     * one query.
     *
     * An admitted ticket whose pass bought an order is `used` (Redis's status does not know: the spend is in
     * PostgreSQL), so a client that polls, a stream that missed the `used` notice while it was down, or one a second
     * device opens later, says so at once instead of "admitted" with a pass that buys nothing until it expires. One
     * indexed PostgreSQL read per admitted ticket asked about (none for a waiting one, none on a stream's refreshes:
     * the notice covers an open stream); if PostgreSQL cannot say, `admitted` (logged), as before. A pass given back
     * (its order refused) is not spent: `admitted` again.
     */
    async status(eventId: number, ticket: PresentedTicket): Promise<TicketStatus> {
      let event = registry.get(eventId);
      if (!event) {
        if (!(await registry.confirm())) throw new WaitingRoomNotFoundError(eventId);
        event = registry.get(eventId);
        if (!event) return CLOSED;
      }
      const known = event;
      const [status] = await withRejoin(eventId, [ticket], await redisCall(() => statuses(known, [ticket])));
      if (status!.state !== 'admitted') return status!;
      const spent = await deps.isSpent(eventId, ticket.id).catch((error: unknown) => {
        deps.logger.warn({ err: error, saleEvent: eventId }, 'waiting room: could not read whether a pass was spent');
        return false;
      });
      return spent ? USED : status!;
    },

    /**
     * Statuses for the event streams, and Redis's time when they were read (throws on Redis errors; the
     * caller retries on its next refresh).
     */
    async statuses(eventId: number, tickets: readonly PresentedTicket[]): Promise<{ now: number; statuses: TicketStatus[] }> {
      const event = registry.get(eventId);
      if (!event) return { now: deps.clock(), statuses: tickets.map(() => CLOSED) };
      const { now, statuses: found } = await read(event, tickets);
      return { now, statuses: await withRejoin(eventId, tickets, found) };
    },

    /** Now on the room's clock (Redis's): what the replies give clients to count passes down by. */
    now: (): number => deps.clock(),

    /** Live queued events (the streams present their tickets for each, see `presented`). */
    liveEventIds: (): number[] => registry.live(deps.clock()).map((event) => event.id),

    /**
     * Marks that this instance has presented every open stream's ticket of the event, in a pass whose
     * first read was at `beganAtMs` on Redis's clock (0: now, no stream of the event here). After a loss
     * of the line, admission waits for every web instance's mark (see ADMIT).
     */
    async presented(eventId: number, beganAtMs: number): Promise<void> {
      const event = registry.get(eventId);
      if (!event) return;
      await waitingRoomPresented.run(redis, eventKeys(eventId, ['presented']), deps.instanceId, beganAtMs, expireAt(event));
    },

    start(): void {
      stopped = false;
      timer ??= setInterval(() => void tick(), config.tickMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      while (ticking) await new Promise((resolve) => setTimeout(resolve, 10));
      for (const [handle, record] of unrecorded) {
        clearTimeout(handle);
        deps.logger.error({ saleEvent: record.eventId, merges: record.merges }, 'waiting room: stopped before merged tickets were recorded in PostgreSQL (only Redis refuses their passes)');
      }
      unrecorded.clear();
    },
    /** One admission step now (tests). */
    tick,
  };
}

export type WaitingRoom = ReturnType<typeof createWaitingRoom>;

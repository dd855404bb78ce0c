import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WaitingRoomConfig } from '../../platform/config/waiting-room.config.ts';
import { unavailableOnError } from './waiting-room.errors.ts';
import { mergesIn } from './waiting-room.merges.ts';
import type { QueuedEvent } from './waiting-room.registry.ts';
import type { MergedTicket } from './waiting-room.repository.ts';
import { roomKeys, waitingRoomStatus, waitingRoomUnrestore } from './waiting-room.scripts.ts';
import type { TicketRef, TokenSigner } from './waiting-room.tokens.ts';

/*
 * Reading tickets' statuses: what STATUS answers for tickets as requests present them (putting back those a loss of
 * Redis dropped, and merging a signed-in shopper's tickets), told as the status a visitor sees — place, ETA at the
 * admission rate, pass — and the expired tickets a join would take back into the line.
 */

/**
 * `expired`: the pass ran out unused, or the ticket is no longer in line. `closed`: the line itself is gone
 * (the sale ended, or its waiting room was switched off or the sale deleted): nothing to wait for, and a
 * visitor told "expired" then would have believed they had missed their turn.
 */
/** `used`: the ticket's pass bought an order (see the checkout rule's `used` notice, and `status`). */
export type TicketState = 'waiting' | 'admitted' | 'sold_out' | 'expired' | 'closed' | 'used';

/** The status of every ticket of a line that is gone. */
export const CLOSED: TicketStatus = { state: 'closed', position: null, etaSeconds: null };
/** The status of a ticket whose pass bought an order (as the event streams' `used` frame). */
export const USED: TicketStatus = { state: 'used', position: null, etaSeconds: null };

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

export interface TicketStatusDeps {
  redis: Redis;
  prefix: string;
  config: WaitingRoomConfig;
  signer: TokenSigner;
  logger: Logger;
  /** Whether the pass of a ticket has bought an order (PostgreSQL, see `waiting-room.repository.ts`). */
  isSpent: (eventId: number, ticketId: string) => Promise<boolean>;
  /** Which of these tickets PostgreSQL has merged away, each with the ticket kept (the repository's `replacedOf`). */
  replacedOf: (eventId: number, ticketIds: readonly string[]) => Promise<Map<string, string>>;
  /** The rate an event admits at now (the admission engine's `rateOf`): ETAs are counted at it. */
  rateOf: (event: QueuedEvent) => number;
  /** Records in PostgreSQL what a merge dropped, retried in the background (see `waiting-room.merges.ts`). */
  record: (eventId: number, merges: readonly MergedTicket[]) => Promise<void>;
}

export function createTicketStatus(deps: TicketStatusDeps) {
  const { config, signer } = deps;
  const { redis, rateOf, record: recordMerges } = deps;
  const { of: eventKeys, expireAt } = roomKeys(deps.prefix);

  const redisCall = <T>(call: () => Promise<T>) => unavailableOnError(call, deps.logger);
  /** Whether a ticket's pass bought an order; true when PostgreSQL cannot say (the visitor keeps their expired ticket). */
  const passSpent = (eventId: number, ticketId: string) =>
    deps.isSpent(eventId, ticketId).catch((error: unknown) => {
      deps.logger.warn({ err: error, saleEvent: eventId }, 'waiting room: could not read whether a pass was spent');
      return true;
    });

  /**
   * An admitted ticket whose pass bought an order is `used` (Redis's status does not know: the spend is in PostgreSQL);
   * the poll and a repeat join both answer it so. One indexed PostgreSQL read per admitted ticket; if PostgreSQL cannot
   * say, `admitted` (logged): a pass given back (its order refused) is not spent either.
   */
  const usedIfSpent = async (eventId: number, ticketId: string, status: TicketStatus): Promise<TicketStatus> => {
    if (status.state !== 'admitted') return status;
    const spent = await deps.isSpent(eventId, ticketId).catch((error: unknown) => {
      deps.logger.warn({ err: error, saleEvent: eventId }, 'waiting room: could not read whether a pass was spent');
      return false;
    });
    return spent ? USED : status;
  };

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

  return { passSpent, usedIfSpent, withRejoin, presented, read, statuses };
}

import { randomBytes } from 'node:crypto';
import {
  SaleEndedError,
  TicketLimitError,
  TicketNotFoundError,
  unavailableOnError,
  WaitingRoomNotFoundError,
  WaitingRoomNotOpenError,
} from './waiting-room.errors.ts';
import { type AdmissionDeps, createAdmission } from './waiting-room.admission.ts';
import { createMergeRecords, type MergeRecordDeps, mergesIn } from './waiting-room.merges.ts';
import { opensAtMs, type QueuedEvent } from './waiting-room.registry.ts';
import { JOIN_REPLY, roomKeys, waitingRoomJoin, waitingRoomPresented, waitingRoomRejoin } from './waiting-room.scripts.ts';
import { CLOSED, createTicketStatus, type PresentedTicket, type TicketStatus, type TicketStatusDeps } from './waiting-room.ticket-status.ts';

/*
 * The waiting room as visitors and the rest of the app call it: join, a ticket's status (poll and event streams), the
 * room's info, built on the admission engine (`waiting-room.admission.ts`, which runs on a timer), the reading of
 * tickets' statuses (`waiting-room.ticket-status.ts`) and the record of merged tickets (`waiting-room.merges.ts`).
 */

export { type RoomNotice, stepBatch } from './waiting-room.admission.ts';
export type { PresentedTicket, TicketState, TicketStatus } from './waiting-room.ticket-status.ts';

/** Who is asking: the holders a ticket is bound to (`c:<customerId>`, `g:<visitorId>`). */
export interface Visitor {
  holders: string[];
  /** Address class (IPv4 address, IPv6 /64) for the per-address ticket limit. */
  addressClass: string;
}

export interface WaitingRoomDeps extends AdmissionDeps, MergeRecordDeps, Omit<TicketStatusDeps, 'rateOf' | 'record'> {
  /** This process's instance id: names its `presented` mark after a loss of the line (see PRESENTED). */
  instanceId: string;
}


export function createWaitingRoom(deps: WaitingRoomDeps) {
  const { config, registry, signer } = deps;
  const { redis } = deps;
  const { key, of: eventKeys, expireAt } = roomKeys(deps.prefix);
  const admission = createAdmission(deps);
  const { rateOf } = admission;
  const merges = createMergeRecords(deps);
  const { recordMerges } = merges;
  const { passSpent, usedIfSpent, withRejoin, presented, read, statuses } = createTicketStatus({ ...deps, rateOf, record: recordMerges });

  /**
   * The room, also one saved since this instance last re-read the rooms (on another instance, or here: the admin's
   * write does not reach the registry): a room not known here is looked for in a read begun after the request (shared
   * by every caller meanwhile, at most one a second, see `confirm`), so a room just saved is served at once, not 404
   * until the next periodic re-read.
   */
  async function eventOrThrow(id: number): Promise<QueuedEvent> {
    const event = registry.get(id) ?? ((await registry.confirm()) ? registry.get(id) : undefined);
    if (!event) throw new WaitingRoomNotFoundError(id);
    return event;
  }

  const redisCall = <T>(call: () => Promise<T>) => unavailableOnError(call, deps.logger);

  return {
    /** See the admission engine: the admin's pause, the rates and sell-outs for metrics, and what its steps remember (tests). */
    holdAdmission: admission.holdAdmission,
    rates: admission.rates,
    soldOut: admission.soldOut,
    admissionMemory: admission.memory,

    async queueLengths(): Promise<Map<number, number>> {
      const now = deps.clock();
      const events = registry.all().filter((event) => now < event.endsAtMs);
      const lengths = await Promise.all(events.map((event) => redis.zcard(key(event.id, 'q'))));
      return new Map(events.map((event, i) => [event.id, lengths[i]!]));
    },

    /** The room as the storefront shows it. */
    async info(eventId: number) {
      const event = await eventOrThrow(eventId);
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
      const event = await eventOrThrow(eventId);
      if (deps.clock() >= event.endsAtMs) throw new SaleEndedError(eventId);
      const opensAt = opensAtMs(event);
      if (deps.clock() < opensAt) throw new WaitingRoomNotOpenError(eventId, new Date(opensAt).toISOString());
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
      // A repeat join answers what the poll would: `used` once the pass bought an order, not `admitted` with a spent pass.
      return { ticket: signer.ticket(eventId, ticket.id, ticket.place), replayed, status: await usedIfSpent(eventId, ticket.id, status!) };
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
      return usedIfSpent(eventId, ticket.id, status!);
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
      merges.start();
      admission.start();
    },
    async stop(): Promise<void> {
      merges.stop();
      await admission.stop();
      merges.dropUnrecorded();
    },
    /** One admission step now (tests). */
    tick: admission.tick,
  };
}

export type WaitingRoom = ReturnType<typeof createWaitingRoom>;

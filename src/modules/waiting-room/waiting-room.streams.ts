import type { ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WaitingRoomMetrics } from './waiting-room.metrics.ts';
import type { PresentedTicket, RoomNotice, TicketStatus, WaitingRoom } from './waiting-room.service.ts';

interface Stream {
  eventId: number;
  /** The ticket as its request presented it (a refresh presents it again: see the room's `statuses`). */
  ticket: PresentedTicket;
  response: ServerResponse;
  /** The JSON last sent (a refresh that would send the same sends nothing). */
  last: string;
  /**
   * The status last sent, as sent (`admitted`: the stream stays open until the pass expires, and a sell-out writes it
   * again with `soldOut`); kept, so a sell-out reads no JSON back.
   */
  status?: TicketStatus;
}

/** The status every waiting visitor of a sold-out event is in: one frame for all, serialised and encoded once. */
const SOLD_OUT_STATUS: TicketStatus = { state: 'sold_out', position: null, etaSeconds: null };
const SOLD_OUT_JSON = JSON.stringify(SOLD_OUT_STATUS);
const SOLD_OUT_FRAME = Buffer.from(`event: status\ndata: ${SOLD_OUT_JSON}\n\n`);
/** The status of a ticket whose pass bought an order (the `used` notice): the stream ends with it. */
const USED_STATUS: TicketStatus = { state: 'used', position: null, etaSeconds: null };
/** Tickets whose statuses one Redis call reads during a refresh. */
const CHUNK = 500;

/**
 * The open Server-Sent-Events streams of this instance, kept current two ways: a notice on Redis
 * pub/sub (admissions, sell-out, re-opening — published by whichever instance's admission step made
 * the change) reaches the streams concerned at once; a periodic refresh moves positions forward and
 * covers a notice lost while the subscription was down.
 *
 * The sell-out is the one notice that reaches every waiting visitor at once, so it costs no Redis
 * call and no serialisation per visitor: the same pre-encoded frame is written to each stream of the
 * event in one synchronous pass (a sold-out status carries no position, so it is the same for all).
 * Admissions read the admitted tickets' statuses (their passes) in one Redis call per 500 tickets;
 * a re-opening refreshes every stream of the event (positions are back).
 *
 * A refresh presents each stream's ticket as its request did, so a line Redis lost is put back together
 * by the streams' next refresh (the one on reconnecting at once), in the order the tickets carry. Each
 * full refresh of a live event, with or without streams of it here, ends by marking that this instance
 * has presented its tickets (see the room's `presented`): after a loss, admission waits for the marks.
 *
 * A `used` notice (checkout spent the ticket's pass on an order) ends that ticket's streams with a `used` status:
 * the room's statuses, read from Redis, do not know of spent passes (PostgreSQL does), and are not read for it.
 *
 * A refresh reads statuses asynchronously; one whose read was sent before a sell-out or re-opening
 * notice of its event is discarded, so a stale `waiting` never follows the `sold_out` frame.
 */
export function createStreamHub(deps: {
  room: WaitingRoom;
  subscriber: Redis;
  channel: string;
  refreshMs: number;
  /** How often each open stream gets a keep-alive comment (WAITING_ROOM_KEEPALIVE_MS). */
  keepAliveMs: number;
  logger: Logger;
  /** Each stream's lifetime, observed when it closes (streams are left out of the request latency metrics). */
  metrics?: Pick<WaitingRoomMetrics, 'streamSeconds'>;
}) {
  const byEvent = new Map<number, Map<string, Set<Stream>>>();
  /** Bumped by every sell-out / re-opening notice of an event: refreshes read before it are stale. */
  const generations = new Map<number, number>();
  const generationOf = (eventId: number) => generations.get(eventId) ?? 0;

  let timer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  /** Set by `close`: a stream handed over later is ended at once (see `open`). */
  let closed = false;

  /** Writes `status` unless it is what the stream last heard; `now` (the room's clock at the read) goes with it, if known. */
  function write(stream: Stream, status: TicketStatus, now?: number): void {
    if (stream.response.writableEnded) return;
    const data = JSON.stringify(status);
    if (data === stream.last) return;
    stream.last = data;
    stream.response.write(`event: status\ndata: ${now === undefined ? data : JSON.stringify({ ...status, now })}\n\n`);
    stream.status = status;
    // A final state ends the stream (the page moves on). Sold out stays open (units may come back), and so does
    // admitted until the pass expires (a refresh reads it `expired`): the admitted hear a sell-out, a re-opening, a
    // moved end and the room's end on it, instead of polling the room (see the README's figures).
    // Used: the pass bought an order (the status read from Redis does not know it: the spend is in PostgreSQL).
    if (status.state === 'expired' || status.state === 'closed' || status.state === 'used') stream.response.end();
  }

  /**
   * Every stream of the event hears the sell-out at once: the waiting ones one pre-encoded frame, no Redis call; the
   * admitted ones (at most those admitted within a pass's length) their own status with `soldOut`, passes differing.
   */
  function pushSoldOut(eventId: number): void {
    const tickets = byEvent.get(eventId);
    if (!tickets) return;
    for (const streams of tickets.values()) {
      for (const stream of streams) {
        if (stream.last === SOLD_OUT_JSON || stream.response.writableEnded) continue;
        const status = stream.status;
        if (status?.state === 'admitted') {
          // With the room's clock, as every status frame of a ticket's own (the page counts the pass down by it).
          if (!status.soldOut) write(stream, { ...status, soldOut: true }, deps.room.now());
          continue;
        }
        stream.last = SOLD_OUT_JSON;
        stream.status = SOLD_OUT_STATUS;
        stream.response.write(SOLD_OUT_FRAME);
      }
    }
  }

  /** How a ticket's streams presented it (one whose streams all closed meanwhile is read, not put back). */
  function presentedOf(tickets: Map<string, Set<Stream>>, ticketId: string): PresentedTicket {
    for (const stream of tickets.get(ticketId) ?? []) return stream.ticket;
    return { id: ticketId, place: '', score: '', holders: [] };
  }

  /** Refreshes the streams of `only` these tickets, or of all the event's tickets (a full pass, then marked). */
  async function refresh(eventId: number, only?: readonly string[]): Promise<void> {
    const tickets = byEvent.get(eventId);
    if (!tickets) {
      if (!only) await deps.room.presented(eventId, 0);
      return;
    }
    const generation = generationOf(eventId);
    const ids = (only ?? [...tickets.keys()]).filter((id) => tickets.has(id));
    let beganAt = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const presented = chunk.map((id) => presentedOf(tickets, id));
      const { now, statuses } = await deps.room.statuses(eventId, presented);
      if (beganAt === 0) beganAt = now;
      if (generationOf(eventId) !== generation) return;
      chunk.forEach((id, j) => {
        for (const stream of tickets.get(id) ?? []) write(stream, statuses[j]!, now);
      });
    }
    if (!only) await deps.room.presented(eventId, beganAt);
  }

  function refreshAll(): void {
    for (const eventId of new Set([...byEvent.keys(), ...deps.room.liveEventIds()])) {
      refresh(eventId).catch((error: unknown) => deps.logger.warn({ err: error, saleEvent: eventId }, 'waiting room: could not refresh event streams'));
    }
  }

  function onMessage(channel: string, message: string): void {
    if (channel !== deps.channel) return;
    let notice: RoomNotice;
    try {
      notice = JSON.parse(message) as RoomNotice;
    } catch {
      return;
    }
    if (notice.kind === 'sold_out' || notice.kind === 'reopened') generations.set(notice.e, generationOf(notice.e) + 1);
    if (notice.kind === 'sold_out') {
      pushSoldOut(notice.e);
      return;
    }
    if (notice.kind === 'used') {
      for (const stream of byEvent.get(notice.e)?.get(notice.t) ?? []) write(stream, USED_STATUS);
      return;
    }
    const only = notice.kind === 'admitted' ? notice.tickets : undefined;
    refresh(notice.e, only).catch((error: unknown) => deps.logger.warn({ err: error, saleEvent: notice.e }, 'waiting room: could not push a notice'));
  }

  const subscribe = () =>
    deps.subscriber.subscribe(deps.channel).catch((error: unknown) => deps.logger.warn({ err: error }, 'waiting room: could not subscribe'));
  const onReady = () => {
    void subscribe();
    // Whatever was published while we were away: catch up now.
    refreshAll();
  };

  return {
    start(): void {
      deps.subscriber.on('message', onMessage);
      deps.subscriber.on('ready', onReady);
      if (deps.subscriber.status === 'ready') void subscribe();
      timer = setInterval(refreshAll, deps.refreshMs);
      timer.unref();
      // A comment line every `keepAliveMs` (15 s by default) keeps proxies and load balancers from closing a quiet stream.
      heartbeat = setInterval(() => {
        for (const tickets of byEvent.values()) {
          for (const streams of tickets.values()) for (const stream of streams) if (!stream.response.writableEnded) stream.response.write(': keep-alive\n\n');
        }
      }, deps.keepAliveMs);
      heartbeat.unref();
    },

    /** The event's notice generation: read it before reading a stream's initial status, pass it to `open`. */
    generation: generationOf,

    /**
     * Adopts an open response (headers already sent) and pushes `initial` at once. `readAt` is the
     * event's generation from before `initial` was read: a sell-out or re-opening since then is
     * caught up by reading the ticket again. `now` is the room's clock, sent with `initial`.
     */
    open(eventId: number, ticket: PresentedTicket, response: ServerResponse, initial: TicketStatus, readAt: number, now: number): void {
      const stream: Stream = { eventId, ticket, response, last: '' };
      const ticketId = ticket.id;
      const openedAt = performance.now();

      // A visitor who hung up while the initial status was read is gone already: its 'close' has fired, and
      // a stream adopted now would be held (refreshed, counted open, written to) until this instance stops.
      if (response.destroyed) return;
      write(stream, initial, now);
      if (response.writableEnded) return;
      // Shutting down: a stream whose first status was read while `close` ended the others would be held by
      // nothing (no refresh, no notice) and keep the server's close waiting until the shutdown timeout.
      if (closed) {
        response.end();
        return;
      }
      const tickets = byEvent.get(eventId) ?? new Map<string, Set<Stream>>();
      byEvent.set(eventId, tickets);
      const streams = tickets.get(ticketId) ?? new Set<Stream>();
      tickets.set(ticketId, streams);
      streams.add(stream);
      // A stream ended (admitted, expired) stays here until its response is flushed and closed, which a response
      // queued behind another on its connection (HTTP pipelining) or a client that stopped reading delays for as
      // long as they like. A write error on it must not be an unhandled 'error' event: that ends the process.
      response.on('error', (error) => deps.logger.debug({ err: error, saleEvent: eventId }, 'waiting room: event stream write failed'));
      response.on('close', () => {
        streams.delete(stream);
        if (streams.size === 0) tickets.delete(ticketId);
        if (tickets.size === 0) byEvent.delete(eventId);
        deps.metrics?.streamSeconds.observe({ sale_event: String(eventId) }, (performance.now() - openedAt) / 1000);
      });
      if (readAt !== generationOf(eventId)) {
        refresh(eventId, [ticketId]).catch((error: unknown) => deps.logger.warn({ err: error, saleEvent: eventId }, 'waiting room: could not refresh a new stream'));
      }
    },

    count(): number {
      let n = 0;
      for (const tickets of byEvent.values()) for (const streams of tickets.values()) n += streams.size;
      return n;
    },

    /** Open streams per event. */
    countByEvent(): Map<number, number> {
      const counts = new Map<number, number>();
      for (const [eventId, tickets] of byEvent) {
        let n = 0;
        for (const streams of tickets.values()) n += streams.size;
        counts.set(eventId, n);
      }
      return counts;
    },

    /** Ends every stream (shutdown: EventSource clients reconnect to another instance). */
    close(): void {
      closed = true;
      if (timer) clearInterval(timer);
      if (heartbeat) clearInterval(heartbeat);
      deps.subscriber.off('message', onMessage);
      deps.subscriber.off('ready', onReady);
      deps.subscriber.unsubscribe(deps.channel).catch(() => undefined);
      for (const tickets of byEvent.values()) for (const streams of tickets.values()) for (const stream of streams) stream.response.end();
      byEvent.clear();
    },
  };
}

export type StreamHub = ReturnType<typeof createStreamHub>;

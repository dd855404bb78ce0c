import type { ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RoomNotice, TicketStatus, WaitingRoom } from './waiting-room.service.ts';

interface Stream {
  eventId: number;
  ticketId: string;
  response: ServerResponse;
  last: string;
}

/**
 * The open Server-Sent-Events streams of this instance, kept current two ways: a notice on Redis
 * pub/sub (admissions, sell-out, re-opening — published by whichever instance's admission step made
 * the change) refreshes the streams concerned at once; a periodic refresh moves positions forward and
 * covers a notice lost while the subscription was down. Statuses are read in one Redis call per event.
 */
export function createStreamHub(deps: { room: WaitingRoom; subscriber: Redis; channel: string; refreshMs: number; logger: Logger }) {
  const byEvent = new Map<number, Map<string, Set<Stream>>>();

  let timer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  function write(stream: Stream, status: TicketStatus): void {
    const data = JSON.stringify(status);
    if (data === stream.last) return;
    stream.last = data;
    stream.response.write(`event: status\ndata: ${data}\n\n`);
    // A final state ends the stream (the page moves on); sold out stays open: units may come back.
    if (status.state === 'admitted' || status.state === 'expired') stream.response.end();
  }

  async function refresh(eventId: number, only?: readonly string[]): Promise<void> {
    const tickets = byEvent.get(eventId);
    if (!tickets) return;
    const ids = (only ?? [...tickets.keys()]).filter((id) => tickets.has(id));
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const statuses = await deps.room.statuses(eventId, chunk);
      chunk.forEach((id, j) => {
        for (const stream of tickets.get(id) ?? []) write(stream, statuses[j]!);
      });
    }
  }

  function refreshAll(): void {
    for (const eventId of byEvent.keys()) {
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
    const only = notice.kind === 'admitted' ? notice.tickets : undefined;
    refresh(notice.e, only).catch((error: unknown) => deps.logger.warn({ err: error, saleEvent: notice.e }, 'waiting room: could not push a notice'));
  }

  const subscribe = () =>
    deps.subscriber.subscribe(deps.channel).catch((error: unknown) => deps.logger.warn({ err: error }, 'waiting room: could not subscribe'));

  return {
    start(): void {
      deps.subscriber.on('message', onMessage);
      deps.subscriber.on('ready', () => {
        void subscribe();
        // Whatever was published while we were away: catch up now.
        refreshAll();
      });
      if (deps.subscriber.status === 'ready') void subscribe();
      timer = setInterval(refreshAll, deps.refreshMs);
      timer.unref();
      // A comment line every 15 s keeps proxies from closing a quiet stream.
      heartbeat = setInterval(() => {
        for (const tickets of byEvent.values()) for (const streams of tickets.values()) for (const stream of streams) stream.response.write(': keep-alive\n\n');
      }, 15_000);
      heartbeat.unref();
    },

    /** Adopts an open response (headers already sent) and pushes `initial` at once. */
    open(eventId: number, ticketId: string, response: ServerResponse, initial: TicketStatus): void {
      const stream: Stream = { eventId, ticketId, response, last: '' };

      write(stream, initial);
      if (response.writableEnded) return;
      const tickets = byEvent.get(eventId) ?? new Map<string, Set<Stream>>();
      byEvent.set(eventId, tickets);
      const streams = tickets.get(ticketId) ?? new Set<Stream>();
      tickets.set(ticketId, streams);
      streams.add(stream);
      response.on('close', () => {
        streams.delete(stream);
        if (streams.size === 0) tickets.delete(ticketId);
        if (tickets.size === 0) byEvent.delete(eventId);
      });
    },

    count(): number {
      let n = 0;
      for (const tickets of byEvent.values()) for (const streams of tickets.values()) n += streams.size;
      return n;
    },

    /** Ends every stream (shutdown: EventSource clients reconnect to another instance). */
    close(): void {
      if (timer) clearInterval(timer);
      if (heartbeat) clearInterval(heartbeat);
      deps.subscriber.off('message', onMessage);
      for (const tickets of byEvent.values()) for (const streams of tickets.values()) for (const stream of streams) stream.response.end();
      byEvent.clear();

    },
  };
}

export type StreamHub = ReturnType<typeof createStreamHub>;

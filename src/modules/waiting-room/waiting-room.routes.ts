import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { type CookieName, clearLegacyCookie, getCookieName, readCookie } from '../../platform/http/host-cookies.ts';
import { clientAddressKey } from '../../platform/rate-limit/client-key.ts';
import { errorResponses } from '../../platform/http/schemas.ts';
import { getPollAfterSeconds } from './waiting-room.poll.ts';
import { QueueParams, TicketParams, WaitingRoomInfo } from './waiting-room.schemas.ts';
import type { TicketStatus, Visitor, WaitingRoom } from './waiting-room.service.ts';
import type { StreamHub } from './waiting-room.streams.ts';

/** The visitor cookie's plain name; production sets it as `__Host-salescale_visitor` (see `getCookieName`). */
export const VISITOR_COOKIE = 'salescale_visitor';
export const PASS_HEADER = 'waiting-room-pass';
/** The event stream's headers: a HEAD of it is told the same as its GET. `no-store`: an admitted frame carries the pass, which no cache may keep (`no-cache` lets a shared one store it). */
const STREAM_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store, no-transform', 'x-accel-buffering': 'no' };
const VISITOR_ID = /^[A-Za-z0-9_-]{22}$/;

/** The holders a request speaks for: its signed-in customer and its visitor cookie. */
export function holdersOf(request: FastifyRequest, secureCookies: boolean): string[] {
  const holders: string[] = [];
  if (request.customerId !== undefined) holders.push(`c:${request.customerId}`);
  const visitor = readCookie(request, getCookieName(VISITOR_COOKIE, secureCookies))?.value;
  if (visitor !== undefined && VISITOR_ID.test(visitor)) holders.push(`g:${visitor}`);
  return holders;
}

/** Passes a request carries (`Waiting-Room-Pass`, comma-separated for several sales). */
export function passesOf(request: FastifyRequest): string[] {
  const raw = request.headers[PASS_HEADER];
  const joined = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  return joined
    .split(',')
    .map((pass) => pass.trim())
    .filter((pass) => pass !== '')
    .slice(0, 8);
}

/**
 * The holders a request speaks for, giving a visitor without our cookie one: it is what "one ticket per visitor"
 * counts, and it survives signing in. The storefront's waiting-room page gives it too, before the page joins: a
 * join whose reply is lost on the network then lost no cookie, and its retry is the same visitor (the same ticket).
 */
export function ensureVisitorCookie(request: FastifyRequest, reply: FastifyReply, secure: boolean): string[] {
  const name = getCookieName(VISITOR_COOKIE, secure);
  const holders = holdersOf(request, secure);
  const visitor = holders.find((h) => h.startsWith('g:'))?.slice(2);
  // A cookie under the old plain name moves to the prefixed one, the same visitor (the same ticket).
  const legacy = visitor !== undefined && readCookie(request, name)?.legacy === true;
  if (visitor === undefined || legacy) {
    const id = visitor ?? newVisitorId();
    if (legacy) clearLegacyCookie(request, reply, name);
    setVisitorCookie(reply, name, id, secure);
    if (visitor === undefined) holders.push(`g:${id}`);
  }
  return holders;
}

function newVisitorId(): string {
  return randomBytes(16).toString('base64url');
}

function setVisitorCookie(reply: FastifyReply, name: CookieName, id: string, secure: boolean): void {
  reply.setCookie(name.name, id, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: 30 * 86_400 });
}

/**
 * Gives the browser a new visitor (at sign-out): the tickets and passes the old visitor cookie held are then held in
 * this browser by nobody but the signed-out account, so the next person at a shared computer is a new visitor whose
 * join is not answered with them. The cookie keys nothing else (the guest cart has its own cookie).
 */
export function renewVisitorCookie(request: FastifyRequest, reply: FastifyReply, secure: boolean): void {
  const name = getCookieName(VISITOR_COOKIE, secure);
  clearLegacyCookie(request, reply, name);
  setVisitorCookie(reply, name, newVisitorId(), secure);
}

/**
 * A status as the JSON replies give it: with the room's clock (to count a pass down by), and when to poll again, for
 * clients that poll rather than hold the stream.
 */
function asReply(status: TicketStatus, now: number): TicketStatus & { now: number; pollAfterSeconds?: number } {
  const pollAfterSeconds = getPollAfterSeconds(status);
  return pollAfterSeconds === undefined ? { ...status, now } : { ...status, now, pollAfterSeconds };
}

/**
 * How long an EventSource waits before reconnecting a dropped stream: its own, at random within 2–6 s, so the streams
 * an instance held (thousands at a sale's peak) do not all come back at the same instant after it restarts or drains.
 */
function streamRetryMs(): number {
  return 2000 + Math.floor(Math.random() * 4001);
}

function visitorOf(request: FastifyRequest, reply: FastifyReply, secure: boolean): Visitor {
  const holders = ensureVisitorCookie(request, reply, secure);
  // The address limit is for guests, whom a fresh cookie makes new: a signed-in customer holds one ticket
  // per account whatever the address, so everyone behind a carrier's or an office's shared address can join
  // by signing in ('' counts nothing).
  return { holders, addressClass: request.customerId === undefined ? clientAddressKey(request.ip) : '' };
}

export function waitingRoomRoutes(deps: { room: WaitingRoom; hub: StreamHub; secureCookies: boolean }): FastifyPluginAsyncTypebox {
  const { room, hub } = deps;
  return async (app) => {
    const tags = ['waiting room'];
    app.get(
      '/sale-events/:id/queue',
      { schema: { tags, description: 'The waiting room of a sale event: its window, products, rate and line length.', params: QueueParams, response: { 200: WaitingRoomInfo, ...errorResponses(400, 404, 503) } } },
      (request) => room.info(request.params.id),
    );
    app.post(
      '/sale-events/:id/queue',
      {
        schema: {
          tags,
          description:
            'Joins the line: one ticket per signed-in customer or guest (visitor cookie), and per address class; a repeat returns the first ticket (with `Idempotent-Replayed: true`), or a new one at the back of the line once the first was admitted and its pass expired without buying an order. The line opens a day before the start (409 `WAITING_ROOM_NOT_OPEN` earlier, with `opensAt`). Before the start, arrivals are shuffled at the start; after it, in arrival order.',
          params: QueueParams,
          response: { 201: Type.Ref('Ticket'), ...errorResponses(400, 404, 409, 429, 503) },
        },
      },
      async (request, reply) => {
        const joined = await room.join(request.params.id, visitorOf(request, reply, deps.secureCookies));
        if (joined.replayed) reply.header('idempotent-replayed', 'true');
        return reply.code(201).send({ ticket: joined.ticket, ...asReply(joined.status, room.now()) });
      },
    );
    app.get(
      '/sale-events/:id/queue/:ticket',
      { schema: { tags, description: 'Where a ticket stands; once admitted, its pass; once that pass bought an order, `used` (as the event stream says). A client that polls it asks again after `pollAfterSeconds`.', params: TicketParams, response: { 200: Type.Ref('TicketStatus'), ...errorResponses(400, 404, 503) } } },
      async (request, reply) => {
        reply.header('cache-control', 'no-store');
        const status = await room.status(request.params.id, room.present(request.params.id, request.params.ticket, holdersOf(request, deps.secureCookies)));
        return asReply(status, room.now());
      },
    );
    app.get(
      '/sale-events/:id/queue/:ticket/events',
      {
        schema: {
          tags,
          description:
            'The same as Server-Sent Events (`event: status`): pushed on admission, sell-out and re-opening, and with the position every WAITING_ROOM_STREAM_REFRESH_MS. Stays open once admitted (a sell-out sets `soldOut`, a moved end `saleEndsAt`); ends once expired (also the pass running out), closed or used.',
          params: TicketParams,
          // Documented by its media type, as served: a client generated from the document must not parse it as JSON.
          response: {
            200: { description: 'The stream: `event: status` frames, each a TicketStatus as JSON in `data:`', content: { 'text/event-stream': { schema: Type.String() } } },
            ...errorResponses(400, 404, 503),
          },
        },
        // Open for the whole wait: its duration is not request latency (its own metrics: streams open, lifetime).
        config: { longLived: true },
      },
      async (request, reply) => {
        const ticket = room.present(request.params.id, request.params.ticket, holdersOf(request, deps.secureCookies));
        // A HEAD (Fastify answers one for every GET) gets the stream's headers and ends: a stream's frames are a body
        // it cannot carry, so holding one for it would send nothing, not even the headers, until the line closed.
        if (request.method === 'HEAD') {
          return reply.code(200).headers(STREAM_HEADERS).send('');
        }
        const readAt = hub.generation(request.params.id);
        const initial = await room.status(request.params.id, ticket);
        reply.hijack();
        // Headers hooks already set (request id, CORS, security headers) go out with the stream.
        for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value);
        reply.raw.writeHead(200, STREAM_HEADERS);
        reply.raw.write(`retry: ${streamRetryMs()}\n\n`);
        hub.open(request.params.id, ticket, reply.raw, initial, readAt, room.now());
      },
    );
  };
}

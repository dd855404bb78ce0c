import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Tickets and admission passes are HMAC-SHA256 signed with a key derived from SESSION_SECRET, so any
 * instance can issue and check them and nobody without the secret can make one up or alter one
 * (a changed event, ticket, place, holder or expiry breaks the signature).
 *
 * A ticket carries its place in line, so a line Redis lost (restarted without persistence, failed over
 * to an empty replica) is rebuilt from the tickets its visitors present, in the same order: an
 * arrival's place is its Redis time in µs, in the clear; a pre-queue ticket's is the letter `p`, its
 * draw being derived from the ticket id with the key (`preQueueScore`), so no visitor can read or
 * choose it, and the room can compute it again.
 */
export interface TokenSigner {
  /** `<ticketId>.<place>.<mac>`: names a queue entry of one event and its place (`p`, or µs digits). */
  ticket(eventId: number, ticketId: string, place: string): string;
  /** The entry a ticket names, or undefined when the ticket is malformed or not signed by us for this event. */
  verifyTicket(eventId: number, ticket: string): TicketRef | undefined;
  /** A pre-queue ticket's draw: a score in [0, 1) from 48 bits of HMAC of the event and ticket id. */
  preQueueScore(eventId: number, ticketId: string): string;
  pass(claims: PassClaims): string;
  /** The pass's claims when the signature holds (expiry is the caller's check). */
  verifyPass(pass: string): PassClaims | undefined;
}

/** A queue entry as its signed ticket names it. */
export interface TicketRef {
  id: string;
  /** `p` (pre-queue) or the arrival's Redis time in µs; undefined for a ticket signed before tickets carried it. */
  place: string | undefined;
}

export interface PassClaims {
  /** Sale event. */
  e: number;
  /** Ticket id. */
  t: string;
  /** Holders the ticket was issued to (`c:<customerId>`, `g:<visitorId>`): the pass works for any of them. */
  h: string[];
  /** Expiry, ms since the epoch. */
  x: number;
}

const TICKET_ID = /^[A-Za-z0-9_-]{16,32}$/;
const PLACE = /^(p|[1-9][0-9]{0,16})$/;

export function createTokenSigner(secret: string): TokenSigner {
  const key = createHmac('sha256', secret).update('salescale waiting room v1').digest();
  const mac = (text: string) => createHmac('sha256', key).update(text).digest('base64url');
  /** Signatures compared in constant time; byte lengths, not string lengths (timingSafeEqual throws on unequal ones). */
  const same = (given: string, expected: string) => {
    const a = Buffer.from(given);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  return {
    ticket: (eventId, ticketId, place) => `${ticketId}.${place}.${mac(`ticket:${eventId}:${ticketId}:${place}`)}`,
    verifyTicket(eventId, ticket) {
      const parts = ticket.split('.');
      const id = parts[0]!;
      if (!TICKET_ID.test(id)) return undefined;
      if (parts.length === 2) {
        // `<id>.<mac>`: signed before tickets carried their place (still good, place unknown).
        return same(parts[1]!, mac(`ticket:${eventId}:${id}`)) ? { id, place: undefined } : undefined;
      }
      const [, place, signature] = parts;
      if (parts.length !== 3 || !PLACE.test(place!)) return undefined;
      return same(signature!, mac(`ticket:${eventId}:${id}:${place}`)) ? { id, place } : undefined;
    },
    preQueueScore(eventId, ticketId) {
      const draw = createHmac('sha256', key).update(`place:${eventId}:${ticketId}`).digest().readUIntBE(0, 6);
      return String(draw / 2 ** 48);
    },
    pass(claims) {
      const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return `${payload}.${mac(`pass:${payload}`)}`;
    },
    verifyPass(pass) {
      const [payload, signature, extra] = pass.split('.');
      if (extra !== undefined || !payload || !signature || !same(signature, mac(`pass:${payload}`))) return undefined;
      try {
        const c = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<PassClaims>;
        if (typeof c.e !== 'number' || typeof c.t !== 'string' || !Array.isArray(c.h) || typeof c.x !== 'number') return undefined;
        return { e: c.e, t: c.t, h: c.h.map(String), x: c.x };
      } catch {
        return undefined;
      }
    },
  };
}

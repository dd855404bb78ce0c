import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Tickets and admission passes are HMAC-SHA256 signed with a key derived from SESSION_SECRET, so any
 * instance can issue and check them and nobody without the secret can make one up or alter one
 * (a changed event, ticket, holder or expiry breaks the signature).
 */
export interface TokenSigner {
  /** `<ticketId>.<mac>`: names a queue entry of one event. */
  ticket(eventId: number, ticketId: string): string;
  /** The ticket id, or undefined when the ticket is malformed or not signed by us for this event. */
  verifyTicket(eventId: number, ticket: string): string | undefined;
  pass(claims: PassClaims): string;
  /** The pass's claims when the signature holds (expiry is the caller's check). */
  verifyPass(pass: string): PassClaims | undefined;
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

export function createTokenSigner(secret: string): TokenSigner {
  const key = createHmac('sha256', secret).update('salescale waiting room v1').digest();
  const mac = (text: string) => createHmac('sha256', key).update(text).digest('base64url');
  const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

  return {
    ticket: (eventId, ticketId) => `${ticketId}.${mac(`ticket:${eventId}:${ticketId}`)}`,
    verifyTicket(eventId, ticket) {
      const [id, signature, extra] = ticket.split('.');
      if (extra !== undefined || id === undefined || signature === undefined || !TICKET_ID.test(id)) return undefined;
      return same(signature, mac(`ticket:${eventId}:${id}`)) ? id : undefined;
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

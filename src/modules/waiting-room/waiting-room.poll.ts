import type { TicketStatus } from './waiting-room.service.ts';

/** Soonest a polling client is asked to come back: one poll in two seconds at most. */
export const MIN_POLL_S = 2;
/** Latest: an admission is noticed within this, a small part of any pass's window (at least 10 s, 600 by default). */
export const MAX_POLL_S = 30;
/** While sold out the line moves again only if units come back (a cancellation, an unpaid order expiring). */
const SOLD_OUT_POLL_S = 15;

/**
 * When a client that polls `GET …/queue/:ticket` (a mobile app, a script: the storefront holds the event
 * stream instead) should ask again, in seconds; undefined once there is nothing left to wait for. A quarter of
 * the wait, between MIN_POLL_S and MAX_POLL_S: at most 30 requests a minute whatever the wait, within the `sale`
 * limit (RATE_LIMIT_SALE_MAX, 100 a minute) and the `customer` one (1,000 in 15 min), with room for the pages a
 * buyer opens; close to the turn it is MIN_POLL_S, so an admission is seen within two seconds. Cloudflare's
 * waiting room tells its JSON clients the same (`refreshIntervalSeconds`); without it a client guessed, too fast
 * (429 RATE_LIMITED in the middle of the wait) or too slow.
 */
export function getPollAfterSeconds(status: Pick<TicketStatus, 'state' | 'etaSeconds' | 'paused'>): number | undefined {
  // Paused: nothing moves until the shop resumes, which no one can predict; a resume is noticed within this.
  if (status.state === 'sold_out' || status.paused) return SOLD_OUT_POLL_S;
  if (status.state !== 'waiting') return undefined;
  if (status.etaSeconds === null) return MIN_POLL_S;
  return Math.min(MAX_POLL_S, Math.max(MIN_POLL_S, Math.floor(status.etaSeconds / 4)));
}

import type { Logger } from 'pino';
import { ConflictError, DomainError } from '../../shared/errors.ts';

export class WaitingRoomNotFoundError extends DomainError {
  constructor(saleEventId: number) {
    super('WAITING_ROOM_NOT_FOUND', 'not_found', `sale event ${saleEventId} has no waiting room`, { saleEventId });
  }
}

/** A ticket this sale's line never issued, or whose signature does not hold (the ticket itself is not echoed). */
export class TicketNotFoundError extends DomainError {
  constructor(saleEventId: number) {
    super('TICKET_NOT_FOUND', 'not_found', `no such ticket in the line of sale event ${saleEventId}`, { saleEventId });
  }
}

export class SaleEndedError extends ConflictError {
  constructor(saleEventId: number) {
    super('SALE_ENDED', `sale event ${saleEventId} has ended`, { saleEventId });
  }
}

/** 409 WAITING_ROOM_NOT_OPEN: the line opens a day before the start (see `JOIN_OPENS_BEFORE_MS`). */
export class WaitingRoomNotOpenError extends ConflictError {
  constructor(saleEventId: number, opensAt: string) {
    super('WAITING_ROOM_NOT_OPEN', `the line of sale event ${saleEventId} opens at ${opensAt}, a day before the sale starts`, { saleEventId, opensAt });
  }
}

export class TicketLimitError extends DomainError {
  constructor(saleEventId: number, limit: number) {
    super('TICKET_LIMIT_REACHED', 'rate_limited', `this network address already holds ${limit} guest ticket(s) for sale event ${saleEventId}: sign in to join the line`, { saleEventId, limit });
  }
}

/** 403 PASS_REQUIRED: a queued sale is live for these products and the request carries no pass for it. */
export class PassRequiredError extends DomainError {
  constructor(saleEventId: number, productIds: number[]) {
    super('PASS_REQUIRED', 'forbidden', `sale event ${saleEventId} is queued: checkout of its products needs a waiting-room pass (header Waiting-Room-Pass)`, {
      saleEventId,
      productIds,
    });
  }
}

/**
 * 403 SALE_NOT_STARTED: these products are in a queued sale whose line is open (from JOIN_OPENS_BEFORE_MS before the
 * start) and which has not started: they go on sale at the start, through the waiting room (nobody holds its pass yet).
 */
export class SaleNotStartedError extends DomainError {
  constructor(saleEventId: number, startsAt: string, productIds: number[]) {
    super(
      'SALE_NOT_STARTED',
      'forbidden',
      `these products go on sale at ${startsAt}, when sale event ${saleEventId} starts, through its waiting room (POST /api/v1/sale-events/${saleEventId}/queue): checkout of them needs its pass`,
      { saleEventId, startsAt, productIds },
    );
  }
}

export class PassInvalidError extends DomainError {
  constructor(saleEventId: number) {
    super('PASS_INVALID', 'forbidden', `the waiting-room pass is not valid for sale event ${saleEventId} and this visitor`, { saleEventId });
  }
}

export class PassExpiredError extends DomainError {
  constructor(saleEventId: number, expiredAt: string) {
    super('PASS_EXPIRED', 'forbidden', `the waiting-room pass for sale event ${saleEventId} expired at ${expiredAt}`, { saleEventId, expiredAt });
  }
}

/** 403 PASS_USED: a pass buys one order; this one has bought its order. */
export class PassUsedError extends DomainError {
  constructor(saleEventId: number) {
    super('PASS_USED', 'forbidden', `this waiting-room pass for sale event ${saleEventId} has already bought an order (a pass buys one)`, { saleEventId });
  }
}

/**
 * 403 PASS_REPLACED: the pass's ticket was merged into another ticket of the same shopper (a guest ticket and an
 * account ticket, on signing in): one shopper, one place, one order; the kept ticket's pass buys it.
 */
export class PassReplacedError extends DomainError {
  constructor(saleEventId: number) {
    super('PASS_REPLACED', 'forbidden', `this waiting-room pass for sale event ${saleEventId} is for a ticket merged into your other ticket: use that ticket's pass`, { saleEventId });
  }
}

export class WaitingRoomUnavailableError extends DomainError {
  constructor() {
    super('WAITING_ROOM_UNAVAILABLE', 'unavailable', 'the waiting room is temporarily unavailable, please retry');
  }
}

/** Runs a Redis call of the room; a failure is logged and answered 503 WAITING_ROOM_UNAVAILABLE. */
export async function unavailableOnError<T>(call: () => Promise<T>, logger: Logger): Promise<T> {
  try {
    return await call();
  } catch (error) {
    logger.warn({ err: error }, 'waiting room: redis unavailable');
    throw new WaitingRoomUnavailableError();
  }
}

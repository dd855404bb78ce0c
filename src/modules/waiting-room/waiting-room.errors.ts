import type { Logger } from 'pino';
import { ConflictError, DomainError, NotFoundError } from '../../shared/errors.ts';

export class WaitingRoomNotFoundError extends NotFoundError {
  constructor(saleEventId: number) {
    super('waiting_room', saleEventId);
  }
}

export class TicketNotFoundError extends NotFoundError {
  constructor(saleEventId: number) {
    super('ticket', `of sale event ${saleEventId}`);
  }
}

export class SaleEndedError extends ConflictError {
  constructor(saleEventId: number) {
    super('SALE_ENDED', `sale event ${saleEventId} has ended`, { saleEventId });
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

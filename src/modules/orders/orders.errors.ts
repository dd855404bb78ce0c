import { ConflictError, DomainError, NotFoundError, UnprocessableError } from '../../shared/errors.ts';
import type { OrderStatus } from './orders.tables.ts';

export interface Shortage {
  productId: number;
  requested: number;
  available: number;
}

export class OutOfStockError extends ConflictError {
  /** The lines refused, with the units there were. */
  readonly shortages: Shortage[];

  constructor(shortages: Shortage[]) {
    const first = shortages[0]!;
    super(
      'OUT_OF_STOCK',
      first.available === 0 ? `product ${first.productId} is sold out` : `only ${first.available} of product ${first.productId} left`,
      { ...first, shortages },
    );
    this.shortages = shortages;
  }
}

/**
 * Which cap a line passes: the product's own (lifetime, `saleEventId` null) or a live sale event's (per event), and by
 * how much. `alreadyPurchased` counts the units of the buyer's other orders that still hold them, `requested` the line's.
 */
export type PurchaseCapPassed = {
  productId: number;
  limit: number;
  alreadyPurchased: number;
  requested: number;
  saleEventId: number | null;
};

/** A customer's cap would be passed by a checkout (see `PurchaseCapPassed`). */
export class PurchaseLimitExceededError extends ConflictError {
  constructor(details: PurchaseCapPassed) {
    super(
      'PURCHASE_LIMIT_EXCEEDED',
      details.saleEventId === null
        ? `at most ${details.limit} of product ${details.productId} per customer`
        : `at most ${details.limit} of product ${details.productId} per customer in sale event ${details.saleEventId}`,
      details,
    );
  }
}

/**
 * A product no longer for sale: its status (`archived`, `draft`), or `deleted` when it no longer exists; for a cart line,
 * also `other_currency` (repriced into another currency than the cart's), as the cart shows it.
 */
export interface UnavailableProduct {
  productId: number;
  status: string;
}

/**
 * Products of the order not for sale. `productId` and `status` name the first (all PostgreSQL's refusal knows);
 * an order of a cart names every line that stops it in `products`, so the buyer can remove them at once.
 */
export class ProductUnavailableError extends ConflictError {
  constructor(details: UnavailableProduct, products?: readonly UnavailableProduct[]) {
    super(
      'PRODUCT_UNAVAILABLE',
      products
        ? `cannot be ordered as the cart holds them: ${products.map((p) => `product ${p.productId} (${p.status})`).join(', ')}; remove them to order the rest`
        : `product ${details.productId} is not for sale (${details.status})`,
      products ? { ...details, products } : { ...details },
    );
  }
}

/** A line of an order at the price it would be placed at. */
export interface PricedLine {
  productId: number;
  quantity: number;
  priceCents: number;
}

/**
 * The order would not be placed at the total the buyer was shown (`expectedTotalCents`, `expectedCurrency`): a price
 * changed since. Carries the prices it would be placed at, for the client to show them; nothing was taken or written.
 */
export class PriceChangedError extends ConflictError {
  constructor(details: { expectedTotalCents: number; expectedCurrency: string; totalCents: number; currency: string; items: PricedLine[] }) {
    super(
      'PRICE_CHANGED',
      `the order would total ${details.totalCents} ${details.currency} at the current prices, not the ${details.expectedTotalCents} ${details.expectedCurrency} expected: nothing was ordered`,
      details,
    );
  }
}

export class UnknownProductError extends UnprocessableError {
  constructor(productId: number) {
    super('UNKNOWN_PRODUCT', `product ${productId} does not exist`, { productId });
  }
}

export class MixedCurrenciesError extends UnprocessableError {
  constructor(details: Record<string, unknown>) {
    super('MIXED_CURRENCIES', 'all products of one order must have the same currency', details);
  }
}

export class EmptyCartError extends UnprocessableError {
  constructor() {
    super('EMPTY_CART', 'the cart is empty: add items or send them as `items`');
  }
}

/**
 * More units of one product than an order line may hold (`MAX_ORDER_LINE_QUANTITY`), once the lines of `items` that
 * repeat a product are merged: each line is refused by the schema above it, but 50 lines of 1,000 made one of 50,000.
 */
export class LineQuantityTooLargeError extends UnprocessableError {
  constructor(productId: number, quantity: number, maxQuantity: number) {
    super('LINE_QUANTITY_TOO_LARGE', `an order holds at most ${maxQuantity} units of one product, these lines of product ${productId} add up to ${quantity}`, {
      productId,
      quantity,
      maxQuantity,
    });
  }
}

/**
 * More different products than one order may hold (`MAX_ORDER_LINES`): a body's `items` is refused by
 * its schema (400); a cart, which may hold more (`MAX_CART_LINES`), is refused here and kept as it is.
 */
export class TooManyOrderLinesError extends UnprocessableError {
  constructor(maxLines: number, lines: number) {
    super('TOO_MANY_ORDER_LINES', `an order holds at most ${maxLines} different products, this one has ${lines}: remove lines from the cart, or order part of it as \`items\``, {
      maxLines,
      lines,
    });
  }
}

export class OrderNotFoundError extends NotFoundError {
  constructor(id: number) {
    super('order', id);
  }
}

/**
 * 404 `ORDER_NOT_FOUND` for a guest order link that grants nothing: forged, another order's, or past its TTL. One reply,
 * naming no order, for every case: which case it was would tell a guesser that a token is genuine, and a forged token
 * names no order at all.
 */
export class GuestOrderLinkNotFoundError extends DomainError {
  constructor() {
    super('ORDER_NOT_FOUND', 'not_found', 'no order for this link: it is unknown or has expired');
  }
}

export class CancelWindowClosedError extends ConflictError {
  constructor(id: number, windowS: number) {
    super('CANCEL_WINDOW_CLOSED', `order ${id} can no longer be cancelled (the window is ${windowS} s); contact support`, { id, windowSeconds: windowS });
  }
}

export { IdempotencyKeyRequiredError } from '../../shared/errors.ts';

export class CheckoutUnavailableError extends DomainError {
  constructor() {
    super('CHECKOUT_UNAVAILABLE', 'unavailable', 'checkout is temporarily unavailable, please retry shortly');
  }
}

/**
 * The statuses a cancellation is refused in: every one but `pending_payment` (cancelled) and `cancelled` (a repeated
 * cancel answers the cancelled order, 200).
 */
export type NotCancellableStatus = Exclude<OrderStatus, 'pending_payment' | 'cancelled'>;

/** Why an order in each such status cannot be cancelled (a status added to the enum must be given its reason here). */
const NOT_CANCELLABLE_BECAUSE: Record<NotCancellableStatus, string> = {
  paid: 'a paid order is refunded instead',
  fulfilled: 'it is fulfilled',
  expired: 'it expired unpaid: its payment window is over (its units go back to stock, if not already)',
  refunded: 'it is refunded already',
};

export class OrderNotCancellableError extends ConflictError {
  constructor(id: number, status: NotCancellableStatus) {
    // `orderId` as ORDER_NOT_REFUNDABLE and ORDER_NOT_FULFILLABLE name it; `id` kept for the clients that read it.
    super('ORDER_NOT_CANCELLABLE', `order ${id} cannot be cancelled (${status}): ${NOT_CANCELLABLE_BECAUSE[status]}`, { orderId: id, id, status });
  }
}

/** An admin order filter whose period is empty (`from` not before `to`): most likely dates swapped, not a question with no orders. */
export class InvalidDateRangeError extends UnprocessableError {
  constructor(from: Date, to: Date) {
    super('INVALID_DATE_RANGE', '`from` must be before `to`', { from: from.toISOString(), to: to.toISOString() });
  }
}

/** An admin order filter on a sale event that does not exist: a typo would otherwise read as a sale that sold nothing. */
export class UnknownSaleEventError extends UnprocessableError {
  constructor(saleEventId: number) {
    super('UNKNOWN_SALE_EVENT', `sale event ${saleEventId} does not exist`, { saleEventId });
  }
}

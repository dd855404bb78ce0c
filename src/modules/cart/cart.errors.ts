import { ConflictError, UnprocessableError } from '../../shared/errors.ts';

export class CartFullError extends UnprocessableError {
  constructor(max: number) {
    super('CART_FULL', `a cart holds at most ${max} different products`, { maxLines: max });
  }
}

export class NotEnoughStockForCartError extends ConflictError {
  constructor(productId: number, requested: number, available: number) {
    super('OUT_OF_STOCK', `only ${available} of product ${productId} available`, { productId, requested, available });
  }
}

export class CartMixedCurrenciesError extends UnprocessableError {
  constructor(productId: number, currency: string, cartCurrency: string) {
    super('MIXED_CURRENCIES', `product ${productId} is priced in ${currency}, the cart in ${cartCurrency}: a cart (and its order) has one currency`, {
      productId,
      currency,
      cartCurrency,
    });
  }
}

/** A line above the product's lifetime per-customer cap: no buyer could ever order it (checkout would refuse it the same way). */
export class CartPurchaseLimitError extends ConflictError {
  constructor(productId: number, limit: number, requested: number) {
    super('PURCHASE_LIMIT_EXCEEDED', `at most ${limit} of product ${productId} per customer`, { productId, limit, requested });
  }
}

/** Other changes of the same cart kept coming first (see CartService.setItem): nothing was changed by this one. */
export class CartBusyError extends ConflictError {
  constructor() {
    super('CART_BUSY', 'the cart was being changed by other requests at the same time; nothing was changed, please retry');
  }
}

/**
 * The cart is being ordered by another request (another tab, another key): this one orders nothing. Its retry finds
 * the cart as that order left it (emptied of what it ordered: 422 `EMPTY_CART`, or the lines it did not take).
 */
export class CartOrderInProgressError extends ConflictError {
  constructor() {
    super('CART_BUSY', 'the cart is being ordered by another request; nothing was ordered by this one, please retry');
  }
}

/**
 * An add (POST /cart/items) whose sum with the line passes a line's maximum: the body is valid, the line's state
 * refuses it, so 422 `LINE_QUANTITY_TOO_LARGE` as an order's lines of one product adding up past it are, details
 * `{ productId, quantity (the sum), maxQuantity }` and `held` (what the line holds, kept as it is).
 */
export class CartLineQuantityError extends UnprocessableError {
  constructor(productId: number, held: number, quantity: number, maxQuantity: number) {
    super('LINE_QUANTITY_TOO_LARGE', `a cart line holds at most ${maxQuantity} units: the line of product ${productId} holds ${held}, adding would make ${quantity}`, {
      productId,
      quantity,
      maxQuantity,
      held,
    });
  }
}

import { ConflictError, InvalidInputError, UnprocessableError } from '../../shared/errors.ts';

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
 * An add (POST /cart/items) whose sum passes a line's maximum: refused as PUT refuses such a quantity (400
 * `VALIDATION_FAILED`, `details.in` `body`, one issue at `/quantity`), the line kept; `details.held` is what it holds.
 */
export class CartLineQuantityError extends InvalidInputError {
  constructor(held: number, quantity: number, max: number) {
    super('VALIDATION_FAILED', 'request body is invalid', {
      in: 'body',
      held,
      issues: [{ path: '/quantity', message: `the line would hold ${quantity} units (it holds ${held}): a cart line holds at most ${max}` }],
    });
  }
}

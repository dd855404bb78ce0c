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

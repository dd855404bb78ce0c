import { ConflictError, InvalidInputError, NotFoundError, UnprocessableError } from '../../shared/errors.ts';

export class ProductNotFoundError extends NotFoundError {
  constructor(id: number) {
    super('product', id);
  }
}

export class CategoryNotFoundError extends NotFoundError {
  constructor(id: number | string) {
    super('category', id);
  }
}

export class SkuTakenError extends ConflictError {
  /** `productId`: the product that holds the SKU, when known. */
  constructor(sku: string, productId?: number) {
    super('SKU_TAKEN', `a product with SKU ${sku} already exists (SKUs are unique whatever their case)`, productId === undefined ? { sku } : { sku, productId });
  }
}

export class SlugTakenError extends ConflictError {
  constructor(slug: string) {
    super('SLUG_TAKEN', `a category with slug ${slug} already exists`, { slug });
  }
}

export class CategoryInUseError extends ConflictError {
  constructor(id: number) {
    super('CATEGORY_IN_USE', `category ${id} still has products or subcategories`, { id });
  }
}

export class UnknownCategoryError extends UnprocessableError {
  constructor(id: number | string) {
    super('UNKNOWN_CATEGORY', `category ${id} does not exist`, { categoryId: id });
  }
}

/** Not an ISO 4217 currency in use (a typo such as UDS, or a code for no currency such as XXX): no payment could be taken in it. */
export class UnknownCurrencyError extends UnprocessableError {
  constructor(currency: string) {
    super('UNKNOWN_CURRENCY', `${currency} is not an ISO 4217 currency in use`, { currency });
  }
}

/**
 * A price card payments cannot charge exactly in its currency (5.125 KWD: Stripe takes BHD, JOD, KWD, OMR and TND in
 * tens of thousandths, LYD in hundredths): an order of it could be shown but never paid, and is never rounded. Nothing changed.
 */
export class PriceNotChargeableError extends UnprocessableError {
  constructor(currency: string, priceCents: number, multipleOf: number) {
    super('PRICE_NOT_CHARGEABLE', `card payments take ${currency} only in multiples of ${multipleOf} of its minor unit: ${priceCents} cannot be charged as shown`, {
      currency,
      priceCents,
      multipleOf,
    });
  }
}

/**
 * A product's currency changed without its price: `priceCents` counts the currency's minor unit (a cent, a whole yen, a
 * thousandth of a dinar), so keeping the number would change the price. Nothing changed.
 */
export class PriceRequiredError extends UnprocessableError {
  constructor(currency: string, currentCurrency: string) {
    super('PRICE_REQUIRED', `changing the currency from ${currentCurrency} to ${currency} needs the price in ${currency} (priceCents) in the same update`, {
      currency,
      currentCurrency,
    });
  }
}

export class CategoryCycleError extends UnprocessableError {
  constructor(id: number, parentId: number) {
    super('CATEGORY_CYCLE', `category ${parentId} cannot be the parent of ${id}: it is ${id} itself or one of its subcategories`, { id, parentId });
  }
}

export class InvalidPriceRangeError extends UnprocessableError {
  constructor(minPrice: number, maxPrice: number) {
    super('INVALID_PRICE_RANGE', 'minPrice must not exceed maxPrice', { minPrice, maxPrice });
  }
}

/**
 * A price range (`minPrice`, `maxPrice`) without a `currency` while active products are priced in several: prices count
 * each currency's minor unit (1000 is ¥1,000, $10.00 or 1.000 KWD), so the range means nothing without one.
 * `currencies`: those in use, to pick from.
 */
export class CurrencyRequiredError extends UnprocessableError {
  constructor(currencies: string[]) {
    super('CURRENCY_REQUIRED', `products are priced in ${currencies.join(', ')}: a price range needs a currency`, { currencies });
  }
}

/** A relative stock adjustment that would take the stock below zero or above the most a product may hold: nothing changed. */
export class StockOutOfRangeError extends ConflictError {
  constructor(productId: number, available: number, delta: number, max: number) {
    super('STOCK_OUT_OF_RANGE', `product ${productId} has ${available} units: adding ${delta} would leave it outside 0–${max}`, { productId, available, delta, max });
  }
}

/**
 * A product name longer than its limit once in NFC, the form it is stored in (see `nfcName`): NFC is not always
 * shorter (the composition exclusions, such as Devanagari U+0958 to U+095F, decompose, one character becoming two),
 * and the schema counts the name as sent. Refused with the answer the schema gives (400 `VALIDATION_FAILED`,
 * `details.in` `body`, one issue at `/name` worded as Ajv words it).
 */
export class ProductNameLengthError extends InvalidInputError {
  constructor(limit: number) {
    super('VALIDATION_FAILED', 'request body is invalid', { in: 'body', issues: [{ path: '/name', message: `must NOT have more than ${limit} characters` }] });
  }
}

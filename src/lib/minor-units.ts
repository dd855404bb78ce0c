/**
 * How many decimals the minor unit of an ISO 4217 currency has, as we count amounts (`priceCents`, `totalCents`):
 * Intl's (CLDR's) digits, the same rule the storefront and the emails format prices with. 2 for USD, 0 for JPY,
 * ISK and HUF, 3 for KWD. A payment provider that counts in other units converts at its edge.
 */
export function minorUnitDigits(currency: string): number {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/**
 * The step (in our minor unit) an amount in `currency` must be a multiple of for card payments to charge it exactly:
 * 10 for the three-decimal currencies Stripe takes only in tens of thousandths (BHD, JOD, KWD, OMR, TND: "5.124 KWD
 * must be rounded to 5120 or 5130", https://docs.stripe.com/currencies#three-decimal) and for LYD (thousandths for us,
 * hundredths for Stripe), 1 for every other. Prices are held to it, so a sum of them (an order total) is too, and what
 * the shopper is shown is what is charged, never rounded (`src/modules/payments/stripe-amounts.ts`).
 */
const CHARGED_IN_TENS = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND', 'LYD']);
export function chargeableStep(currency: string): number {
  return CHARGED_IN_TENS.has(currency.toUpperCase()) ? 10 : 1;
}

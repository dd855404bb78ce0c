/**
 * How many decimals the minor unit of an ISO 4217 currency has, as we count amounts (`priceCents`, `totalCents`):
 * Intl's (CLDR's) digits, the same rule the storefront and the emails format prices with. 2 for USD, 0 for JPY,
 * ISK and HUF, 3 for KWD. A payment provider that counts in other units converts at its edge.
 */
export function minorUnitDigits(currency: string): number {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

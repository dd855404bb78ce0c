import { minorUnitDigits } from '../../lib/minor-units.ts';

/**
 * Stripe's unit of each currency (https://docs.stripe.com/currencies): whole units for its zero-decimal currencies,
 * thousandths for its three-decimal ones, hundredths for every other, including some whose minor unit we count as the
 * whole unit: ISK ("ISK will remain a two-decimal currency in the Stripe API, and an ISK amount of 100 will continue to
 * represent 1 króna", amounts multiples of 100), HUF, IDR, COP. Sending our 5000 ISK as 5000 charged 50 krónur.
 */
const STRIPE_ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const STRIPE_THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

function stripeDigits(currency: string): number {
  const code = currency.toUpperCase();
  return STRIPE_ZERO_DECIMAL.has(code) ? 0 : STRIPE_THREE_DECIMAL.has(code) ? 3 : 2;
}

/**
 * Our amount (the currency's minor unit, `minorUnitDigits`) in Stripe's unit of that currency, or undefined if Stripe
 * cannot state it (a currency we count more finely than Stripe, LYD, and an amount not in its whole units; a
 * three-decimal currency's amount not in tens of thousandths, which Stripe refuses: "5.124 KWD must be rounded to 5120
 * or 5130"): never rounded.
 */
export function toStripeAmount(amount: number, currency: string): number | undefined {
  const shift = stripeDigits(currency) - minorUnitDigits(currency.toUpperCase());
  const stated = shift >= 0 ? amount * 10 ** shift : amount % 10 ** -shift === 0 ? amount / 10 ** -shift : undefined;
  if (stated !== undefined && STRIPE_THREE_DECIMAL.has(currency.toUpperCase()) && stated % 10 !== 0) return undefined;
  return stated;
}

/**
 * An amount Stripe reports (an intent's `amount`, a charge's `amount_refunded`) in our unit, rounded down: a
 * refund of part of a unit we count is not all of the unit (so "refunded less than the total" stays true).
 */
export function fromStripeAmount(amount: number, currency: string): number {
  const shift = stripeDigits(currency) - minorUnitDigits(currency.toUpperCase());
  return shift >= 0 ? Math.floor(amount / 10 ** shift) : amount * 10 ** -shift;
}

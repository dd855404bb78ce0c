import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromStripeAmount, toStripeAmount } from './stripe-amounts.ts';

describe("Stripe's units", () => {
  it('sends USD, JPY and KWD as we count them, ISK and HUF in hundredths', () => {
    assert.equal(toStripeAmount(4200, 'USD'), 4200);
    assert.equal(toStripeAmount(500, 'JPY'), 500);
    assert.equal(toStripeAmount(5120, 'KWD'), 5120);
    assert.equal(toStripeAmount(5000, 'ISK'), 500_000);
    assert.equal(toStripeAmount(12_000, 'huf'), 1_200_000);
  });

  it('never rounds: an amount Stripe cannot state in its unit is undefined', () => {
    // LYD: three decimals as we count, two at Stripe.
    assert.equal(toStripeAmount(1230, 'LYD'), 123);
    assert.equal(toStripeAmount(1234, 'LYD'), undefined);
  });

  it("states a three-decimal currency's amount only in tens of its thousandths, as Stripe takes it (5.125 KWD is not 5125)", () => {
    // https://docs.stripe.com/currencies: BHD, JOD, KWD, OMR and TND amounts must end in 0 ("5.124 KWD must be rounded
    // to 5120 or 5130"); one that does not is refused by Stripe, so it is not one Stripe can state: never rounded.
    assert.equal(toStripeAmount(5125, 'KWD'), undefined);
    assert.equal(toStripeAmount(1001, 'bhd'), undefined);
    for (const currency of ['BHD', 'JOD', 'KWD', 'OMR', 'TND']) assert.equal(toStripeAmount(5130, currency), 5130, currency);
  });

  it('reads amounts back in our unit, a part of a unit rounded down so that it stays less than the whole', () => {
    assert.equal(fromStripeAmount(500_000, 'ISK'), 5000);
    assert.equal(fromStripeAmount(499_950, 'HUF'), 4999);
    assert.equal(fromStripeAmount(4200, 'USD'), 4200);
    assert.equal(fromStripeAmount(123, 'LYD'), 1230);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/config.ts';
import { createDegradedPolicies } from './degraded-policies.ts';

describe('rate limits in a degrade mode', () => {
  const { policies } = loadConfig({ NODE_ENV: 'test' }).rateLimit;
  const at = createDegradedPolicies(policies);

  it('scales the general, customer and sale limits and keeps their windows', () => {
    const half = at(50);
    assert.deepEqual([half.general.max, half.customer.max, half.sale.max], [500, 500, 50]);
    assert.equal(half.general.windowMs, policies.general.windowMs);
    assert.equal(at(1).sale.max, 1);
  });

  it('never changes the checkout and login limiters', () => {
    assert.equal(at(50).checkout, policies.checkout);
    assert.equal(at(50).login, policies.login);
  });

  it('returns the configured policies at 100 % and the same object for the same share', () => {
    assert.equal(at(100), policies);
    assert.equal(at(75), at(75));
  });
});

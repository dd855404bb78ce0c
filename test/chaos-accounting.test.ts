import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secondsToRecover } from '../chaos/lib/accounting.ts';
import type { Attempt } from '../chaos/lib/load.ts';

/** A checkout attempt of the chaos load: `at` ms since the load started, 100 ms long. */
const checkout = (at: number, status: number, code?: string): Attempt => ({
  kind: 'checkout',
  start: at,
  end: at + 100,
  status,
  code,
  outcome: status < 400 ? 'ok' : status === 503 ? 'unknown' : 'failed',
});

describe('chaos figures: seconds to recover', () => {
  it('is the time from the heal to the first successful checkout after the last failing one', () => {
    const attempts = [checkout(1_000, 201), checkout(2_500, 503, 'DATABASE_UNAVAILABLE'), checkout(4_000, 503, 'DATABASE_UNAVAILABLE'), checkout(5_500, 201)];
    assert.equal(secondsToRecover(attempts, 3_000), 2.5);
    assert.equal(secondsToRecover([...attempts.slice(0, 3)], 3_000), Number.POSITIVE_INFINITY, 'never recovered');
    assert.equal(secondsToRecover([checkout(1_000, 201), checkout(2_000, 503)], 3_000), 0, 'the last failure ended before the heal');
  });

  it('does not count a shopper whose session was lost with Redis (401 NOT_SIGNED_IN, who signs in again) as the shop not recovered', () => {
    // Redis without persistence loses every session: each buyer's first checkout after the heal is refused 401 and
    // the buyer signs in again. The shop recovered when checkouts succeed again, not when the last buyer noticed.
    const attempts = [checkout(1_000, 201), checkout(2_500, 503, 'RATE_LIMIT_UNAVAILABLE'), checkout(4_200, 201), checkout(7_800, 401, 'NOT_SIGNED_IN')];
    assert.equal(secondsToRecover(attempts, 2_400), 1.8);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { deleteRedisKeys, TEST_REDIS_URL, testPrefix } from '../../../test/helpers/db.ts';
import { closeRedis, createRedis } from '../redis/redis.ts';
import { createRateLimiter, type LimitPolicy, type RateLimiter } from './limiter.ts';

const policy = (max: number, windowMs: number, name: LimitPolicy['name'] = 'sale'): LimitPolicy => ({ name, max, windowMs, countFailuresOnly: false, failClosed: false });

describe('GCRA limiter (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let limiter: RateLimiter;
  let subjects = 0;
  const subject = () => `test-${++subjects}`;

  before(async () => {
    redis = createRedis(TEST_REDIS_URL, { name: 'salescale-test-limiter', role: 'state' });
    await new Promise((resolve) => redis.once('ready', resolve));
    prefix = testPrefix();
    limiter = createRateLimiter({ redis, prefix });
  });
  after(async () => {
    await deleteRedisKeys(`${prefix}:*`);
    await closeRedis(redis);
  });

  it('admits a whole burst of max at once, then refuses, whatever the interval (window / max) is', async () => {
    // Intervals that are not whole tenths of a millisecond (666.67 ms, 8571.43 ms, 1428.57 ms): the stored
    // time must not drift by rounding, or the last unit of a burst is refused.
    for (const p of [policy(3, 2000), policy(7, 60_000), policy(70, 100_000), policy(300, 200_000)]) {
      for (let trial = 0; trial < 5; trial++) {
        const who = subject();
        const burst = await Promise.all(Array.from({ length: p.max }, () => limiter.reserve(who, [p])));
        assert.equal(burst.filter((decision) => decision.allowed).length, p.max, `max ${p.max} / ${p.windowMs} ms, trial ${trial + 1}`);
        const over = await limiter.reserve(who, [p]);
        assert.equal(over.allowed, false);
        assert.equal(over.states[0]!.remaining, 0);
      }
    }
  });

  it('counts a unit as one of max however the window divides: one request leaves max - 1', async () => {
    // Windows shorter in microseconds than max × (max + 1): the interval rounded down to whole microseconds fitted
    // max + 1 units in the window (60 s / 9999 is 6000.6 µs, read as 6000: 10,000 a minute).
    for (const p of [policy(9999, 60_000), policy(1500, 1000), policy(40_000, 1_000_000)]) {
      const first = await limiter.reserve(subject(), [p]);
      assert.equal(first.allowed, true);
      assert.equal(first.states[0]!.remaining, p.max - 1, `max ${p.max} / ${p.windowMs} ms`);
    }
  });

  it('checks several limits in one call, all or nothing', async () => {
    const who = subject();
    const tight = policy(2, 60_000, 'sale');
    const loose = policy(10, 60_000, 'general');
    for (let i = 0; i < 2; i++) assert.equal((await limiter.reserve(who, [loose, tight])).allowed, true);
    const refused = await limiter.reserve(who, [loose, tight]);
    assert.equal(refused.allowed, false);
    assert.deepEqual(
      refused.states.map((s) => [s.policy.name, s.allowed, s.remaining]),
      [
        ['general', true, 8],
        ['sale', false, 0],
      ],
    );
    // The refused call recorded nothing: the loose limit still has 8.
    assert.equal((await limiter.reserve(who, [loose])).states[0]!.remaining, 7);
  });

  it('reports whether the configured max would have admitted a request a degrade mode\'s cut refused', async () => {
    const who = subject();
    const cut: LimitPolicy = { ...policy(2, 60_000, 'general'), baseMax: 4 };
    const plain = policy(3, 60_000, 'sale');
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await limiter.reserve(who, [cut]));
    assert.deepEqual(
      decisions.map((d) => [d.allowed, d.states[0]!.withinBaseLimit]),
      [
        [true, true],
        [true, true],
        [false, true], // refused only by the cut
        [false, true],
        [false, false], // past the configured max too
        [false, false],
      ],
    );
    // A limit no mode cut: within its base limit exactly when allowed.
    const other = subject();
    const plainDecisions = [];
    for (let i = 0; i < 4; i++) plainDecisions.push(await limiter.reserve(other, [plain]));
    assert.deepEqual(
      plainDecisions.map((d) => [d.allowed, d.states[0]!.withinBaseLimit]),
      [
        [true, true],
        [true, true],
        [true, true],
        [false, false],
      ],
    );
  });

  it('counts a cut limit\'s shadow only for requests the normal limits would have admitted', async () => {
    const who = subject();
    const cut: LimitPolicy = { ...policy(2, 60_000, 'general'), baseMax: 4 };
    const uncut = policy(1, 60_000, 'checkout');
    assert.equal((await limiter.reserve(who, [cut, uncut])).allowed, true);
    // Refused by the limit no mode cut: the normal limits would have refused them as well, so they are not demand
    // within the normal budget and must not use up the shadow's.
    for (let i = 0; i < 3; i++) {
      const refused = await limiter.reserve(who, [cut, uncut]);
      assert.equal(refused.allowed, false);
      assert.deepEqual(
        refused.states.map((s) => [s.policy.name, s.allowed]),
        [
          ['general', true],
          ['checkout', false],
        ],
      );
    }
    assert.equal((await limiter.reserve(who, [cut])).allowed, true);
    // Two admitted of a normal four: the next is refused only by the cut, within the normal limit.
    const cutOnly = await limiter.reserve(who, [cut]);
    assert.equal(cutOnly.allowed, false);
    assert.equal(cutOnly.states[0]!.withinBaseLimit, true);
  });

  it('counts no cut limit\'s shadow for a request another cut limit\'s normal max refused', async () => {
    const who = subject();
    const wide: LimitPolicy = { ...policy(2, 60_000, 'general'), baseMax: 4 };
    const narrow: LimitPolicy = { ...policy(1, 60_000, 'sale'), baseMax: 2 };
    // Admitted; then refused only by the narrow cut (its normal max of 2 admits it); then past that normal max twice.
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.reserve(who, [wide, narrow]));
    assert.deepEqual(
      decisions.map((d) => [d.allowed, d.states[1]!.withinBaseLimit]),
      [
        [true, true],
        [false, true],
        [false, false],
        [false, false],
      ],
    );
    // The wide shadow counted the first two only: one more admitted, then one refused only by the cut.
    assert.equal((await limiter.reserve(who, [wide])).allowed, true);
    const cutOnly = await limiter.reserve(who, [wide]);
    assert.equal(cutOnly.allowed, false);
    assert.equal(cutOnly.states[0]!.withinBaseLimit, true);
  });
});

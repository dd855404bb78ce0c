import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { after, describe, it } from 'node:test';
import { TEST_REDIS_URL, testPrefix } from '../../../test/helpers/db.ts';
import { createActiveUsers } from './active-users.ts';

describe('active users (Redis HyperLogLog)', () => {
  const redis = new Redis(TEST_REDIS_URL);
  const prefix = testPrefix();
  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('counts distinct sessions across instances over the last five minutes', async () => {
    let now = Date.UTC(2026, 10, 27, 9, 0, 0);
    const clock = () => now;
    const a = createActiveUsers({ redis, prefix, now: clock });
    const b = createActiveUsers({ redis, prefix, now: clock });
    for (let i = 0; i < 300; i++) a.record(`s${i}`);
    for (let i = 200; i < 500; i++) b.record(`s${i}`); // 100 sessions seen by both instances
    for (let i = 0; i < 50; i++) a.record('s1'); // repeats count once
    await b.flush(); // what b's timer does within a second
    const both = await a.count();
    assert.ok(Math.abs(both - 500) <= 10, `HyperLogLog estimate ${both} for 500 sessions`);
    assert.equal(await b.count(), both, 'every instance reports the same cluster-wide figure');

    now += 3 * 60_000;
    b.record('late');
    assert.ok(Math.abs((await b.count()) - 501) <= 10);

    now += 3 * 60_000; // the first minute has left the window: only "late" remains
    assert.equal(await a.count(), 1);
    now += 5 * 60_000;
    assert.equal(await a.count(), 0);
    await Promise.all([a.close(), b.close()]);
  });

  it('expires its keys', async () => {
    const users = createActiveUsers({ redis, prefix: `${prefix}:ttl` });
    users.record('x');
    await users.flush();
    const [key] = await redis.keys(`${prefix}:ttl:*`);
    assert.ok(key);
    const ttl = await redis.ttl(key);
    assert.ok(ttl > 300 && ttl <= 360, `ttl ${ttl}`);
    await users.close();
  });
});

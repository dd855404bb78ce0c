import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;

before(async () => {
  // The live-sale check (one read per RATE_LIMIT_SALE_REFRESH_MS, in the background) reads once before the pool
  // is exhausted and not again during the test: the catalog reads alone take the pool's queue.
  t = await createTestApp({ DB_POOL_MAX: '2', DB_POOL_QUEUE_MAX: '4', RATE_LIMIT_SALE_REFRESH_MS: '600000' });
  assert.equal((await t.app.inject({ url: '/api/v1/products?q=warm' })).statusCode, 200);
});
after(async () => {
  await t?.close();
});

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('PostgreSQL pool exhausted (every connection checked out and held)', () => {
  it('lets DB_POOL_QUEUE_MAX requests wait, refuses the rest at once with 503 DATABASE_BUSY and Retry-After, and recovers', async () => {
    const pool = t.platform.db.pools.primary;
    // Every connection of the pool checked out and held, as by requests stuck on a slow statement.
    const held = await Promise.all([pool.connect(), pool.connect()]);
    let maxWaiting = 0;
    const sampler = setInterval(() => (maxWaiting = Math.max(maxWaiting, pool.waitingCount)), 2);
    try {
      // 20 catalog reads, each a cache miss: 4 may wait, 16 are refused.
      const replies: { status: number; code?: string; retryAfter?: string }[] = [];
      const reads = Array.from({ length: 20 }, (_, i) =>
        t.app.inject({ url: `/api/v1/products?q=pool${i}` }).then((reply) => {
          maxWaiting = Math.max(maxWaiting, pool.waitingCount);
          replies.push({ status: reply.statusCode, code: reply.statusCode === 200 ? undefined : reply.json().error.code, retryAfter: reply.headers['retry-after'] as string | undefined });
        }),
      );
      // The refusals arrive while every connection is still held.
      await until(() => replies.length >= 16, 10_000);
      // Busy is not down: the load balancer keeps routing here (the reads that wait are served), and the
      // degrade signal keeps counting this instance (a failed /ready reports a dependency outage).
      const ready = await t.app.inject({ url: '/ready' });
      assert.equal(ready.statusCode, 200, ready.body);
      assert.equal(ready.json().checks.database, 'up');
      assert.equal(pool.waitingCount, 4, 'four reads wait their turn');
      assert.deepEqual(replies.slice(0, 16).map((r) => r.code), Array(16).fill('DATABASE_BUSY'));
      assert.ok(replies.every((r) => /^[1-9]\d*$/.test(String(r.retryAfter))), JSON.stringify(replies));

      for (const client of held.splice(0)) client.release();
      await Promise.all(reads);
      assert.deepEqual(replies.slice(16).map((r) => r.status), [200, 200, 200, 200], 'the waiting reads are served once connections free up');
      assert.ok(maxWaiting <= 4, `at most DB_POOL_QUEUE_MAX checkouts waited (saw ${maxWaiting})`);
      assert.equal((await t.app.inject({ url: '/api/v1/products?q=after' })).statusCode, 200);
    } finally {
      clearInterval(sampler);
      for (const client of held) client.release();
    }
  });
});

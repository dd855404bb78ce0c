import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { createLiveSaleCheck } from './sale-events.live.ts';
import { saleEvents } from './sale-events.tables.ts';

let t: TestApp;

before(async () => {
  t = await createTestApp({ DB_POOL_MAX: '2' });
});
after(async () => {
  await t?.close();
});

describe('live-sale check', () => {
  it('goes live at the event’s exact start and ends at its end, between two reads of the database', async () => {
    const base = Date.parse('2031-11-28T05:00:00Z');
    let clock = base;
    const now = () => new Date(clock);
    const check = createLiveSaleCheck({ db: t.platform.db, refreshMs: 60_000, now });
    await t.platform.db.primary.insert(saleEvents).values({ name: 'Doorbusters', startsAt: new Date(base + 1_000), endsAt: new Date(base + 2_000) });

    assert.equal(await check.isLive(), false, 'one second before the start');
    clock = base + 1_000;
    assert.equal(await check.isLive(), true, 'at the start, 59 s before the next read');
    clock = base + 1_999;
    assert.equal(await check.isLive(), true);
    clock = base + 2_000;
    assert.equal(await check.isLive(), false, 'at the end');
  });

  it('answers from its last read at once while a new read waits for a connection of a busy pool', async () => {
    const pool = t.platform.db.pools.primary;
    let clock = Date.parse('2032-11-26T05:00:00Z');
    const now = () => new Date(clock);
    const check = createLiveSaleCheck({ db: t.platform.db, refreshMs: 5_000, now });
    await t.platform.db.primary.insert(saleEvents).values({ name: 'Live', startsAt: new Date(clock - 60_000), endsAt: new Date(clock + 3_600_000) });
    assert.equal(await check.isLive(), true);

    clock += 5_000; // the read is stale
    const held = await Promise.all([pool.connect(), pool.connect()]);
    try {
      const answer = await check.isLive();
      // The refresh is queued for a connection and the answer came without it (waiting here is what stalled
      // every request of an instance for the pool's 5 s checkout timeout).
      assert.equal(pool.waitingCount, 1, 'the refresh waits for a connection');
      assert.equal(answer, true);
    } finally {
      for (const client of held) client.release();
    }
  });

  it('makes the first calls wait for the first read (an instance started mid-sale applies the sale limit)', async () => {
    const at = Date.parse('2033-11-25T05:00:00Z');
    await t.platform.db.primary.insert(saleEvents).values({ name: 'Started before the instance', startsAt: new Date(at - 60_000), endsAt: new Date(at + 60_000) });
    const check = createLiveSaleCheck({ db: t.platform.db, refreshMs: 5_000, now: () => new Date(at) });
    assert.deepEqual(await Promise.all([check.isLive(), check.isLive()]), [true, true]);
  });

  it('does not hold a request of the web app while every connection of its pool is busy', async () => {
    const web = await createTestApp({ DB_POOL_MAX: '2', RATE_LIMIT_SALE_REFRESH_MS: '100' });
    try {
      const pool = web.platform.db.pools.primary;
      assert.equal((await web.app.inject({ url: '/' })).statusCode, 200); // the first read is done
      await new Promise((resolve) => setTimeout(resolve, 150)); // and stale
      const held = await Promise.all([pool.connect(), pool.connect()]);
      try {
        // The storefront page needs no database; the rate limit asks the live-sale check on every request.
        const page = await web.app.inject({ url: '/' });
        assert.equal(page.statusCode, 200);
        assert.equal(pool.waitingCount, 1, 'answered while the refresh still waits for a connection (not after its 5 s timeout)');
      } finally {
        for (const client of held) client.release();
      }
    } finally {
      await web.close();
    }
  });
});

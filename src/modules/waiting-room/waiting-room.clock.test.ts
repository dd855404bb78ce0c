import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from '../../../test/helpers/db.ts';
import { createLogger } from '../../platform/logger/logger.ts';
import { freePort } from '../../platform/local/local-stack.ts';
import { createRoomClock } from './waiting-room.clock.ts';

describe('waiting-room clock', () => {
  let redis: Redis;
  const logger = createLogger({ level: 'silent' });
  const redisNow = async () => {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  };

  before(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  after(() => redis.disconnect());

  it('tells the time on Redis’s clock whatever this process’s clock says', async () => {
    for (const skew of [-30_000, 45_000]) {
      const clock = createRoomClock({ redis, syncMs: 1000, logger, local: () => Date.now() + skew });
      await clock.sync();
      const [before, now, after] = [await redisNow(), clock.now(), await redisNow()];
      assert.ok(now >= before - 50 && now <= after + 50, `skew ${skew}: ${now} not within [${before}, ${after}]`);
    }
  });

  it('keeps the offset of the quickest round trip: a slow reply does not move it', async () => {
    let slowBy = 0;
    let reads = 0;
    // The process's clock, 30 s behind; while `slowBy` is set, every second read (a sample's reply) comes that much later.
    const local = () => Date.now() - 30_000 + (slowBy > 0 && ++reads % 2 === 0 ? slowBy : 0);
    const clock = createRoomClock({ redis, syncMs: 1000, logger, local });
    await clock.sync();
    slowBy = 4000;
    for (let i = 0; i < 3; i++) await clock.sync();
    slowBy = 0;
    const [before, now, after] = [await redisNow(), clock.now(), await redisNow()];
    assert.ok(now >= before - 50 && now <= after + 50, `a reply 4 s late moved the clock: ${now - before} ms off`);
  });

  it('keeps the last offset while Redis cannot be read, and starts at this process’s time', async () => {
    const closed = new Redis(`redis://127.0.0.1:${await freePort()}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    closed.on('error', () => {});
    const clock = createRoomClock({ redis: closed, syncMs: 1000, logger, local: () => 1_000 });
    await clock.sync();
    assert.equal(clock.now(), 1_000);
    closed.disconnect();
  });
});

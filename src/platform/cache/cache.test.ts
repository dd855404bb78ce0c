import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL, testPrefix } from '../../../test/helpers/db.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { drizzle } from 'drizzle-orm/node-postgres';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { TEST_PG_ADMIN_URL } from '../../../test/helpers/db.ts';
import { classifyDatabaseFailure } from '../db/errors.ts';
import { freePort } from '../local/local-stack.ts';
import { CacheLoadFailedError, createRedisCache, type Cache } from './cache.ts';
import { waitFor } from '../../../test/helpers/queues.ts';

let redis: Redis;
before(() => {
  redis = new Redis(TEST_REDIS_URL);
});
after(async () => {
  await redis.quit();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('redis cache', () => {
  it('loads once and then serves from Redis until a tag is invalidated', async () => {
    const cache = createRedisCache({ redis, prefix: testPrefix() });
    let loads = 0;
    const load = async () => ({ n: ++loads });
    assert.deepEqual(await cache.getOrSet('product:1', load, { ttlSeconds: 60, tags: ['product:1'] }), { n: 1 });
    assert.deepEqual(await cache.getOrSet('product:1', load, { ttlSeconds: 60, tags: ['product:1'] }), { n: 1 });
    await cache.invalidateTags(['product:2']);
    assert.deepEqual(await cache.getOrSet('product:1', load, { ttlSeconds: 60, tags: ['product:1'] }), { n: 1 });
    await cache.invalidateTags(['product:1']);
    assert.deepEqual(await cache.getOrSet('product:1', load, { ttlSeconds: 60, tags: ['product:1'] }), { n: 2 });
  });

  it('lets one loader run per key across callers that miss at the same time (stampede protection)', async () => {
    const prefix = testPrefix();
    // Two cache objects on two connections stand for two instances.
    const other = new Redis(TEST_REDIS_URL);
    try {
      const caches = [createRedisCache({ redis, prefix }), createRedisCache({ redis: other, prefix })];
      let loads = 0;
      const slowLoad = async () => {
        loads += 1;
        await sleep(150);
        return 'value';
      };
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => caches[i % 2]!.getOrSet('hot', slowLoad, { ttlSeconds: 60 })));
      assert.equal(loads, 1);
      assert.deepEqual(new Set(results), new Set(['value']));
    } finally {
      other.disconnect();
    }
  });

  it('serves the expired value while one caller refreshes it', async () => {
    const metrics = createMetrics({ role: 'test', instanceId: 'x' });
    const cache = createRedisCache({ redis, prefix: testPrefix(), metrics });
    let version = 0;
    const load = async () => {
      version += 1;
      await sleep(200);
      return version;
    };
    assert.equal(await cache.getOrSet('k', load, { ttlSeconds: 1 }), 1);
    await sleep(1100);
    const [refresher, ...others] = await Promise.all([cache.getOrSet('k', load, { ttlSeconds: 1 }), ...Array.from({ length: 5 }, () => sleep(20).then(() => cache.getOrSet('k', load, { ttlSeconds: 1 })))]);
    assert.equal(refresher, 2);
    assert.deepEqual(others, [1, 1, 1, 1, 1]);
    assert.equal((await metrics.cacheStale.get()).values.reduce((sum, v) => sum + v.value, 0), 5);
  });

  it('never serves an entry whose tag was invalidated while it was loading', async () => {
    const cache = createRedisCache({ redis, prefix: testPrefix() });
    let loads = 0;
    const value = await cache.getOrSet(
      'p',
      async () => {
        loads += 1;
        await cache.invalidateTags(['t']); // a write lands while the old value is being read
        return 'old';
      },
      { ttlSeconds: 60, tags: ['t'] },
    );
    assert.equal(value, 'old');
    assert.equal(await cache.getOrSet('p', async () => `new-${++loads}`, { ttlSeconds: 60, tags: ['t'] }), 'new-2');
  });

  it('falls back to the loader and counts it when Redis is unreachable', async () => {
    const metrics = createMetrics({ role: 'test', instanceId: 'x' });
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => {});
    const cache = createRedisCache({ redis: dead, prefix: testPrefix(), metrics });
    assert.equal(await cache.getOrSet('x', async () => 'from-db', { ttlSeconds: 60, name: 'products' }), 'from-db');
    const fallbacks = await metrics.cacheFallbacks.get();
    assert.equal(fallbacks.values.find((v) => v.labels.cache === 'products')?.value, 1);
    dead.disconnect();
  });

  it('shares one load among concurrent callers of a key while Redis is unreachable, instead of one database read each', async () => {
    const metrics = createMetrics({ role: 'test', instanceId: 'x' });
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => {});
    const cache = createRedisCache({ redis: dead, prefix: testPrefix(), metrics });
    const fallbacks = async () => (await metrics.cacheFallbacks.get()).values.reduce((sum, v) => sum + v.value, 0);
    let loads = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const load = async () => {
      loads += 1;
      await released;
      return 'from-db';
    };
    try {
      const results = Promise.all(Array.from({ length: 20 }, () => cache.getOrSet('hot', load, { ttlSeconds: 60, name: 'product' })));
      // Every caller has found Redis down before the first load answers: a hot product's burst during an outage.
      await waitFor('every caller to fall back', async () => (await fallbacks()) >= 20);
      release();
      assert.deepEqual(new Set(await results), new Set(['from-db']));
      assert.equal(loads, 1);
    } finally {
      release();
      dead.disconnect();
    }
  });

  it('keeps no KEYS or SCAN in its code path', async () => {
    const source = await import('node:fs/promises').then((fs) => fs.readFile(new URL('./cache.ts', import.meta.url), 'utf8'));
    assert.doesNotMatch(source, /\.(keys|scan)\(/);
  });
});

describe('redis cache when its source fails', () => {
  /** A real PostgreSQL client pointed at a port nobody listens on: every query fails with ECONNREFUSED. */
  let down: pg.Pool;
  before(async () => {
    const url = new URL(TEST_PG_ADMIN_URL);
    url.port = String(await freePort());
    down = new pg.Pool({ connectionString: url.toString(), max: 2 });
  });
  after(async () => {
    await down.end();
  });
  const failingLoad = (counter: { n: number }, delayMs = 0) => async () => {
    counter.n += 1;
    await sleep(delayMs);
    await drizzle({ client: down }).execute(sql`SELECT 1`);
    return 'never';
  };

  it('releases the per-key lock as soon as a load fails, so the next caller loads at once', async () => {
    const prefix = testPrefix();
    const cache = createRedisCache({ redis, prefix, failureMs: 1 });
    await assert.rejects(cache.getOrSet('p:1', failingLoad({ n: 0 }), { ttlSeconds: 60 }));
    assert.equal(await redis.exists(`${prefix}:cache:l:p:1`), 0, 'no lock left behind');
    await sleep(5);
    // Another instance (its own cache object) loads at once instead of waiting for a lock.
    const other = createRedisCache({ redis, prefix });
    assert.equal(await other.getOrSet('p:1', async () => 'fresh', { ttlSeconds: 60 }), 'fresh');
  });

  it('serves the stale value when its reload fails', async () => {
    const metrics = createMetrics({ role: 'test', instanceId: 'x' });
    const cache = createRedisCache({ redis, prefix: testPrefix(), metrics });
    assert.equal(await cache.getOrSet('c', async () => 'old', { ttlSeconds: 1 }), 'old');
    await sleep(1100);
    const loads = { n: 0 };
    assert.equal(await cache.getOrSet('c', failingLoad(loads), { ttlSeconds: 1 }), 'old');
    assert.equal(loads.n, 1, 'the reload was attempted');
    // And for the next second it does not hammer the failing source.
    assert.equal(await cache.getOrSet('c', failingLoad(loads), { ttlSeconds: 1 }), 'old');
    assert.equal(loads.n, 1);
    assert.equal((await metrics.cacheStale.get()).values.reduce((sum, v) => sum + v.value, 0), 2);
  });

  it('fails concurrent callers fast with the source\'s failure instead of queueing, in one process and across instances', async () => {
    const prefix = testPrefix();
    const other = new Redis(TEST_REDIS_URL);
    try {
      const a = createRedisCache({ redis, prefix });
      const b = createRedisCache({ redis: other, prefix });
      const loadsA = { n: 0 };
      const loadsB = { n: 0 };
      // A wins the lock and its load fails after 300 ms; 20 callers on A and 20 on B arrive meanwhile.
      const onA = Array.from({ length: 20 }, () => a.getOrSet('hot', failingLoad(loadsA, 300), { ttlSeconds: 60 }));
      await sleep(50);
      const onB = Array.from({ length: 20 }, () => b.getOrSet('hot', failingLoad(loadsB, 300), { ttlSeconds: 60 }));
      const outcomes = await Promise.allSettled([...onA, ...onB]);
      assert.ok(outcomes.every((o) => o.status === 'rejected'));
      assert.equal(loadsA.n, 1, 'one load on A, shared by its 20 callers');
      assert.equal(loadsB.n, 0, 'B\'s callers did not query the failing source after waiting: they took A\'s failure');
      for (const outcome of outcomes) {
        const reason = (outcome as PromiseRejectedResult).reason;
        assert.equal(classifyDatabaseFailure(reason), 'unavailable', String(reason));
      }
      assert.ok((outcomes.slice(20) as PromiseRejectedResult[]).every((o) => o.reason instanceof CacheLoadFailedError));
      // Once the failure is older than failureMs (1 s), callers try the source again.
      await sleep(1100);
      assert.equal(await b.getOrSet('hot', async () => 'back', { ttlSeconds: 60 }), 'back');
    } finally {
      other.disconnect();
    }
  });
});

describe('redis cache with the in-process layer', () => {
  const opened: Array<{ cache: Cache; conn: Redis; subscriber: Redis; prefix: string }> = [];
  /** One "instance": its own command connection and its own invalidation subscriber. */
  async function instance(prefix: string): Promise<{ cache: Cache; conn: Redis; subscriber: Redis }> {
    const conn = new Redis(TEST_REDIS_URL);
    const subscriber = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const cache = createRedisCache({ redis: conn, prefix, local: { subscriber } });
    opened.push({ cache, conn, subscriber, prefix });
    await new Promise((resolve) => subscriber.once('ready', resolve));
    // Redis counts this instance's subscription (polled: a loaded machine answers late), then the confirmation
    // already sent to it is read.
    const channel = `${prefix}:cache:invalidations`;
    const instancesOnPrefix = opened.filter((o) => o.prefix === prefix).length;
    await waitFor('the subscription', async () => (Number(((await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1]) >= instancesOnPrefix) || null, 10_000);
    await sleep(20);
    return { cache, conn, subscriber };
  }
  after(async () => {
    for (const { cache, conn, subscriber } of opened) {
      await cache.close?.();
      conn.disconnect();
      // The cache leaves its channel; the connection is its opener's to close.
      subscriber.disconnect();
    }
  });

  it('serves repeated reads from process memory once an entry was read from Redis', async () => {
    const prefix = testPrefix();
    const { cache } = await instance(prefix);
    let loads = 0;
    const opts = { ttlSeconds: 60, tags: ['product:1'] };
    await cache.getOrSet('product:1', async () => ({ n: ++loads }), opts); // miss: loads and writes Redis
    await cache.getOrSet('product:1', async () => ({ n: ++loads }), opts); // Redis hit: fills the local layer
    await redis.del(`${prefix}:cache:e:product:1`);
    assert.deepEqual(await cache.getOrSet('product:1', async () => ({ n: ++loads }), opts), { n: 1 });
    assert.equal(loads, 1);
  });

  it('drops a local entry as soon as another instance invalidates its tag', async () => {
    const prefix = testPrefix();
    const a = await instance(prefix);
    const b = await instance(prefix);
    let price = 100;
    const load = async () => ({ price });
    const opts = { ttlSeconds: 60, tags: ['product:7'] };
    await b.cache.getOrSet('product:7', load, opts);
    await b.cache.getOrSet('product:7', load, opts); // now in B's local layer
    price = 90;
    await a.cache.invalidateTags(['product:7']);
    assert.deepEqual(await b.cache.getOrSet('product:7', load, opts), { price: 90 });
  });

  it('stops serving from memory while its subscription is down, so a missed invalidation is never served', async () => {
    const prefix = testPrefix();
    const b = await instance(prefix);
    let price = 100;
    const load = async () => ({ price });
    const opts = { ttlSeconds: 60, tags: ['product:9'] };
    await b.cache.getOrSet('product:9', load, opts);
    await b.cache.getOrSet('product:9', load, opts);
    const id = await b.subscriber.client('ID');
    await redis.client('KILL', 'ID', String(id));
    await sleep(50);
    // An invalidation the subscriber cannot hear (it is reconnecting): bump the tag version directly.
    price = 80;
    await redis.incr(`${prefix}:cache:t:product:9`);
    assert.deepEqual(await b.cache.getOrSet('product:9', load, opts), { price: 80 });
    // The killed subscriber reconnects and subscribes again (ioredis' own resubscription, whose promise no one
    // holds): that must be over before the connections close, or its "Connection is closed" fails the file.
    const channel = `${prefix}:cache:invalidations`;
    await waitFor('the subscription back', async () => (b.subscriber.status === 'ready' && Number(((await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1]) >= 1) || null, 10_000);
    // Replies come in order: once this PING is answered, the SUBSCRIBE replies sent before it were read.
    assert.equal(await b.subscriber.ping(), 'PONG');
  });

  it('hands out frozen values, so a caller cannot change what other callers read', async () => {
    const { cache } = await instance(testPrefix());
    const opts = { ttlSeconds: 60 };
    await cache.getOrSet('k', async () => ({ available: 5 }), opts);
    const value = await cache.getOrSet('k', async () => ({ available: 5 }), opts);
    assert.throws(() => {
      (value as { available: number }).available = 4;
    }, TypeError);
  });
});

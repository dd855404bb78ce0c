import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL, testPrefix } from '../../../test/helpers/db.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { createRedisCache } from './cache.ts';

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

  it('keeps no KEYS or SCAN in its code path', async () => {
    const source = await import('node:fs/promises').then((fs) => fs.readFile(new URL('./cache.ts', import.meta.url), 'utf8'));
    assert.doesNotMatch(source, /\.(keys|scan)\(/);
  });
});

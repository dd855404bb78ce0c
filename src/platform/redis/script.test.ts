import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../../../test/helpers/redis-server.ts';
import { defineScript } from './script.ts';

// A private server: the test flushes its script cache, which must never happen to the shared one.
describe('defineScript (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  before(async () => {
    server = await startPrivateRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: 0 });
  });
  after(async () => {
    redis.disconnect();
    await server.destroy();
  });

  const SWAP_REPLY = { swapped: 1, unchanged: 0 } as const;
  const swap = defineScript({
    name: 'test-swap',
    keys: ['from', 'to'],
    lua: `local v = redis.call('GET', KEYS[1]) if not v then return {0} end redis.call('SET', KEYS[2], v .. ARGV[1]) return {1, v}`,
    parse: (reply) => {
      const [code, value] = reply as [number, string?];
      return code === SWAP_REPLY.swapped ? { kind: 'swapped' as const, value: String(value) } : { kind: 'unchanged' as const };
    },
  });

  it('runs by SHA, loading the body once when Redis does not know it, and again after a script flush', async () => {
    await redis.set('a', 'x');
    assert.equal(Number(((await redis.call('SCRIPT', 'EXISTS', swap.sha)) as number[])[0]), 0);
    assert.deepEqual(await swap.run(redis, { from: 'a', to: 'b' }, '!'), { kind: 'swapped', value: 'x' });
    assert.equal(Number(((await redis.call('SCRIPT', 'EXISTS', swap.sha)) as number[])[0]), 1, 'the body is cached after the first run');
    assert.equal(await redis.get('b'), 'x!');
    await redis.call('SCRIPT', 'FLUSH');
    assert.deepEqual(await swap.run(redis, { from: 'b', to: 'c' }, '?'), { kind: 'swapped', value: 'x!' });
    assert.equal(await redis.get('c'), 'x!?');
  });

  it('passes keys in the declared order whatever the object order, and names the reply code', async () => {
    await redis.set('k2', 'y');
    assert.deepEqual(await swap.run(redis, { to: 'k3', from: 'k2' }, ''), { kind: 'swapped', value: 'y' });
    assert.deepEqual(await swap.run(redis, { from: 'missing', to: 'k4' }, ''), { kind: 'unchanged' });
  });

  it('refuses a call without one of its keys', async () => {
    await assert.rejects(swap.run(redis, { from: 'a' } as unknown as { from: string; to: string }), /key "to" missing/);
  });

  it('runs a variadic script over any number of keys', async () => {
    const count = defineScript({ name: 'test-count', keys: 'variadic', lua: 'return #KEYS + #ARGV', parse: Number });
    assert.equal(await count.run(redis, ['x', 'y', 'z'], 1), 4);
  });

  it('surfaces script errors other than NOSCRIPT', async () => {
    const broken = defineScript({ name: 'test-broken', keys: [], lua: "return redis.call('NOSUCHCOMMAND')", parse: String });
    await assert.rejects(broken.run(redis, {}), /Unknown Redis command|unknown command/i);
  });
});

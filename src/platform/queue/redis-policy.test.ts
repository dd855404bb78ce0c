import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { startPrivateRedis, type PrivateRedis } from '../../../test/helpers/redis-server.ts';
import { checkQueueRedis, inspectQueueRedis, UnsafeQueueRedisError } from './redis-policy.ts';

let server: PrivateRedis;
let redis: Redis;
before(async () => {
  // A Redis set up as a cache: what the seed strategy used for everything.
  server = await startPrivateRedis({ args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] });
  redis = new Redis(server.url);
});
after(async () => {
  redis?.disconnect();
  await server?.destroy();
});

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('queue Redis check', () => {
  it('reports an evicting policy and no persistence', async () => {
    const report = await inspectQueueRedis(redis);
    assert.equal(report.maxmemoryPolicy, 'allkeys-lru');
    assert.equal(report.aofEnabled, false);
    assert.equal(report.problems.length, 1);
    assert.match(report.problems[0]!, /maxmemory-policy allkeys-lru.*noeviction/);
  });

  it('refuses to start in production when jobs could be evicted', async () => {
    await assert.rejects(checkQueueRedis(redis, { isProduction: true, logger: capture().logger }), UnsafeQueueRedisError);
  });

  it('logs an error outside production, and accepts the same server once set to noeviction', async () => {
    const { logger, lines } = capture();
    await checkQueueRedis(redis, { isProduction: false, logger });
    assert.ok(lines.some((line) => line.level === 50 && line.msg.startsWith('UNSAFE QUEUE REDIS')));
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    const report = await checkQueueRedis(redis, { isProduction: true, logger });
    assert.deepEqual(report.problems, []);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { and, eq, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { outbox } from '../platform/outbox/outbox.tables.ts';
import { startLocalRedis, type LocalService } from '../platform/local/local-stack.ts';
import { createLogger } from '../platform/logger/logger.ts';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';

describe('degrade mode while Redis is unreachable (private redis-server)', () => {
  const logger = createLogger({ level: 'silent' });
  let dir: string;
  let redis: LocalService & { port: number };
  let t: TestApp;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'salescale-mode-redis-'));
    redis = await startLocalRedis(dir, logger);
    t = await createTestApp({ REDIS_URL: redis.url, CLUSTER_HEARTBEAT_MS: '200' });
  });
  after(async () => {
    await t?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const mode = (method: 'GET' | 'PUT', payload?: object) => t.app.inject({ method, url: '/api/v1/admin/mode', headers: t.admin, ...(payload ? { payload } : {}) });

  it('keeps the last known mode, refuses a change with 503 MODE_STORE_UNAVAILABLE, and follows again when Redis returns', async () => {
    assert.equal((await mode('PUT', { mode: 'elevated' })).json().mode, 'elevated');
    await redis.stop();

    const refused = await mode('PUT', { mode: 'critical' });
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.json().error.code, 'MODE_STORE_UNAVAILABLE');
    const seen = await mode('GET');
    assert.equal(seen.statusCode, 200);
    assert.equal(seen.json().mode, 'elevated');
    assert.equal(seen.json().figures, null);
    assert.equal(seen.json().settings.rateLimitPercent, 75);

    redis = await startLocalRedis(dir, logger, { port: redis.port });
    const deadline = Date.now() + 15_000;
    while ((await mode('PUT', { mode: 'critical' })).statusCode !== 200) {
      if (Date.now() > deadline) throw new Error('mode store did not come back');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal((await mode('GET')).json().mode, 'critical');
  });

  it('a change made answers 200 with the new mode and queues its notice even when Redis refuses the next call', async () => {
    assert.equal((await mode('PUT', { mode: 'normal' })).statusCode, 200);
    // A blip right after the mode script ran: the same Redis now refuses the read that follows it
    // (ACL: the connection's user may no longer read the whole hash).
    const control = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await control.connect();
    try {
      await control.call('ACL', 'SETUSER', 'default', '-hgetall');
      const forced = await mode('PUT', { mode: 'critical', reason: 'blip test' });
      assert.equal(forced.statusCode, 200, forced.body);
      assert.equal(forced.json().mode, 'critical');
      assert.equal(forced.json().source, 'admin');
      assert.match(forced.json().reason, /blip test/);
    } finally {
      await control.call('ACL', 'SETUSER', 'default', '+@all');
      control.disconnect();
    }
    const notices = await t.platform.db.primary
      .select()
      .from(outbox)
      .where(and(eq(outbox.name, 'degrade-mode-changed'), sql`${outbox.data}->>'to' = 'critical'`, sql`${outbox.data}->>'from' = 'normal'`));
    assert.equal(notices.length, 1, 'the normal → critical transition notice');
  });
});

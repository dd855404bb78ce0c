import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalRedis, type LocalService } from '../../platform/local/local-stack.ts';
import { createLogger } from '../../platform/logger/logger.ts';
import { createAppWithRoutes, type AppWithRoutes } from '../../../test/helpers/app-with-routes.ts';

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('rate limits while Redis is unreachable (private redis-server)', () => {
  const logger = createLogger({ level: 'silent' });
  let dir: string;
  let redis: LocalService & { port: number };
  let t: AppWithRoutes;

  before(async () => {
    // Never the machine's Redis: other test files use it.
    dir = await mkdtemp(path.join(tmpdir(), 'salescale-rl-redis-'));
    redis = await startLocalRedis(dir, logger);
    t = await createAppWithRoutes({ REDIS_URL: redis.url, LOAD_SHED_ENABLED: 'false' }, (app) => {
      app.post('/test/attempt', { config: { rateLimit: { limiters: ['checkout'] } } }, async () => ({ placed: true }));
    });
  });
  after(async () => {
    await t?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const browse = () => t.app.inject({ method: 'GET', url: '/api/v1/categories' });
  const checkout = () => t.app.inject({ method: 'POST', url: '/test/attempt' });
  const metric = async (pattern: RegExp) => Number(pattern.exec((await t.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1] ?? 0);

  it('fails open for browsing and closed for checkout, counts both, and recovers when Redis returns', async () => {
    assert.equal((await browse()).statusCode, 200);
    assert.equal((await checkout()).statusCode, 200);

    await redis.stop();
    for (let i = 0; i < 3; i++) {
      const page = await browse();
      assert.equal(page.statusCode, 200, 'browsing still served');
      assert.equal(page.headers.ratelimit, undefined, 'no quota is claimed when it could not be checked');
    }
    const refused = await checkout();
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.json().error.code, 'RATE_LIMIT_UNAVAILABLE');
    assert.equal(refused.headers['retry-after'], '1');
    // Three pages and the refused checkout, whose `general` failed open.
    assert.equal(await metric(/rate_limit_redis_failures_total\{limiter="general",outcome="allowed"[^}]*\} (\d+)/), 4);
    assert.equal(await metric(/rate_limit_redis_failures_total\{limiter="checkout",outcome="refused"[^}]*\} (\d+)/), 1);
    // Each limiter's own outcome: `general` fails open, also on the request `checkout` refused.
    assert.equal(await metric(/rate_limit_redis_failures_total\{limiter="general",outcome="refused"[^}]*\} (\d+)/), 0, 'general never refuses when Redis is down');

    redis = await startLocalRedis(dir, logger, { port: redis.port });
    await until(async () => (await checkout()).statusCode === 200, 15_000);
    const page = await browse();
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers.ratelimit), /^"general";r=\d+;t=\d+$/);
  });
});

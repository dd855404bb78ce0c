import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createAppWithRoutes, type AppWithRoutes } from '../../../test/helpers/app-with-routes.ts';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import type { Json } from '../../../test/helpers/http.ts';

const WINDOW_S = 2;
/**
 * The p95 above which /health says degraded, and a slow request's time, both far from a fast request's few ms:
 * a loaded machine's pauses must not make the fast requests look slow.
 */
const P95_DEGRADED_MS = 500;
const SLOW_MS = 1000;

describe('/health', () => {
  let t: AppWithRoutes;
  let failNext = false;
  before(async () => {
    t = await createAppWithRoutes(
      { HEALTH_WINDOW_S: String(WINDOW_S), HEALTH_P95_DEGRADED_MS: String(P95_DEGRADED_MS), HEALTH_P99_DEGRADED_MS: '10000', HEALTH_P95_UNHEALTHY_MS: '10000', RATE_LIMIT_ENABLED: 'false' },
      (app) => {
        app.get('/test/slow', async () => {
          await sleep(SLOW_MS);
          return { ok: true };
        });
        app.get('/test/fast', async () => {
          if (failNext) throw new Error('deliberate failure');
          return { ok: true };
        });
      },
    );
  });
  after(() => t.close());

  const health = async (): Promise<Json> => {
    const reply = await t.app.inject({ method: 'GET', url: '/health' });
    assert.equal(reply.statusCode, 200, 'liveness always answers 200; /ready is what load balancers use');
    return reply.json();
  };

  it('reports healthy with the seed figures when idle', async () => {
    const body = await health();
    assert.equal(body.status, 'healthy');
    assert.deepEqual(body.reasons, []);
    assert.equal(body.windowSeconds, WINDOW_S);
    for (const key of ['p95', 'p99', 'average']) assert.equal(typeof body.responseTime[key], 'number');
    assert.equal(body.errorRate, 0);
    assert.equal(typeof body.uptime, 'number');
    assert.deepEqual(Object.keys(body.dbConnections).sort(), ['idle', 'max', 'total', 'waiting']);
    assert.equal(body.queueDepth, 0);
  });

  it('turns degraded when p95 crosses its threshold, and back once the window has passed', async () => {
    await Promise.all(Array.from({ length: 6 }, () => t.app.inject({ method: 'GET', url: '/test/slow' })));
    const slow = await health();
    assert.equal(slow.status, 'degraded');
    assert.ok(slow.responseTime.p95 > P95_DEGRADED_MS, `p95 ${slow.responseTime.p95}`);
    assert.match(slow.reasons.join(';'), new RegExp(`p95 \\d+ ms > ${P95_DEGRADED_MS} ms`));
    // Probes are not counted: polling /health must not dilute the figures it reports.
    assert.equal(slow.requests, 6);

    await sleep((WINDOW_S + 1) * 1000);
    for (let i = 0; i < 20; i++) await t.app.inject({ method: 'GET', url: '/test/fast' });
    const recovered = await health();
    assert.equal(recovered.status, 'healthy', JSON.stringify(recovered));
    assert.ok(recovered.responseTime.p95 <= P95_DEGRADED_MS, `p95 ${recovered.responseTime.p95}`);
  });

  it('turns unhealthy above the error-rate threshold and names it', async () => {
    await sleep((WINDOW_S + 1) * 1000);
    failNext = true;
    for (let i = 0; i < 10; i++) {
      const reply = await t.app.inject({ method: 'GET', url: '/test/fast' });
      assert.equal(reply.statusCode, 500);
      // The request id is in the header and in the error body.
      assert.equal(reply.json().error.requestId, reply.headers['x-request-id']);
    }
    failNext = false;
    const body = await health();
    assert.equal(body.status, 'unhealthy');
    assert.equal(body.errorRate, 100);
    assert.match(body.reasons.join(';'), /error rate 100 % > 5 %/);
  });
});

// A new release's web instance started before its migrations ran (the migrate job still running, or never run)
// answered /ready 200 while every route that reads a table of the release failed with 500: the load balancer sent it
// traffic. Behind the release's newest migration it is not ready; the database catching up makes it ready.
describe('/ready against a database behind this release', () => {
  let t: AppWithRoutes;
  before(async () => {
    t = await createAppWithRoutes({ RATE_LIMIT_ENABLED: 'false' }, () => {});
  });
  after(() => t.close());

  it('answers 503 with checks.schema "behind" until the newest migration is applied, then 200', async () => {
    const pool = t.platform.db.pools.primary;
    const { rows } = await pool.query<{ id: number; hash: string; created_at: string }>('DELETE FROM drizzle.__drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM drizzle.__drizzle_migrations) RETURNING id, hash, created_at');
    assert.equal(rows.length, 1);
    const behind = await t.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(behind.statusCode, 503, behind.body);
    assert.equal(behind.json().checks.schema, 'behind');
    await pool.query('INSERT INTO drizzle.__drizzle_migrations (id, hash, created_at) VALUES ($1, $2, $3)', [rows[0]!.id, rows[0]!.hash, rows[0]!.created_at]);
    const current = await t.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(current.statusCode, 200, current.body);
    assert.equal(current.json().checks.schema, 'up');
  });
});

// The cache is optional: without its Redis the catalog is read from PostgreSQL (`Cache.getOrSet`). A readiness probe
// failing on it took every instance out of the load balancer at once, turning a cache outage into a whole-site one.
describe('/ready with the cache Redis (CACHE_REDIS_URL) unreachable', () => {
  let t: TestApp;
  before(async () => {
    // Nothing listens there: connections are refused, as with a cache Redis that is down.
    t = await createTestApp({ RATE_LIMIT_ENABLED: 'false', CACHE_REDIS_URL: 'redis://127.0.0.1:4119' });
  });
  after(() => t?.close());

  it('stays ready, reporting checks.cacheRedis "down", while the catalog is served from PostgreSQL', async () => {
    const catalog = await t.app.inject({ method: 'GET', url: '/api/v1/products' });
    assert.equal(catalog.statusCode, 200, catalog.body);
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(ready.json().checks.cacheRedis, 'down', ready.body);
    assert.equal(ready.statusCode, 200, ready.body);
  });
});

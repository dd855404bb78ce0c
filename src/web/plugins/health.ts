import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { Database } from '../../platform/db/client.ts';
import type { Metrics } from '../../platform/metrics/metrics.ts';
import type { RecentRequests } from '../../platform/metrics/recent-requests.ts';
import type { LoadLevel } from '../../platform/load/load-shed.ts';

export interface Lifecycle {
  /** Set on SIGTERM: readiness answers 503 so the load balancer stops sending new requests. */
  draining: boolean;
  startedAt: number;
}

/** The seed strategy's thresholds: p95 < 500 ms and error rate < 1 % is healthy. */
export const HEALTH_THRESHOLDS = { degradedP95Ms: 500, unhealthyP95Ms: 2000, degradedErrorPercent: 1, unhealthyErrorPercent: 5 };

async function check(name: string, run: () => Promise<unknown>, timeoutMs: number): Promise<[string, 'up' | 'down']> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([run(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)))]);
    return [name, 'up'];
  } catch {
    return [name, 'down'];
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(deps: {
  db: Database;
  redis: Redis;
  cacheRedis: Redis;
  metrics: Metrics;
  recent: RecentRequests;
  lifecycle: Lifecycle;
  /** The load shedder's current level; `/ready` answers 503 while this instance sheds traffic. */
  loadLevel?: () => LoadLevel;
}): FastifyPluginAsync {
  return async (app) => {
    const hide = { schema: { hide: true } };

    // Liveness: answers 200 while the process can serve at all, so an orchestrator never restarts
    // instances for being busy; `status` tells how well it is doing.
    app.get('/health', hide, async () => {
      const recent = deps.recent.summary();
      const pool = deps.db.pools.primary;
      const status =
        recent.errorRatePercent > HEALTH_THRESHOLDS.unhealthyErrorPercent || recent.p95Ms > HEALTH_THRESHOLDS.unhealthyP95Ms
          ? 'unhealthy'
          : recent.errorRatePercent > HEALTH_THRESHOLDS.degradedErrorPercent || recent.p95Ms > HEALTH_THRESHOLDS.degradedP95Ms
            ? 'degraded'
            : 'healthy';
      return {
        status,
        responseTime: { p95: recent.p95Ms, average: Math.round(recent.averageMs * 100) / 100 },
        errorRate: Math.round(recent.errorRatePercent * 100) / 100,
        requestsPerSecond: Math.round(recent.requestsPerSecond * 100) / 100,
        dbConnections: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
        uptime: Math.round(process.uptime()),
      };
    });

    // Readiness: 503 while draining, while a dependency is unreachable, or while shedding load (so the
    // load balancer sends traffic elsewhere and the autoscaler sees an instance that cannot take more).
    app.get('/ready', hide, async (_request, reply) => {
      const checks = Object.fromEntries(
        await Promise.all([
          check('database', () => deps.db.ping(1000), 1500),
          check('redis', () => deps.redis.ping(), 1000),
          ...(deps.cacheRedis === deps.redis ? [] : [check('cacheRedis', () => deps.cacheRedis.ping(), 1000)]),
        ]),
      );
      const load = deps.loadLevel?.() ?? 'normal';
      const ready = !deps.lifecycle.draining && load === 'normal' && Object.values(checks).every((s) => s === 'up');
      const status = deps.lifecycle.draining ? 'draining' : ready ? 'ready' : load !== 'normal' ? 'overloaded' : 'unavailable';
      return reply.code(ready ? 200 : 503).send({ status, checks, load });
    });

    app.get('/metrics', hide, async (_request, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    });
  };
}

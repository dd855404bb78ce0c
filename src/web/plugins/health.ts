import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { Database } from '../../platform/db/client.ts';
import type { Metrics } from '../../platform/metrics/metrics.ts';
import type { RecentRequests } from '../../platform/metrics/recent-requests.ts';
import type { LoadLevel } from '../../platform/load/load-shed.ts';
import { getHealthStatus } from '../../platform/metrics/health-status.ts';
import type { HealthThresholds } from '../../platform/metrics/observability.config.ts';
import { isScrapeAuthorized } from '../../platform/metrics/scrape-auth.ts';
import type { QueueSet } from '../../platform/queue/queues.ts';
import { sendError } from '../../platform/http/error-reply.ts';
import { createSchemaCheck } from '../../platform/db/schema-state.ts';

export interface Lifecycle {
  /** Set on SIGTERM: readiness answers 503 so the load balancer stops sending new requests. */
  draining: boolean;
  startedAt: number;
}

/** Routes left out of the `/health` window: probes and scrapes would dilute the figures they report. */
export const PROBE_ROUTES: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics']);

const QUEUE_DEPTH_TIMEOUT_MS = 500;

/** Runnable backlog (waiting + prioritized) over every queue; undefined when Redis does not answer in time. */
async function getQueueDepth(queues: QueueSet | undefined): Promise<number | undefined> {
  if (!queues) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const counts = Promise.all(queues.all().map((queue) => queue.getJobCounts('waiting', 'prioritized')));
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), QUEUE_DEPTH_TIMEOUT_MS)));
  try {
    const result = await Promise.race([counts, timeout]);
    return result?.reduce((sum, c) => sum + (c.waiting ?? 0) + (c.prioritized ?? 0), 0);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

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
  /** The load shedder's current level, reported by `/ready` (which stays 200 while this instance sheds: see there). */
  loadLevel?: () => LoadLevel;
  /** `/health` thresholds (HEALTH_* variables). */
  thresholds: HealthThresholds;
  /** Queues whose backlog `/health` reports as `queueDepth`. */
  queues?: QueueSet;
  poolMax: number;
  /** False when METRICS_PORT serves `/metrics` on its own listener. @defaultValue true */
  serveMetrics?: boolean;
  /** METRICS_TOKEN: `/metrics` then requires `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** Without a token: whether anonymous requests may read `/metrics` here (METRICS_PUBLIC). @defaultValue true */
  metricsPublic?: boolean;
  /** Told when `/ready` finds a dependency down. */
  onDependencyDown?: () => void;
}): FastifyPluginAsync {
  return async (app) => {
    const hide = { schema: { hide: true } };
    const schema = createSchemaCheck(deps.db.pools.primary);
    const checkSchema = async (): Promise<[string, 'up' | 'behind'][]> => {
      const state = await schema();
      return state === undefined ? [] : [['schema', state]];
    };

    // Liveness: answers 200 while the process can serve at all, so an orchestrator never restarts
    // instances for being busy (load balancers use /ready); `status` tells how well it is doing,
    // judged by the seed strategy's thresholds over the recent window, and `reasons` says why.
    app.get('/health', hide, async () => {
      const recent = deps.recent.summary();
      const primary = deps.db.pools.primary;
      const pool = { total: primary.totalCount, idle: primary.idleCount, waiting: primary.waitingCount, max: deps.poolMax };
      const queueDepth = await getQueueDepth(deps.queues);
      const { status, reasons } = getHealthStatus({ recent, pool, queueDepth }, deps.thresholds);
      const round = (n: number) => Math.round(n * 100) / 100;
      return {
        status,
        reasons,
        windowSeconds: recent.windowSeconds,
        requests: recent.requests,
        responseTime: { p95: recent.p95Ms, p99: recent.p99Ms, average: round(recent.averageMs) },
        errorRate: round(recent.errorRatePercent),
        requestsPerSecond: round(recent.requestsPerSecond),
        dbConnections: pool,
        queueDepth: queueDepth ?? null,
        uptime: Math.round(process.uptime()),
      };
    });

    // Readiness: 503 while draining or while a dependency is unreachable. Shedding load does not make an instance
    // unready: at a sale's peak every instance sheds together, and a readiness probe failing on each took them all
    // out of the load balancer at once (a Kubernetes Service with no ready endpoint refuses everything; one taken
    // out pushes its traffic onto the rest, which then shed and go too: the cascade of the SRE book's "Addressing
    // Cascading Failures"). The shedder already refuses what the instance cannot take, cheaply, with Retry-After;
    // the autoscalers scale on CPU and request rate, not on readiness. `load` says how it is doing.
    // A new release's instance started before its migrations ran (its routes reading tables or columns not there yet,
    // 500 each) is not ready either: `schema` is `behind` until `migrate` has run.
    app.get('/ready', hide, async (_request, reply) => {
      const [dependencies, schemaChecks] = await Promise.all([
        Promise.all([
          check('database', () => deps.db.ping(1000), 1500),
          check('redis', () => deps.redis.ping(), 1000),
          ...(deps.cacheRedis === deps.redis ? [] : [check('cacheRedis', () => deps.cacheRedis.ping(), 1000)]),
        ]),
        checkSchema(),
      ]);
      const checks = Object.fromEntries([...dependencies, ...schemaChecks]);
      if (dependencies.some(([, s]) => s === 'down')) deps.onDependencyDown?.();
      const load = deps.loadLevel?.() ?? 'normal';
      // The cache's own Redis is reported, not required: without it the catalog reads PostgreSQL (one load per key and
      // process), and a probe failing on it took every instance out of the load balancer at once, a site-wide outage.
      const ready = !deps.lifecycle.draining && Object.entries(checks).every(([name, s]) => name === 'cacheRedis' || s === 'up');
      const status = deps.lifecycle.draining ? 'draining' : ready ? 'ready' : 'unavailable';
      return reply.code(ready ? 200 : 503).send({ status, checks, load });
    });

    if (deps.serveMetrics === false) return;
    app.get('/metrics', hide, async (request, reply) => {
      if (deps.metricsToken === undefined && deps.metricsPublic === false) {
        return sendError(reply, 403, 'METRICS_NOT_PUBLIC', 'metrics are not served on the public port: set METRICS_PORT, METRICS_TOKEN or METRICS_PUBLIC=true');
      }
      if (!isScrapeAuthorized(request.headers.authorization, deps.metricsToken)) {
        reply.header('www-authenticate', 'Bearer');
        return sendError(reply, 401, 'UNAUTHORIZED', 'a valid metrics token is required');
      }
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    });
  };
}

import { createServer, type Server } from 'node:http';
import type { Redis } from 'ioredis';
import type { Database } from '../platform/db/client.ts';
import type { Metrics } from '../platform/metrics/metrics.ts';
import { isScrapeAuthorized } from '../platform/metrics/scrape-auth.ts';
import { createSchemaCheck } from '../platform/db/schema-state.ts';

export interface WorkerHttpDeps {
  db: Database;
  redis: Redis;
  metrics: Metrics;
  /** METRICS_TOKEN: `/metrics` then requires `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** What /health reports; `draining` also turns /ready to 503. */
  status(): { draining: boolean; queues: Record<string, { running: boolean; concurrency: number }> };
}

async function up(run: () => Promise<unknown>, timeoutMs: number): Promise<'up' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([run(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)))]);
    return 'up';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The worker role's small HTTP server: `/health` (liveness: 200 while the process runs),
 * `/ready` (database and Redis reachable, the database not behind this release's migrations, not draining) and
 * `/metrics` (Prometheus).
 */
export function createWorkerHttpServer(deps: WorkerHttpDeps): Server {
  const schema = createSchemaCheck(deps.db.pools.primary);
  return createServer((request, response) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type });
      response.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') return send(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'GET only' } });
    if (path === '/health') {
      const status = deps.status();
      return send(200, { status: status.draining ? 'draining' : 'ok', queues: status.queues, uptime: Math.round(process.uptime()) });
    }
    if (path === '/ready') {
      void Promise.all([up(() => deps.db.ping(1000), 1500), up(() => deps.redis.ping(), 1000), schema()]).then(([database, redis, schemaState]) => {
        const draining = deps.status().draining;
        const ready = !draining && database === 'up' && redis === 'up' && schemaState !== 'behind';
        const checks = { database, redis, ...(schemaState === undefined ? {} : { schema: schemaState }) };
        send(ready ? 200 : 503, { status: draining ? 'draining' : ready ? 'ready' : 'unavailable', checks });
      });
      return;
    }
    if (path === '/metrics') {
      if (!isScrapeAuthorized(request.headers.authorization, deps.metricsToken)) {
        response.setHeader('www-authenticate', 'Bearer');
        return send(401, { error: { code: 'UNAUTHORIZED', message: 'a valid metrics token is required' } });
      }
      void deps.metrics.registry.metrics().then(
        (text) => send(200, text, deps.metrics.registry.contentType),
        (error: Error) => send(500, { error: { code: 'METRICS_FAILED', message: error.message } }),
      );
      return;
    }
    send(404, { error: { code: 'NOT_FOUND', message: `${path} does not exist` } });
  });
}

import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { FastifyValidationResult } from 'fastify/types/schema.js';
import type { Redis } from 'ioredis';
import { Type } from 'typebox';
import type { Logger } from 'pino';
import { catalogAdminRoutes, catalogRoutes, catalogSchemas, createCatalogService } from '../modules/catalog/index.ts';
import { requestCounter } from '../modules/analytics/index.ts';
import { sessionPlugin } from '../modules/customers/index.ts';
import { createLiveSaleCheck, createSaleEventService, saleEventAdminRoutes, saleEventSchemas } from '../modules/sale-events/index.ts';
import { createWaitingRoomFeature, waitingRoomSchemas } from '../modules/waiting-room/index.ts';
import { readCapacityRps } from './capacity.ts';
import type { Cache } from '../platform/cache/cache.ts';
import { requireServices, type AppConfig } from '../platform/config/config.ts';
import type { Database } from '../platform/db/client.ts';
import type { ClusterNode } from '../platform/cluster/cluster-node.ts';
import type { Metrics } from '../platform/metrics/metrics.ts';
import { RecentRequests } from '../platform/metrics/recent-requests.ts';
import { DependencyOutage } from '../platform/cluster/degrade-signals.ts';
import { createLoadMonitor } from '../platform/load/load-monitor.ts';
import { loadShedMetricsFor } from '../platform/load/load-shed.metrics.ts';
import { createDegradedPolicies } from '../platform/rate-limit/degraded-policies.ts';
import { createRateLimiter } from '../platform/rate-limit/limiter.ts';
import { rateLimitMetricsFor } from '../platform/rate-limit/rate-limit.metrics.ts';
import { queueMetricsFor } from '../platform/queue/queue-metrics.ts';
import { createQueueSet } from '../platform/queue/queues.ts';
import { closeRedis, createRedis } from '../platform/redis/redis.ts';
import { adminModeRoutes } from './admin-mode.routes.ts';
import { commerceSchemas, createCommerce, createStock } from './commerce.ts';
import { frameworkErrors, installErrorHandling } from './error-handler.ts';
import { addCommonResponses } from './http/common-responses.ts';
import { findUnstorableText } from './http/input-text.ts';
import { requireAdminToken } from './plugins/admin-auth.ts';
import { PROBE_ROUTES, healthRoutes, type Lifecycle } from './plugins/health.ts';
import { observability } from './plugins/observability.ts';
import { loadShedding } from './plugins/load-shedding.ts';
import { degradeMode } from './plugins/degrade-mode.ts';
import { rateLimit } from './plugins/rate-limit.ts';
import { QUEUE_BOARD_PATH, queueBoard } from './plugins/queue-board.ts';
import { ErrorResponse } from './http/schemas.ts';
import { browserSecurity } from './plugins/browser-security.ts';
import { storefrontRoutes } from './storefront/storefront.routes.ts';

export interface WebDeps {
  config: AppConfig;
  logger: Logger;
  db: Database;
  /** Queues, sessions, rate limits. */
  redis: Redis;
  /** Cache (may be the same server as `redis`). */
  cacheRedis: Redis;
  cache: Cache;
  metrics: Metrics;
  /** The cluster-wide degrade mode (cache TTLs, rate limits) and this instance's heartbeat. */
  cluster: ClusterNode;
}

export type App = FastifyInstance & { lifecycle: Lifecycle };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const NO_QUERY = Type.Object({}, { additionalProperties: false });
const OWN_QUERY_PREFIXES = ['/docs', QUEUE_BOARD_PATH];

function ajvFor(part: 'body' | 'other') {
  // Unknown fields are rejected, never silently stripped (Fastify's default strips them).
  // Query strings and params arrive as strings and are coerced; JSON bodies must have the right types.
  const options: AjvOptions = { removeAdditional: false, useDefaults: true, coerceTypes: part === 'body' ? false : 'array', allErrors: false, strict: false };
  const ajv = new Ajv(options);
  addFormats.default(ajv, ['date-time', 'email', 'uuid', 'uri']);
  return ajv;
}

/** Builds the web role's HTTP app without listening, so tests can `inject` or `listen` as they need. */
export async function buildServer(deps: WebDeps): Promise<App> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.http.bodyLimit,
    trustProxy: config.http.trustProxy.length > 0 ? config.http.trustProxy : false,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    // Requests in flight when closing finish; new ones on open connections get 503.
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { maxParamLength: 200 },
    // The router's own refusals (414 for a path parameter over maxParamLength, a malformed URL) in our error shape.
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Headers must be allowed to arrive for longer than a load balancer keeps an idle connection (60 s).
  app.server.headersTimeout = config.http.keepAliveTimeoutMs + 1000;

  const validators = { body: ajvFor('body'), other: ajvFor('other') };
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const validate = (httpPart === 'body' ? validators.body : validators.other).compile(schema);
    // Text PostgreSQL cannot store is refused for every part of every route, before its own schema.
    const check: FastifyValidationResult = (data: unknown) => {
      const unstorable = findUnstorableText(data);
      if (unstorable) {
        check.errors = [unstorable];
        return false;
      }
      const valid = validate(data);
      check.errors = validate.errors;
      return valid;
    };
    return check;
  });
  // No querystring schema means no query string: a route that takes none gets an empty strict
  // schema, so an unknown parameter (`?debug=1`, `__proto__[x]=1`) is a 400, never silently ignored.
  // The two third-party UIs (API docs, queue dashboard) read their own query strings.
  app.addHook('onRoute', (route) => {
    addCommonResponses(route, '/api/v1/admin');
    if (route.schema?.querystring !== undefined || OWN_QUERY_PREFIXES.some((prefix) => route.url.startsWith(prefix))) return;
    route.schema = { ...route.schema, querystring: NO_QUERY };
  });

  installErrorHandling(app);
  app.addSchema(ErrorResponse);
  for (const schema of [...catalogSchemas, ...saleEventSchemas, ...commerceSchemas, ...waitingRoomSchemas]) app.addSchema(schema);

  const recent = new RecentRequests({ windowSeconds: config.observability.health.windowSeconds });
  /** A dependency down for this instance, as its requests and `/ready` find: the degrade signal ignores that time. */
  const outage = new DependencyOutage();
  const lifecycle: Lifecycle = { draining: false, startedAt: Date.now() };
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onSend', async (_request, reply) => {
    // While draining, tell keep-alive clients to reconnect (to an instance that is staying).
    if (lifecycle.draining) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const durationMs = reply.elapsedTime;
    deps.metrics.httpDuration.observe({ route, method: request.method, status_code: String(reply.statusCode) }, durationMs / 1000);
    if (!PROBE_ROUTES.has(route)) recent.record(durationMs, reply.statusCode);
    request.log.info({ method: request.method, route, url: request.url, status: reply.statusCode, durationMs: Math.round(durationMs * 100) / 100 }, 'request');
  });

  await app.register(browserSecurity({ corsOrigins: config.http.corsOrigins, production: config.isProduction, inlineStylePaths: [QUEUE_BOARD_PATH] }));
  if (config.http.apiDocs) {
    await app.register(swagger, {
      openapi: {
        info: { title: 'Salescale API', version: '1', description: 'A sale-ready e-commerce backend.' },
        components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_API_TOKEN' } } },
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    });
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  }

  // Shed load first (cheapest refusal), then rate limits; both skip health, readiness, metrics and docs.
  const loadMonitor = config.loadShed.enabled ? createLoadMonitor(config.loadShed) : undefined;
  if (loadMonitor) {
    await app.register(loadShedding({ monitor: loadMonitor, metrics: loadShedMetricsFor(deps.metrics.registry, loadMonitor, config.loadShed.thresholds) }));
  }
  const degradedPolicies = createDegradedPolicies(config.rateLimit.policies);
  const liveSale = createLiveSaleCheck({ db: deps.db, refreshMs: config.rateLimit.saleRefreshMs, logger: deps.logger });
  // Sessions, limits, carts, stock gate, idempotency: a connection that tolerates a busy event loop.
  const stateRedis = createRedis(requireServices(config).redisUrl, { name: 'salescale-web-state', role: 'state', logger: deps.logger });
  app.addHook('onClose', () => closeRedis(stateRedis));
  const limiter = config.rateLimit.enabled ? createRateLimiter({ redis: stateRedis, prefix: config.redis.prefix }) : undefined;
  const stock = createStock({ ...deps, redis: stateRedis });
  const catalog = createCatalogService({
    db: deps.db,
    cache: deps.cache,
    ttls: () => deps.cluster.settings().cacheTtl,
    stock: stock.view,
    stockShards: config.checkout.stockShards,
  });
  const saleEvents = createSaleEventService({ db: deps.db });
  const waitingRoom = createWaitingRoomFeature({
    config: config.waitingRoom,
    prefix: config.redis.prefix,
    redisUrl: requireServices(config).redisUrl,
    redis: stateRedis,
    sessionSecret: config.secrets.sessionSecret,
    secureCookies: config.isProduction,
    gate: stock.gate,
    listWaitingRooms: saleEvents.listWaitingRooms,
    liveWebInstances: () => deps.cluster.liveInstances().web,
    capacityRps: await readCapacityRps(config.waitingRoom.capacityRps, deps.logger),
    registry: deps.metrics.registry,
    logger: deps.logger,
  });
  await app.register(waitingRoom.plugin);
  const commerce = createCommerce({
    ...deps,
    redis: stateRedis,
    catalog,
    gate: stock.gate,
    hints: stock.view,
    limiter,
    loginPolicy: () => degradedPolicies(deps.cluster.settings().rateLimitPercent).login,
    admission: waitingRoom.checkout,
  });
  // Sessions resolve before rate limits: signed-in buyers are limited per customer, not per address.
  await app.register(sessionPlugin({ sessions: commerce.sessions, secure: config.isProduction, ttlS: config.customers.sessionTtlS }));
  if (limiter) {
    await app.register(
      rateLimit({
        limiter,
        customerIdOf: (request) => (request.customerId === undefined ? undefined : String(request.customerId)),
        policies: () => degradedPolicies(deps.cluster.settings().rateLimitPercent),
        sale: liveSale,
        metrics: rateLimitMetricsFor(deps.metrics.registry),
        logger: deps.logger,
      }),
    );
  }

  // Queues for the dashboard and the depth gauges; the web role itself enqueues through the outbox.
  // Their own connection of the `queue` role: BullMQ initialises a queue with commands that, on a
  // fast-fail connection not yet connected, fail for good (the gauges then never appeared).
  const queueRedis = createRedis(requireServices(config).redisUrl, { name: 'salescale-web-queues', role: 'queue', logger: deps.logger });
  const queues = createQueueSet({ connection: queueRedis, redisPrefix: config.redis.prefix, overrides: { attempts: config.queues.attempts, backoffMs: config.queues.backoffMs } });
  app.addHook('onClose', async () => {
    await queues.close();
    await closeRedis(queueRedis);
  });
  const queueMetrics = queueMetricsFor(deps.metrics.registry);
  queueMetrics.observeQueues(queues);
  queueMetrics.observeOutbox(deps.db.pools.primary);
  const { observability: obs } = config;
  await app.register(
    healthRoutes({
      ...deps,
      recent,
      lifecycle,
      loadLevel: loadMonitor?.level,
      queues,
      poolMax: config.db.poolMax,
      thresholds: obs.health.thresholds,
      serveMetrics: obs.metricsPort === 0,
      metricsToken: obs.metricsToken,
      metricsPublic: obs.metricsPublic,
      onDependencyDown: () => outage.report(),
    }),
  );
  await app.register(
    observability({
      metrics: deps.metrics,
      redis: deps.redis,
      prefix: config.redis.prefix,
      liveSale,
      databaseConnections: () => deps.db.pools.primary.totalCount,
      instanceId: config.instanceId,
      emf: obs.emf,
    }),
  );
  await app.register(queueBoard({ queues, adminToken: config.secrets.adminApiToken }));
  await app.register(requestCounter({ db: deps.db, logger: deps.logger, flushIntervalMs: config.analytics.flushIntervalMs }));

  await app.register(degradeMode({ cluster: deps.cluster, windowSeconds: config.cluster.windowSeconds, outage }));

  await app.register(
    async (api) => {
      await api.register(catalogRoutes(catalog));
      await api.register(commerce.routes);
      await api.register(waitingRoom.routes);
      await api.register(
        async (admin) => {
          admin.addHook('onRequest', requireAdminToken(config.secrets.adminApiToken));
          await admin.register(catalogAdminRoutes(catalog));
          await admin.register(commerce.adminRoutes);
          await admin.register(saleEventAdminRoutes(saleEvents));
          await admin.register(adminModeRoutes(deps.cluster));
        },
        { prefix: '/admin' },
      );
    },
    { prefix: '/api/v1' },
  );
  await app.register(storefrontRoutes({ catalog, listSales: () => saleEvents.list() }));

  return Object.assign(app, { lifecycle }) as unknown as App;
}

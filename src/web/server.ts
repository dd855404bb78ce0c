import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { errorCodes, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { FastifyValidationResult } from 'fastify/types/schema.js';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { requestCounter } from '../modules/analytics/index.ts';
import { auditAdminRoutes } from '../modules/audit/http.ts';
import { adminAuditTrail } from '../modules/audit/index.ts';
import { Cart, CartMerge, cartRoutes } from '../modules/cart/http.ts';
import { catalogAdminRoutes, catalogRoutes, catalogSchemas } from '../modules/catalog/http.ts';
import { Customer, customerRoutes } from '../modules/customers/http.ts';
import { sessionPlugin } from '../modules/customers/index.ts';
import { Order, orderAdminRoutes, orderRoutes } from '../modules/orders/http.ts';
import { paymentAdminRoutes, paymentRoutes } from '../modules/payments/http.ts';
import { saleEventAdminRoutes, saleEventSchemas } from '../modules/sale-events/http.ts';
import { waitingRoomSchemas } from '../modules/waiting-room/index.ts';
import { DependencyOutage } from '../platform/cluster/degrade-signals.ts';
import { loadShedMetricsFor } from '../platform/load/load-shed.metrics.ts';
import { RecentRequests } from '../platform/metrics/recent-requests.ts';
import { isTracingStarted, sampledSpanIds } from '../platform/telemetry/trace-context.ts';
import { rateLimitMetricsFor } from '../platform/rate-limit/rate-limit.metrics.ts';
import { adminModeRoutes } from './admin-mode.routes.ts';
import type { WebServices } from './compose.ts';
import { ALL_METHODS, answerExpectationFailed, createClientErrorAnswer, createFrameworkErrors, installErrorHandling } from './error-handler.ts';
import { getEdgeClientAddress, getForwardedClientAddress, getProxyTrust, useEdgeClientAddress } from '../platform/http/client-address.ts';
import { addCommonResponses } from '../platform/http/common-responses.ts';
import { refuseContentEncoding } from '../platform/http/content-encoding.ts';
import { findUnstorableText } from '../platform/http/input-text.ts';
import { readsBody, refuseBodyWithoutSchema } from '../platform/http/no-body.ts';
import { findHostProblem } from '../platform/http/request-host.ts';
import { findMalformedParameter, hasMalformedQuery } from '../platform/http/query-encoding.ts';
import { isLongLivedReply } from '../platform/http/long-lived.ts';
import { createSchemaCompiler } from '../platform/http/validation.ts';
import { onReplyDone, ReplyDoneLogController } from '../platform/http/reply-done.ts';
import { sendError } from '../platform/http/error-reply.ts';
import { holdsAdminToken, requireAdminToken } from './plugins/admin-auth.ts';
import { PROBE_ROUTES, healthRoutes, type Lifecycle } from './plugins/health.ts';
import { observability } from './plugins/observability.ts';
import { loadShedding } from './plugins/load-shedding.ts';
import { degradeMode } from './plugins/degrade-mode.ts';
import { rateLimit } from './plugins/rate-limit.ts';
import { QUEUE_BOARD_PATH, queueBoard } from './plugins/queue-board.ts';
import { ErrorResponse } from '../platform/http/schemas.ts';
import { browserSecurity, getEveryReplyHeaders, refuseCrossSite } from './plugins/browser-security.ts';
import { shopNotFoundPage, storefrontRoutes } from './storefront/storefront.routes.ts';
import { redactUrl } from '../platform/logger/redact-url.ts';
import { InvalidInputError } from '../shared/errors.ts';

export type App = FastifyInstance & { lifecycle: Lifecycle };

/** The composed services' connections close with the app, after every other plugin's onClose. */
function releaseOnClose(web: WebServices) {
  return fp(
    async (app) => {
      app.addHook('onClose', () => web.close());
    },
    { name: 'salescale-web-services', fastify: '5.x' },
  );
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's id: the caller's `X-Request-Id` when it is sane (a load balancer's), else a new one. */
function getRequestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

const NO_QUERY = Type.Object({}, { additionalProperties: false });

/**
 * The parameters a page reads, when `querystring` is a page's schema (one that admits any other parameter, as
 * the storefront's do); undefined for every other route, whose whole query string is its input.
 */
function getPageParameters(querystring: unknown): ReadonlySet<string> | undefined {
  const schema = querystring as { additionalProperties?: unknown; properties?: object } | undefined;
  if (schema?.additionalProperties !== true) return undefined;
  return new Set(Object.keys(schema.properties ?? {}));
}
const OWN_QUERY_PREFIXES = ['/docs', QUEUE_BOARD_PATH];

/**
 * Builds the web role's HTTP app without listening, so tests can `inject` or `listen` as they need.
 * Only registers plugins and routes: connections, repositories and services come composed
 * (`composeWeb`), and are released when the app closes.
 */
export async function buildServer(web: WebServices): Promise<App> {
  const deps = web.platform;
  const { config } = deps;
  const everyReply = getEveryReplyHeaders(config.isProduction);
  // Built before the app: the router's refusals (`frameworkErrors`) are counted against the limits too.
  const { loadMonitor, limiter } = web;
  const isAdmin = holdsAdminToken(config.secrets.adminApiToken);
  const trustProxy = getProxyTrust(config.http.trustProxy);
  const { clientAddressHeader } = config.http;
  const limits =
    limiter &&
    rateLimit({
      limiter,
      customerIdOf: (request) => (request.customerId === undefined ? undefined : String(request.customerId)),
      // The admin API, only with its token: without it, /admin requests count as any other (no free guessing).
      exempt: (request) => request.routeOptions.url?.startsWith('/api/v1/admin/') === true && isAdmin(request),
      policies: web.policies,
      sale: web.liveSale,
      metrics: rateLimitMetricsFor(deps.metrics.registry),
      logger: deps.logger,
    });
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Runs the reply-done handlers (metrics, the `request` log line) for every request, the router's refusals included.
    logController: new ReplyDoneLogController({ disableRequestLogging: true }),
    bodyLimit: config.http.bodyLimit,
    trustProxy,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    // The whole request (headers and body) must arrive within this: a client that stops sending
    // halfway gets 408 instead of holding its connection for good (Fastify's default is no limit).
    requestTimeout: config.http.requestTimeoutMs,
    // Requests in flight when closing finish; new ones on open connections get 503 (`refuseWhileClosing`: Fastify's
    // own 503 had neither Retry-After nor the error body, and refused payment webhooks too).
    return503OnClosing: false,
    requestIdHeader: false,
    genReqId: getRequestId,
    routerOptions: { maxParamLength: 200 },
    // The router's own refusals (414 for a path parameter over maxParamLength, a malformed URL) in our error shape.
    // Fastify builds the request of a URL its router refuses without `trustProxy` and runs no hook on it (so neither
    // CLIENT_ADDRESS_HEADER's): its `ip` was the load balancer's, and every client's refused URLs spent one budget.
    frameworkErrors: createFrameworkErrors(everyReply, limits?.limit, (raw) =>
      clientAddressHeader !== undefined
        ? (getEdgeClientAddress(raw.headers, clientAddressHeader) ?? raw.socket.remoteAddress)
        : trustProxy === false
          ? raw.socket.remoteAddress
          : getForwardedClientAddress(raw, trustProxy),
    ),
    // What Node's HTTP parser refuses (bad Content-Length, bad chunks, oversized headers, timeouts), in our error shape.
    clientErrorHandler: createClientErrorAnswer(everyReply),
    http: {
      // Node's own Host check answers a bare 400 before Fastify; `findHostProblem` answers it in the error shape.
      requireHostHeader: false,
      // Node looks for requests past requestTimeout (and headersTimeout) only every connectionsCheckingInterval, 30 s by
      // default: a stalled client got its 408 up to 30 s late (29 s with REQUEST_TIMEOUT_MS=1000). Ten looks per limit
      // bound the delay to a tenth of it; a look walks the open connections, a few thousand at most per instance.
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(config.http.requestTimeoutMs / 10))),
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Bodies are JSON. Fastify also parses text/plain, so a JSON body sent as text/plain reached the schema as a string
  // ("must be object", 400) where text/xml is a 415: text/plain is a 415 too. An empty text/plain body (`fetch` with
  // `body: ''`) is no body, as none is. (Payment webhooks and the queue dashboard parse their own bodies.)
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') done(null, undefined);
    else done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), undefined);
  });
  // An empty (or whitespace-only) body sent as application/json (a bodiless POST of several mobile HTTP libraries: OkHttp's empty request
  // body, Alamofire's JSON encoding of no parameters) is no body on a route that reads none, as no body or `{}` is
  // (`refuseBodyWithoutSchema`); Fastify's own JSON parser refused it 400 EMPTY_JSON_BODY on every route, before the
  // route was considered. A route with a body schema still answers that. Anything else is Fastify's parser, with the
  // app's prototype-poisoning settings. The body must be UTF-8 (RFC 8259 §8.1: a charset parameter has no effect):
  // decoded as a string, a Latin-1 body (a legacy system's sync) became U+FFFD wherever it was not, and was stored so.
  const parseJson = app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if (!isUtf8(body as Buffer)) {
      done(new InvalidInputError('BODY_NOT_UTF8', 'the body is not UTF-8: JSON is read as UTF-8 (RFC 8259), whatever charset the Content-Type names'), undefined);
      return;
    }
    const text = (body as Buffer).toString('utf8');
    if (/^[ \t\r\n]*$/.test(text) && !readsBody(request.routeOptions.schema)) done(null, undefined);
    else parseJson(request, text, done);
  });
  if (clientAddressHeader !== undefined) useEdgeClientAddress(app, clientAddressHeader);
  // Headers must be allowed to arrive for longer than a load balancer keeps an idle connection (60 s).
  // (Never longer than the whole request may take.)
  app.server.headersTimeout = Math.min(config.http.keepAliveTimeoutMs + 1000, config.http.requestTimeoutMs);
  // An `Expect` other than 100-continue never reaches Fastify: Node answers it, a bare 417, unless this listens.
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => answerExpectationFailed(response, getRequestId(request), everyReply));

  const compileSchema = createSchemaCompiler();
  app.setValidatorCompiler((route) => {
    const validate = compileSchema(route);
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
  // Likewise no body schema means no body (`refuseBodyWithoutSchema`), but for routes that read theirs themselves.
  app.addHook('onRoute', (route) => {
    addCommonResponses(route, '/api/v1/admin');
    const ownInput = OWN_QUERY_PREFIXES.some((prefix) => route.url.startsWith(prefix));
    refuseBodyWithoutSchema(route, ownInput || route.config?.anyContentType === true);
    if (route.schema?.querystring !== undefined || ownInput) return;
    route.schema = { ...route.schema, querystring: NO_QUERY };
  });

  await app.register(releaseOnClose(web));
  // The first hook: every reply, the refusals of the hooks after it included, carries the request id, the security
  // headers and `Cache-Control: no-store` (which a route may replace). One `headers` call for all of them.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(everyReply).header('x-request-id', request.id);
    done();
  });
  // A body in a content coding (gzip, br, …) is 415 before it is read, on every route, the payment webhooks included.
  refuseContentEncoding(app);
  // A browser following a dead link to a page gets the shop's 404 page; the API and other clients the JSON 404.
  installErrorHandling(app, { notFoundPage: shopNotFoundPage });
  refuseWhileClosing(app);
  app.addSchema(ErrorResponse);
  for (const schema of [...catalogSchemas, ...saleEventSchemas, Customer, Cart, CartMerge, Order, ...waitingRoomSchemas]) app.addSchema(schema);

  const recent = new RecentRequests({ windowSeconds: config.observability.health.windowSeconds });
  /** A dependency down for this instance, as its requests and `/ready` find: the degrade signal ignores that time. */
  const outage = new DependencyOutage();
  const lifecycle: Lifecycle = { draining: false, startedAt: Date.now() };
  if (isTracingStarted()) {
    // A traced request's log lines carry its trace (`traceId`, `spanId`): an error line leads to the trace that shows
    // where the time went. The request span is active here (@fastify/otel's onRequest hook runs first).
    app.addHook('onRequest', async (request, reply) => {
      const ids = sampledSpanIds();
      if (ids) reply.log = request.log = request.log.child(ids);
    });
  }
  app.addHook('onSend', async (_request, reply) => {
    // While draining, tell keep-alive clients to reconnect (to an instance that is staying).
    if (lifecycle.draining) reply.header('connection', 'close');
  });
  onReplyDone(app, (request, reply, abandoned, durationMs) => {
    const route = request.routeOptions.url ?? 'unmatched';
    // A waiting-room event stream lasts as long as its visitor waits: not request latency (its lifetime
    // has metrics of its own). The log line keeps it.
    if (!isLongLivedReply(request, reply)) {
      deps.metrics.httpDuration.observe({ route, method: request.method, status_code: String(reply.statusCode) }, durationMs / 1000);
      if (!PROBE_ROUTES.has(route)) recent.record(durationMs, reply.statusCode);
    }
    const fields = { method: request.method, route, url: redactUrl(request.url, request.routeOptions.url), status: reply.statusCode, durationMs: Math.round(durationMs * 100) / 100 };
    request.log.info(abandoned ? { ...fields, abandoned } : fields, 'request');
  });

  await app.register(
    browserSecurity({ corsOrigins: config.http.corsOrigins, production: config.isProduction, shopUrl: config.mail.shopUrl, inlineStylePaths: [QUEUE_BOARD_PATH], setHeaders: false, crossSiteCheck: false }),
  );
  if (config.http.apiDocs) {
    await app.register(swagger, {
      openapi: {
        info: { title: 'Salescale API', version: '1', description: 'A sale-ready e-commerce backend.' },
        components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_API_TOKEN' } } },
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    });
    // Swagger UI's own CSP says frame-ancestors 'self'; nothing of the app frames /docs, and X-Frame-Options (the
    // global headers) says DENY: its CSP says the same, so that every browser refuses to frame it alike.
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: true,
      // Whatever frame-ancestors Swagger UI writes (today 'self'), or none: removed, and 'none' said once.
      transformStaticCSP: (header) =>
        [...header.split(';').map((directive) => directive.trim()).filter((directive) => directive !== '' && !/^frame-ancestors(\s|$)/i.test(directive)), "frame-ancestors 'none'"].join('; '),
    });
  }

  // Shed load first (cheapest refusal), then rate limits; both skip health, readiness, metrics and docs.
  if (loadMonitor) {
    await app.register(loadShedding({ monitor: loadMonitor, metrics: loadShedMetricsFor(deps.metrics.registry, loadMonitor, config.loadShed.thresholds) }));
  }
  await app.register(web.waitingRoom.plugin);
  // Sessions resolve before rate limits (the rate-limit plugin depends on the sessions plugin):
  // signed-in buyers are limited per customer, not per address.
  await app.register(sessionPlugin({ sessions: web.sessions, secure: config.isProduction, ttlS: config.customers.sessionTtlS }));
  if (limits) await app.register(limits);
  // The request-target, Host and cross-site checks refuse after the rate limits, never before: every refusal of a request Fastify
  // routes spends the client's budget in that one step (a refusal answered first could be sent without end, and each
  // counts in the cluster's requests/min, which the degrade signal trusts no client to push past its limit).
  // (The router's refusals, which run no hook, call the same `limit`: `createFrameworkErrors`.)
  app.addHook('onRequest', (request, reply, done) => {
    const hostProblem = findHostProblem(request.raw);
    if (hostProblem === undefined) {
      if (request.raw.url !== '*') return done();
      // Asterisk-form (RFC 9112 §3.2.4) names the server as a whole, for OPTIONS only. The router took it for `/`:
      // GET * was the storefront's home page, OPTIONS * a 405 allowing GET and HEAD.
      if (request.raw.method === 'OPTIONS') return reply.code(204).header('allow', ALL_METHODS.join(', ')).send();
      return sendError(reply, 400, 'BAD_URL', 'an asterisk-form request target (*) is only for OPTIONS');
    }
    // As for Node's own refusals (`createClientErrorAnswer`): the connection's next bytes are not to be trusted.
    reply.header('connection', 'close');
    sendError(reply, 400, 'MALFORMED_REQUEST', hostProblem);
  });
  // Before any body is read. Not the client's own attempt (a page of another site can make a browser send it): it
  // spends a unit of `general`, `customer` and `sale`, not of `login` or `checkout`.
  app.addHook('onRequest', refuseCrossSite({ corsOrigins: config.http.corsOrigins, shopUrl: config.mail.shopUrl, onRefused: limits?.forgiveAttempt }));
  app.addHook('onRequest', (request, reply, done) => {
    if (!hasMalformedQuery(request.url)) return done();
    const pageReads = getPageParameters(request.routeOptions.schema?.querystring);
    // As the router answers a malformed percent-encoding in the path (`frameworkErrors`).
    if (pageReads === undefined) return sendError(reply, 400, 'BAD_URL', 'the request URL is malformed');
    // A page (the storefront's) ignores the parameters it does not read, malformed or not (a campaign's
    // `utm_campaign=50%off`); one it reads is refused as its schema refuses it, so the page answers with a page.
    const malformed = findMalformedParameter(request.url, pageReads);
    if (malformed === undefined) return done();
    const issue = { instancePath: `/${malformed}`, schemaPath: '#/format', keyword: 'format', params: {}, message: 'must be correctly percent-encoded' };
    done(Object.assign(new Error('request querystring is invalid'), { statusCode: 400, validation: [issue], validationContext: 'querystring' }));
  });

  const { observability: obs } = config;
  await app.register(
    healthRoutes({
      ...deps,
      recent,
      lifecycle,
      loadLevel: loadMonitor?.level,
      queues: web.queues,
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
      liveSale: web.liveSale,
      databaseConnections: () => deps.db.pools.primary.totalCount,
      instanceId: config.instanceId,
      emf: obs.emf,
    }),
  );
  // The audit trail is registered in two scopes (the dashboard's, the admin API's); its writes in flight are awaited
  // once, here, when the app closes.
  app.addHook('onClose', () => web.audit.settle());
  await app.register(queueBoard({ queues: web.queues, adminToken: config.secrets.adminApiToken, audit: web.audit }));
  await app.register(requestCounter({ db: deps.db, logger: deps.logger, flushIntervalMs: config.analytics.flushIntervalMs, whenDone: onReplyDone }));

  await app.register(degradeMode({ cluster: deps.cluster, windowSeconds: config.cluster.windowSeconds, outage }));

  await app.register(
    async (api) => {
      await api.register(catalogRoutes(web.catalog));
      await api.register(
        customerRoutes(web.customers, {
          secureCookies: config.isProduction,
          sessionTtlS: config.customers.sessionTtlS,
          devices: web.devices,
          accountDigest: web.accountDigest,
          afterSignIn: async (request, reply, customerId) => {
            const guest = web.guests.read(request);
            if (!guest) return undefined;
            const merge = await web.cart.mergeGuest(guest, customerId);
            // A guest cart still holding lines (they did not fit, or were added meanwhile) keeps its cookie.
            if (merge === undefined || merge.guestCartEmpty) web.guests.clear(reply);
            return merge?.report;
          },
          afterSignOut: web.waitingRoom.renewVisitor,
        }),
      );
      await api.register(cartRoutes(web.cart, web.guests));
      await api.register(
        orderRoutes({
          orders: web.orders,
          cart: web.cart,
          idempotency: web.idempotency,
          admission: web.waitingRoom.checkout,
          guests: { cookies: web.guests, existingCustomerIdFor: (email) => web.customers.existingGuestId(email), links: web.guestLinks },
        }),
      );
      await api.register(paymentRoutes({ payments: web.payments, provider: web.paymentProvider, guestLinks: web.guestLinks }));
      await api.register(web.waitingRoom.routes);
      await api.register(
        async (admin) => {
          // The operator's console during an overload (force a degrade mode, pause a sale): never shed. Its
          // traffic is tiny, and a request without the token costs one comparison (the 401 below).
          admin.addHook('onRoute', (route) => {
            route.config = { ...route.config, shed: false };
          });
          admin.addHook('onRequest', requireAdminToken(config.secrets.adminApiToken));
          // After the token check: who did what, for every successful mutation below (log line and admin_actions row).
          await admin.register(adminAuditTrail(web.audit));
          await admin.register(catalogAdminRoutes(web.catalog));
          await admin.register(orderAdminRoutes(web.orders));
          await admin.register(paymentAdminRoutes(web.payments));
          await admin.register(
            saleEventAdminRoutes(web.saleEvents, {
              waitingRoomChanged: (saleEvent) => web.waitingRoom.room.holdAdmission(saleEvent.id, saleEvent.waitingRoom.enabled && saleEvent.waitingRoom.paused),
            }),
          );
          await admin.register(adminModeRoutes(deps.cluster));
          await admin.register(auditAdminRoutes(web.audit));
        },
        { prefix: '/admin' },
      );
    },
    { prefix: '/api/v1' },
  );
  await app.register(storefrontRoutes({ catalog: web.catalog, listSales: () => web.saleEvents.listCurrent(new Date()), ensureVisitor: web.waitingRoom.ensureVisitor, queuedSale: (id) => web.waitingRoom.queuedSale(id) }));

  return Object.assign(app, { lifecycle }) as unknown as App;
}

/**
 * Once the app is closing, a request that still arrives (on a keep-alive connection busy with a request in flight,
 * e.g. a load balancer's reused upstream connection) is refused like every other 503 of the API: `SHUTTING_DOWN`
 * with `Retry-After`, and `Connection: close` (Fastify sets it), so the client retries on another instance. Probes
 * and routes that are never shed (payment webhooks, the admin API) are still served: the platform closes only
 * after the last request, and a refused webhook comes back only minutes later.
 */
function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (!closing || request.routeOptions.config?.shed === false || PROBE_ROUTES.has(request.routeOptions.url ?? '')) return done();
    sendError(reply, 503, 'SHUTTING_DOWN', 'this instance is shutting down, please retry');
  });
}

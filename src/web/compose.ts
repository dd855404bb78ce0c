import type { Redis } from 'ioredis';
import { createAuditRepository, createAuditService } from '../modules/audit/index.ts';
import { createCartService, createCartStore, createGuestCookies } from '../modules/cart/index.ts';
import { createCatalogRepository, createCatalogService } from '../modules/catalog/index.ts';
import { createAccountDigest, createCustomerService, createCustomersRepository, createDeviceCookies, createLoginGuard, createPasswordGate, createSessionStore, noLoginGuard } from '../modules/customers/index.ts';
import { createInventoryRepository, createStockGate, createStockView, listenForStockViewNotices, publishingStockGate, stockViewNoticeCounterFor } from '../modules/inventory/index.ts';
import { checkoutMetricsFor, createGuestOrderLinks, createOrderBatcher, createOrderLifecycleRepository, createOrderService, createOrdersRepository, getUnitsHeldByUnpaidOrders } from '../modules/orders/index.ts';
import { createPaymentProvider, createPaymentService, createPaymentsRepository, paymentMetricsFor } from '../modules/payments/index.ts';
import { createLiveSaleCheck, createSaleEventService } from '../modules/sale-events/index.ts';
import { createWaitingRoomFeature, createWaitingRoomRepository } from '../modules/waiting-room/index.ts';
import { requireServices } from '../platform/config/config.ts';
import { createReplicaReads } from '../platform/db/replica-reads.ts';
import { createIdempotencyStore } from '../platform/idempotency/idempotency-store.ts';
import { createLoadMonitor } from '../platform/load/load-monitor.ts';
import { REDIS_START_WAIT_MS, type Platform } from '../platform/platform.ts';
import { queueMetricsFor } from '../platform/queue/queue-metrics.ts';
import { createQueueSet, type QueueSet } from '../platform/queue/queues.ts';
import { createDegradedPolicies } from '../platform/rate-limit/degraded-policies.ts';
import { createRateLimiter } from '../platform/rate-limit/limiter.ts';
import { checkSelectedDatabases, closeRedis, createRedis, onServerRestart } from '../platform/redis/redis.ts';
import { readCapacityRps } from './capacity.ts';
import { CLOSE_STEP_MS, settlesWithin } from '../shared/settles-within.ts';

/**
 * The web role's composition root: every connection the role holds beyond the platform's is opened
 * here once, every repository is built here once, and services receive them. `buildServer` only
 * registers plugins and routes with what this returns. Close with `close()` (the server's
 * `salescale-web-services` plugin does it when the app closes).
 */
export async function composeWeb(platform: Platform) {
  const { config, db, logger, metrics, cluster } = platform;
  const redisUrl = requireServices(config).redisUrl;
  const prefix = config.redis.prefix;

  // Sessions, limits, carts, stock gate, idempotency: a connection that tolerates a busy event loop.
  const stateRedis: Redis = createRedis(redisUrl, { name: 'salescale-web-state', role: 'state', logger, tlsVerify: config.redis.tlsVerify });
  // Queues for the dashboard and the depth gauges; the web role itself enqueues through the outbox.
  // Their own connection of the `queue` role: BullMQ initialises a queue with commands that, on a
  // fast-fail connection not yet connected, fail for good (the gauges then never appeared).
  const queueRedis: Redis = createRedis(redisUrl, { name: 'salescale-web-queues', role: 'queue', logger, tlsVerify: config.redis.tlsVerify });
  // Each connection selects REDIS_URL's database on its own: refused, the role does not start (ioredis stays in database 0).
  await checkSelectedDatabases(
    [
      { client: stateRedis, variable: 'REDIS_URL' },
      { client: queueRedis, variable: 'REDIS_URL' },
    ],
    { timeoutMs: REDIS_START_WAIT_MS, logger },
  ).catch(async (error: unknown) => {
    await Promise.all([closeRedis(queueRedis), closeRedis(stateRedis)]);
    throw error;
  });
  const queues: QueueSet = createQueueSet({ connection: queueRedis, redisPrefix: prefix, overrides: { attempts: config.queues.attempts, backoffMs: config.queues.backoffMs } });

  const inventory = createInventoryRepository({ shards: config.checkout.stockShards });
  const repositories = {
    catalog: createCatalogRepository(),
    inventory,
    customers: createCustomersRepository(),
    orders: createOrdersRepository({ paymentWindowS: config.payments.windowS, provider: config.payments.provider }),
    lifecycle: createOrderLifecycleRepository({ paymentWindowS: config.payments.windowS }),
    payments: createPaymentsRepository(),
    waitingRoom: createWaitingRoomRepository(),
    audit: createAuditRepository(),
  };

  const loadMonitor = config.loadShed.enabled ? createLoadMonitor(config.loadShed) : undefined;
  const degradedPolicies = createDegradedPolicies(config.rateLimit.policies);
  const policies = () => degradedPolicies(cluster.settings().rateLimitPercent);
  const liveSale = createLiveSaleCheck({ db, refreshMs: config.rateLimit.saleRefreshMs, logger });
  const limiter = config.rateLimit.enabled ? createRateLimiter({ redis: stateRedis, prefix }) : undefined;

  const stockViewNotices = stockViewNoticeCounterFor(metrics.registry);
  // Every invalidation (units given back, stock changed outside checkout) is also published to the other processes' views.
  const sharedGate = publishingStockGate(
    createStockGate({
      redis: stateRedis,
      prefix,
      gateTtlS: config.checkout.stockGateTtlS,
      snapshot: (productId, tokens) => repositories.inventory.snapshot(db.primary, productId, tokens),
      logger,
    }),
    { redis: platform.redis, prefix, logger, counter: stockViewNotices },
  );
  const stockView = createStockView({ gate: sharedGate, refreshMs: config.checkout.stockViewRefreshMs });
  // Every service gives units back through this one: its invalidations also forget this process's stock view.
  const gate = stockView.gate;
  // Units given back by other instances and the worker: this view forgets them on the notice, heard on the process's
  // pub/sub connection (the platform's, shared with the cluster, the cache and the waiting room; each hears its channel).
  const stopStockViewNotices = listenForStockViewNotices({ subscriber: platform.subscriber(), prefix, view: stockView, logger, counter: stockViewNotices });
  // A restarted Redis (AOF every second) or a promoted replica may miss its last writes: drop every figure and
  // reservation in flight, so that each figure is rebuilt from PostgreSQL at its next use (found by the chaos suite;
  // a lost release, test/stock-gate-failover.test.ts).
  onServerRestart(stateRedis, async () => {
    const dropped = await gate.forgetAll();
    logger.warn({ dropped }, 'Redis restarted: stock gate figures and reservations dropped, rebuilt from PostgreSQL at next use');
  });
  const catalog = createCatalogService({
    db,
    cache: platform.cache,
    ttls: () => cluster.settings().cacheTtl,
    stock: stockView,
    repo: repositories.catalog,
    inventory: repositories.inventory,
    held: getUnitsHeldByUnpaidOrders,
    // The fast-fail connection (1 s): a cache fill must not wait the state connection's 5 s on a black-holed Redis.
    replicaReads: createReplicaReads({ db, redis: platform.redis, prefix, logger }),
  });

  const sessions = createSessionStore({ redis: stateRedis, prefix, secret: config.secrets.sessionSecret, ttlS: config.customers.sessionTtlS, maxAgeS: config.customers.sessionMaxAgeS });
  const accountDigest = createAccountDigest(config.secrets.sessionSecret);
  const customers = createCustomerService({
    db,
    repo: repositories.customers,
    sessions,
    passwordHash: config.customers.passwordHash,
    passwordGate: createPasswordGate(config.customers.passwordGate),
    loginGuard: limiter ? createLoginGuard({ limiter, policy: () => policies().login, accountDigest }) : noLoginGuard,
  });
  const devices = createDeviceCookies({ secret: config.secrets.sessionSecret, secure: config.isProduction, ttlS: config.customers.loginDeviceTtlS });
  const cartStore = createCartStore({ redis: stateRedis, prefix, ttlS: config.checkout.cart.ttlS, abandonedAfterS: config.checkout.cart.abandonedAfterS });
  const cart = createCartService({ store: cartStore, catalog });
  const guestLinks = createGuestOrderLinks(config.secrets.sessionSecret, { ttlS: config.checkout.guestOrderLinkTtlS });
  const guests = createGuestCookies({ secret: config.secrets.sessionSecret, secure: config.isProduction, ttlS: config.checkout.cart.ttlS });
  const checkoutMetrics = checkoutMetricsFor(metrics.registry, cartStore);
  const orders = createOrderService({
    db,
    repo: repositories.orders,
    guestCustomerId: customers.existingGuestId,
    gate,
    hints: stockView,
    placer: createOrderBatcher({
      db: () => db.primary,
      repo: repositories.orders,
      maxBatch: config.checkout.batchMax,
      // Leave half the pool to everything else this process asks the database.
      maxInFlight: Math.max(1, Math.floor(config.db.poolMax / 2)),
      logger,
      observe: (size) => checkoutMetrics.batchSize.observe(size),
    }),
    metrics: checkoutMetrics,
    logger,
    idempotencyRetentionS: config.checkout.idempotencyRetentionS,
    cancelWindowS: config.checkout.cancelWindowS,
  });
  const paymentProvider = await createPaymentProvider(config.payments, config.secrets.sessionSecret, db);
  const payments = createPaymentService({
    db,
    provider: paymentProvider,
    orders: repositories.orders,
    lifecycle: repositories.lifecycle,
    payments: repositories.payments,
    gate,
    metrics: paymentMetricsFor(metrics.registry),
    logger,
    testPaymentsAllowed: config.payments.testPaymentsAllowed,
  });
  const idempotency = createIdempotencyStore({ redis: stateRedis, prefix, retentionS: config.checkout.idempotencyRetentionS });
  const saleEvents = createSaleEventService({ db });
  const audit = createAuditService({ db: () => db.primary, repo: repositories.audit, logger });
  const waitingRoom = createWaitingRoomFeature({
    config: config.waitingRoom,
    prefix,
    subscriber: platform.subscriber(),
    redis: stateRedis,
    db,
    repo: repositories.waitingRoom,
    sessionSecret: config.secrets.sessionSecret,
    secureCookies: config.isProduction,
    gate,
    // A product put back on sale (or its stock changed) is read again at once, not when the room's memory of it runs out.
    stockChanges: stockView.onForget,
    listWaitingRooms: saleEvents.listWaitingRooms,
    liveWebInstances: () => cluster.liveInstances().web,
    instanceId: config.instanceId,
    capacityRps: await readCapacityRps(config.waitingRoom.capacityRps, logger),
    registry: metrics.registry,
    logger,
    statementTimeoutMs: config.db.statementTimeoutMs,
  });

  const queueMetrics = queueMetricsFor(metrics.registry);
  queueMetrics.observeQueues(queues);
  queueMetrics.observeOutbox(db.pools.primary);

  // The decoy password hash, begun with the customer service and made alongside the start-up above: a web process
  // that listens has it, so that no sign-in of an unknown email pays for it.
  await customers.ready();

  let closing: Promise<void> | undefined;
  return {
    platform,
    connections: { stateRedis, queueRedis },
    repositories,
    queues,
    loadMonitor,
    limiter,
    policies,
    liveSale,
    gate,
    stockView,
    catalog,
    sessions,
    customers,
    devices,
    accountDigest,
    cart,
    guests,
    guestLinks,
    orders,
    paymentProvider,
    payments,
    idempotency,
    saleEvents,
    waitingRoom,
    audit,
    /** Releases what this root opened (not the platform's connections: the platform's owner closes those). */
    close(): Promise<void> {
      closing ??= (async () => {
        // The web role only produces (its jobs are in the outbox first): nothing is lost when a Redis not answering cuts this short.
        await settlesWithin(queues.close(), CLOSE_STEP_MS);
        // Leaves its channel; the platform's owner closes the pub/sub connection.
        await settlesWithin(stopStockViewNotices(), CLOSE_STEP_MS);
        await Promise.all([closeRedis(queueRedis), closeRedis(stateRedis)]);
      })();
      return closing;
    },
  };
}

export type WebServices = Awaited<ReturnType<typeof composeWeb>>;

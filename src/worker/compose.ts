import path from 'node:path';
import type { Redis } from 'ioredis';
import { createAnalyticsRepository } from '../modules/analytics/index.ts';
import { createAuditRepository, createWorkerAuditTrail } from '../modules/audit/index.ts';
import { CONNECTIONS_KEPT_FROM_SENDS } from '../modules/notifications/index.ts';
import { createInventoryRepository, createStockGate, publishingStockGate, stockViewNoticeCounterFor } from '../modules/inventory/index.ts';
import { createGuestOrderLinks, createOrderExpiry, createOrderPageUrls, createOrderLifecycleRepository, createOrdersRepository, expiredCounterFor } from '../modules/orders/index.ts';
import {
  createGiveBackRetry,
  createOpenIntentsCancel,
  OPEN_PAYMENT_PROBLEMS,
  createPaymentProvider,
  createPaymentService,
  createPaymentsRepository,
  paymentMetricsFor,
  registerGiveBackGauges,
  registerReservationsGauge,
} from '../modules/payments/index.ts';
import { degradeModeProcessors } from '../platform/cluster/degrade-mode.processors.ts';
import { requireServices } from '../platform/config/config.ts';
import { createMailer, senderDomain } from '../platform/mail/mailer.ts';
import { REDIS_START_WAIT_MS, type Platform } from '../platform/platform.ts';
import type { JobHandlers } from '../platform/queue/processing.ts';
import { createQueueSet, type QueueSet } from '../platform/queue/queues.ts';
import { checkSelectedDatabases, closeRedis, createRedis } from '../platform/redis/redis.ts';
import { createJobHandlers } from './processors.ts';

/**
 * The worker role's composition root: the connections the role holds beyond the platform's (the
 * BullMQ workers' blocking connection; producers share the platform's), the mailer and the
 * repositories are made here once, and the job handlers receive them.
 */
export async function composeWorker(platform: Platform, options: { handlers?: JobHandlers } = {}) {
  const { config, db, logger } = platform;
  const mailer = createMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, mailDir: path.join(config.dataDir, 'mail') });
  const inventory = createInventoryRepository({ shards: config.checkout.stockShards });
  const repositories = {
    inventory,
    orders: createOrdersRepository({ paymentWindowS: config.payments.windowS, provider: config.payments.provider }),
    lifecycle: createOrderLifecycleRepository({ paymentWindowS: config.payments.windowS }),
    analytics: createAnalyticsRepository(),
    payments: createPaymentsRepository(),
  };
  // Expiry of unpaid reservations gives units back to PostgreSQL and has the stock gate rebuilt; the products are
  // published so every web instance's stock view sells them again at once.
  const gate = publishingStockGate(
    createStockGate({
      redis: platform.redis,
      prefix: config.redis.prefix,
      gateTtlS: config.checkout.stockGateTtlS,
      snapshot: (productId, tokens) => inventory.snapshot(db.primary, productId, tokens),
      logger,
    }),
    { redis: platform.redis, prefix: config.redis.prefix, logger, counter: stockViewNoticeCounterFor(platform.metrics.registry) },
  );
  const expiry = createOrderExpiry({ db, lifecycle: repositories.lifecycle, gate, expired: expiredCounterFor(platform.metrics.registry), logger });
  registerReservationsGauge(platform.metrics.registry, () => repositories.lifecycle.countPending(db.primary));
  // Money owed back whose call failed is retried here (the web role makes the first call); the gauges say what is still owed or open.
  const provider = await createPaymentProvider(config.payments, config.secrets.sessionSecret, db);
  const paymentMetrics = paymentMetricsFor(platform.metrics.registry);
  const payments = createPaymentService({
    db,
    provider,
    orders: repositories.orders,
    lifecycle: repositories.lifecycle,
    payments: repositories.payments,
    gate,
    metrics: paymentMetrics,
    logger,
    testPaymentsAllowed: config.payments.testPaymentsAllowed,
  });
  // Payments an order left open at the provider when it was cancelled or expired are canceled there.
  const openIntents = createOpenIntentsCancel({ db, provider, payments: repositories.payments, metrics: paymentMetrics, logger });
  // What it finishes or gives up on of an admin's refund goes into the admin audit trail, beside the admin's request.
  const audit = createWorkerAuditTrail({ db: () => db.primary, repo: createAuditRepository(), logger, instanceId: config.instanceId });
  const giveBack = createGiveBackRetry({ payments, logger, afterS: config.payments.giveBackAfterS, audit });
  registerGiveBackGauges(platform.metrics.registry, {
    provider: config.payments.provider,
    owed: () => repositories.payments.countOwed(db.primary, config.payments.giveBackAfterS),
    problems: () => repositories.payments.countProblems(db.primary, OPEN_PAYMENT_PROBLEMS),
  });
  // Follow-up delays are read per job from the cluster's degrade mode. Email sends hold a connection each
  // while the mail server answers: they never take the connections the other jobs and the relay need.
  const maxConcurrentSends = Math.max(1, config.db.poolMax - CONNECTIONS_KEPT_FROM_SENDS);
  // A confirmation links the buyer to the order: a guest by the same access link the checkout reply gave (signed with
  // SESSION_SECRET, as the web role checks it), an account to its order page; without SHOP_URL, no link.
  const { shopUrl } = platform.config.mail;
  const orderUrl = shopUrl ? createOrderPageUrls(shopUrl, createGuestOrderLinks(config.secrets.sessionSecret, { ttlS: config.checkout.guestOrderLinkTtlS })) : undefined;
  const handlers = options.handlers ?? {
    ...createJobHandlers({
      db,
      mailer,
      expiry,
      openIntents,
      gate,
      repositories,
      maxConcurrentSends,
      shopUrl: platform.config.mail.shopUrl,
      messageIdDomain: senderDomain(platform.config.mail.from),
      orderUrl,
      followUpDelays: () => platform.cluster.settings().queueDelays,
      jobTransaction: config.queues.jobTransaction,
    }),
    ...degradeModeProcessors({ logger, db, jobTransaction: config.queues.jobTransaction }),
  };
  const producers: QueueSet = createQueueSet({
    connection: platform.redis,
    redisPrefix: config.redis.prefix,
    overrides: { attempts: config.queues.attempts, backoffMs: config.queues.backoffMs },
  });
  // Workers wait for Redis instead of failing (BullMQ requires maxRetriesPerRequest: null here).
  const connection: Redis = createRedis(requireServices(config).redisUrl, { name: `salescale-worker-${config.instanceId}`, role: 'queue', logger, tlsVerify: config.redis.tlsVerify });
  await checkSelectedDatabases([{ client: connection, variable: 'REDIS_URL' }], { timeoutMs: REDIS_START_WAIT_MS, logger }).catch(async (error: unknown) => {
    await Promise.all([producers.close(), closeRedis(connection)]);
    mailer.close();
    throw error;
  });

  return {
    platform,
    mailer,
    repositories,
    expiry,
    giveBack,
    handlers,
    producers,
    connections: { queue: connection },
    /** Releases what this root opened (after the workers closed; not the platform's connections). */
    async close(): Promise<void> {
      await producers.close();
      await closeRedis(connection);
      mailer.close();
    },
  };
}

export type WorkerServices = ReturnType<typeof composeWorker>;

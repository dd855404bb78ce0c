import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Cart, cartRoutes, createCartService, createCartStore, createGuestCookies } from '../modules/cart/index.ts';
import type { CatalogService } from '../modules/catalog/index.ts';
import { createCustomerService, createLoginGuard, createSessionStore, Customer, customerRoutes, noLoginGuard } from '../modules/customers/index.ts';
import { createStockGate, createStockView, type StockGate } from '../modules/inventory/index.ts';
import {
  checkoutMetricsFor,
  createGuestOrderLinks,
  createOrderBatcher,
  createOrderLifecycleRepository,
  createOrderService,
  createOrdersRepository,
  Order,
  type CheckoutAdmission,
  orderAdminRoutes,
  orderRoutes,
  type StockHints,
} from '../modules/orders/index.ts';
import {
  createPaymentService,
  createPaymentsRepository,
  createStripeProvider,
  createTestProvider,
  testWebhookSecret,
  paymentAdminRoutes,
  paymentMetricsFor,
  paymentRoutes,
  type PaymentProvider,
} from '../modules/payments/index.ts';
import type { AppConfig } from '../platform/config/config.ts';
import type { Database } from '../platform/db/client.ts';
import { createIdempotencyStore } from '../platform/idempotency/idempotency-store.ts';
import type { Metrics } from '../platform/metrics/metrics.ts';
import { onServerRestart } from '../platform/redis/redis.ts';
import type { LimitPolicy, RateLimiter } from '../platform/rate-limit/limiter.ts';

export const commerceSchemas = [Customer, Cart, Order];

export interface StockDeps {
  config: AppConfig;
  db: Database;
  redis: Redis;
  logger?: Logger;
}

/** The stock gate and the live-stock view the catalog overlays on product replies. */
export function createStock(deps: StockDeps): { gate: StockGate; view: ReturnType<typeof createStockView> } {
  const repo = createOrdersRepository();
  const gate = createStockGate({
    redis: deps.redis,
    prefix: deps.config.redis.prefix,
    gateTtlS: deps.config.checkout.stockGateTtlS,
    snapshot: (productId, tokens) => repo.stockSnapshot(deps.db.primary, productId, tokens),
  });
  // A restarted Redis may have restored figures that miss its last writes (AOF every second): drop them all,
  // so that each is rebuilt exactly from PostgreSQL at its next use (found by the chaos suite).
  onServerRestart(deps.redis, async () => {
    const dropped = await gate.forgetAll();
    deps.logger?.warn({ dropped }, 'Redis restarted: stock gate figures dropped, rebuilt from PostgreSQL at next use');
  });
  return { gate, view: createStockView({ gate, refreshMs: deps.config.checkout.stockViewRefreshMs }) };
}

export interface CommerceDeps {
  config: AppConfig;
  logger: Logger;
  db: Database;
  redis: Redis;
  metrics: Metrics;
  catalog: CatalogService;
  gate: StockGate;
  hints: StockHints;
  /** Shared with the rate-limit plugin; undefined when rate limiting is off. */
  limiter: RateLimiter | undefined;
  loginPolicy: () => LimitPolicy;
  /** The waiting room's pass rule at checkout. */
  admission?: CheckoutAdmission;
}

/** Customers, sessions, carts and orders, composed once per web process. */
export function createCommerce(deps: CommerceDeps) {
  const { config } = deps;
  const sessions = createSessionStore({ redis: deps.redis, prefix: config.redis.prefix, secret: config.secrets.sessionSecret, ttlS: config.customers.sessionTtlS });
  const customers = createCustomerService({
    db: deps.db,
    sessions,
    passwordHash: config.customers.passwordHash,
    loginGuard: deps.limiter ? createLoginGuard({ limiter: deps.limiter, policy: deps.loginPolicy }) : noLoginGuard,
  });
  const cartStore = createCartStore({ redis: deps.redis, prefix: config.redis.prefix, ttlS: config.checkout.cart.ttlS, abandonedAfterS: config.checkout.cart.abandonedAfterS });
  const cart = createCartService({ store: cartStore, catalog: deps.catalog });
  const guestLinks = createGuestOrderLinks(config.secrets.sessionSecret);
  const guests = createGuestCookies({ secret: config.secrets.sessionSecret, secure: config.isProduction, ttlS: config.checkout.cart.ttlS });
  const checkoutMetrics = checkoutMetricsFor(deps.metrics.registry, cartStore);
  const payment = { windowS: config.payments.windowS, provider: config.payments.provider };
  const ordersRepo = createOrdersRepository({ paymentWindowS: payment.windowS, provider: payment.provider });
  const orders = createOrderService({
    db: deps.db,
    gate: deps.gate,
    hints: deps.hints,
    payment,
    placer: createOrderBatcher({
      db: () => deps.db.primary,
      repo: ordersRepo,
      maxBatch: config.checkout.batchMax,
      // Leave half the pool to everything else this process asks the database.
      maxInFlight: Math.max(1, Math.floor(config.db.poolMax / 2)),
      logger: deps.logger,
      observe: (size) => checkoutMetrics.batchSize.observe(size),
    }),
    metrics: checkoutMetrics,
    logger: deps.logger,
    idempotencyRetentionS: config.checkout.idempotencyRetentionS,
    cancelWindowS: config.checkout.cancelWindowS,
  });
  const provider = createPaymentProvider(config, deps.db);
  const payments = createPaymentService({
    db: deps.db,
    provider,
    orders: ordersRepo,
    lifecycle: createOrderLifecycleRepository({ paymentWindowS: payment.windowS }),
    payments: createPaymentsRepository(),
    gate: deps.gate,
    metrics: paymentMetricsFor(deps.metrics.registry),
    logger: deps.logger,
    testPaymentsAllowed: config.payments.testPaymentsAllowed,
  });
  const idempotency = createIdempotencyStore({ redis: deps.redis, prefix: config.redis.prefix, retentionS: config.checkout.idempotencyRetentionS });

  const routes: FastifyPluginAsync = async (api) => {
    await api.register(
      customerRoutes(customers, {
        secureCookies: config.isProduction,
        sessionTtlS: config.customers.sessionTtlS,
        afterSignIn: async (request, reply, customerId) => {
          const guest = guests.read(request);
          if (!guest) return;
          await cart.mergeGuest(guest, customerId);
          guests.clear(reply);
        },
      }),
    );
    await api.register(cartRoutes(cart, guests));
    await api.register(orderRoutes({
        orders,
        cart,
        idempotency,
        admission: deps.admission,
        guests: { cookies: guests, customerIdFor: (email) => customers.guestId(email), links: guestLinks },
      }));
    await api.register(paymentRoutes({ payments, provider, guestLinks }));
  };
  const adminRoutes: FastifyPluginAsync = async (admin) => {
    await admin.register(orderAdminRoutes(orders));
    await admin.register(paymentAdminRoutes(payments));
  };
  return { sessions, customers, cart, orders, payments, routes, adminRoutes };
}

/** The configured provider (PAYMENT_PROVIDER); the test provider signs its webhooks with a key derived from SESSION_SECRET. */
export function createPaymentProvider(config: AppConfig, db: Database): PaymentProvider {
  if (config.payments.provider === 'stripe') return createStripeProvider(config.payments.stripe!);
  return createTestProvider({ db, webhookSecret: testWebhookSecret(config.secrets.sessionSecret) });
}


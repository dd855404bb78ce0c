import { createAnalyticsService, type AnalyticsRepository } from '../modules/analytics/index.ts';
import { analyticsProcessors } from '../modules/analytics/processors.ts';
import type { StockGate } from '../modules/inventory/index.ts';
import { inventoryProcessors } from '../modules/inventory/processors.ts';
import { createNotificationService } from '../modules/notifications/index.ts';
import { notificationProcessors } from '../modules/notifications/processors.ts';
import type { FollowUpDelays, OrderExpiry, OrdersRepository } from '../modules/orders/index.ts';
import { orderProcessors } from '../modules/orders/processors.ts';
import type { OpenIntentsCancel } from '../modules/payments/index.ts';
import { paymentProcessors } from '../modules/payments/processors.ts';
import type { Database } from '../platform/db/client.ts';
import type { Mailer } from '../platform/mail/mailer.ts';
import type { JobTransactionLimits } from '../platform/queue/job-transaction.ts';
import type { JobHandlers } from '../platform/queue/processing.ts';

/** Every job handler, composed once per worker process. */
export function createJobHandlers(deps: {
  db: Database;
  mailer: Mailer;
  expiry: OrderExpiry;
  /** Cancels at the provider the payments left open by an order that can no longer be paid (`cancel-open-intents`). */
  openIntents: OpenIntentsCancel;
  /** The stock gate, rebuilt for products whose units went back (`refresh-stock-gate`). */
  gate: Pick<StockGate, 'invalidate'>;
  repositories: { orders: OrdersRepository; analytics: AnalyticsRepository };
  followUpDelays?: () => FollowUpDelays;
  /** Email sends in flight at once (`createNotificationService`). */
  maxConcurrentSends?: number;
  /** The shop's address for emails (SHOP_URL). */
  shopUrl?: string;
  /** The emails' Message-ID domain, the sender's (`createNotificationService`'s `messageIdDomain`). */
  messageIdDomain?: string;
  /** Where a buyer sees an order, linked from its confirmation (`createNotificationService`'s `orderUrl`). */
  orderUrl?: (orderId: number, guest: boolean) => string | undefined;
  /** PostgreSQL's lock and idle timeouts on the jobs' transactions (WORKER_JOB_LOCK_TIMEOUT_MS, WORKER_JOB_IDLE_TIMEOUT_MS). */
  jobTransaction?: JobTransactionLimits;
}): JobHandlers {
  return {
    ...notificationProcessors(createNotificationService({ ...deps, isOrderConfirmable: (db, orderId) => deps.repositories.orders.isConfirmable(db, orderId) })),
    ...orderProcessors({ db: deps.db, repo: deps.repositories.orders, expiry: deps.expiry, followUpDelays: deps.followUpDelays, jobTransaction: deps.jobTransaction }),
    ...paymentProcessors(deps),
    ...inventoryProcessors(deps),
    ...analyticsProcessors(createAnalyticsService({ db: deps.db, repository: deps.repositories.analytics })),
  };
}

import type { JobsOptions } from 'bullmq';

/**
 * Queue and job names, and each queue's default job options. The defaults are the seed strategy's
 * (`emailQueue`, `orderQueue`, `inventoryQueue`, `notificationQueue`); attempts and backoff can be
 * overridden per queue with QUEUE_ATTEMPTS / QUEUE_BACKOFF_MS.
 */
export const QUEUES = {
  email: 'email',
  order: 'order',
  inventory: 'inventory',
  notifications: 'notifications',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const QUEUE_NAMES: readonly QueueName[] = Object.values(QUEUES);

export function isQueueName(name: string): name is QueueName {
  return (QUEUE_NAMES as readonly string[]).includes(name);
}

export const JOBS = {
  /** email: `{ email, name }` of a newly registered customer. */
  sendWelcomeEmail: 'send-welcome-email',
  /** email: an order payload (`OrderConfirmation`); delayed 1 s so the order page is there first. */
  sendOrderConfirmation: 'send-order-confirmation',
  /** email: `ReservationExpired`, sent when an unpaid reservation's units went back on sale. */
  sendReservationExpired: 'send-reservation-expired',
  /**
   * email: `PaymentReturned`, sent when a payment the order could not take (its reservation expired or was
   * cancelled, a second payment, a wrong amount) was voided or refunded at the provider: written in the
   * transaction that records the payment as given back, so once per payment.
   */
  sendPaymentReturned: 'send-payment-returned',
  /**
   * order: `{ orderId }`, written by the checkout's statement: waits (delayed) until the order's payment
   * window ends, then expires it if it is still unpaid. The sweeper is the second line.
   */
  expireOrder: 'expire-order',
  /**
   * order: `{ orderId }`, written in the transaction that cancels or expires the order: cancels at the provider the
   * payments of the order still open there (created, not confirmed), so that a buyer holding one's client secret can no
   * longer pay an order that cannot take it (a charge then given back as late, fees kept).
   */
  cancelOpenIntents: 'cancel-open-intents',
  /** order: fans a paid order out into its follow-ups (stock, confirmation, analytics). */
  orderPaid: 'order-paid',
  /**
   * order: the fan-out job of releases before payments (orders were final when placed). Rows still in
   * the outbox at the upgrade belong to orders the migration made `paid`: handled as `order-paid`.
   */
  orderPlacedLegacy: 'order-placed',
  /** inventory: `{ productId, quantity }` units sold; priority 10. */
  updateStock: 'update-stock',
  /**
   * inventory: `{ productIds }` whose units went back to PostgreSQL (a cancellation, an expiry, a refund),
   * written in that transaction: the worker rebuilds their stock gates. The instance that gave the units back
   * rebuilds them right after its commit; this job is for when it died in between, which would otherwise
   * leave the units hidden behind the gate's old figure for up to `STOCK_GATE_TTL_S`.
   */
  refreshStockGate: 'refresh-stock-gate',
  /** notifications: an analytics event rolled up per hour in PostgreSQL. */
  updateAnalytics: 'update-analytics',
  /** notifications: a degrade mode transition (`DegradeModeChanged`), told to the team. */
  degradeModeChanged: 'degrade-mode-changed',
} as const;

export type JobName = (typeof JOBS)[keyof typeof JOBS];

/** Which queue each job runs on. */
export const QUEUE_OF_JOB: Record<JobName, QueueName> = {
  'send-welcome-email': 'email',
  'send-order-confirmation': 'email',
  'send-reservation-expired': 'email',
  'send-payment-returned': 'email',
  'expire-order': 'order',
  'cancel-open-intents': 'order',
  'order-paid': 'order',
  'order-placed': 'order',
  'update-stock': 'inventory',
  'refresh-stock-gate': 'inventory',
  'update-analytics': 'notifications',
  'degrade-mode-changed': 'notifications',
};

/** Per-job defaults on top of the queue's (the seed strategy's priority and delay). */
export const JOB_DEFAULTS: Partial<Record<JobName, JobsOptions>> = {
  'update-stock': { priority: 10 },
  'send-order-confirmation': { delay: 1000 },
  // Behind the order queue's own work: BullMQ takes a waiting job before any prioritized one, so when a sale's thousands
  // of reservations expire at once, their provider cancels (a Stripe call each, five at a time) do not hold paid orders'
  // fan-outs and the next expiries behind them for minutes. A late cancel costs nothing: the webhook gives back a late payment.
  'cancel-open-intents': { priority: 100 },
  // Behind the email queue's own urgent work, for the same reason: a sale's mass expiry writes thousands of "your
  // reservation expired" emails at once, and in arrival order the paid buyers' confirmations and "payment returned"
  // emails (unprioritized, so taken first) waited minutes behind them. An expiry notice an hour late tells the same.
  // Welcome emails stay unprioritized: one per sign-up, never a flood, and a new account expects its email now.
  'send-reservation-expired': { priority: 100 },
};

export interface QueueDefaults {
  attempts: number;
  backoff?: { type: 'exponential' | 'fixed'; delay: number };
  /** Completed jobs kept for inspection. */
  keepCompleted: number;
  /**
   * Failed jobs kept in Redis. Older ones are trimmed, but never lost: a job that exhausts its
   * attempts is also written to the `dead_letters` table first.
   */
  keepFailed?: number;
}

export const QUEUE_DEFAULTS: Record<QueueName, QueueDefaults> = {
  email: { attempts: 3, backoff: { type: 'exponential', delay: 2000 }, keepCompleted: 100, keepFailed: 50 },
  order: { attempts: 5, backoff: { type: 'exponential', delay: 5000 }, keepCompleted: 100, keepFailed: 50 },
  inventory: { attempts: 10, backoff: { type: 'fixed', delay: 1000 }, keepCompleted: 50, keepFailed: 25 },
  notifications: { attempts: 3, keepCompleted: 200 },
};

/**
 * Default worker concurrency per queue (WORKER_CONCURRENCY overrides).
 *
 * notifications runs `update-analytics`, whose handler joins the calls in flight into one statement
 * and one commit per batch (`createRollupBatcher`): concurrency is the batch size and costs no extra
 * database connection. At 10 a job waited for about two commits per ten jobs (by Little's law 10 jobs
 * ÷ a WAL-flush-bound cycle) and the worker reached 0.21–0.30 of bare BullMQ at the same concurrency; at
 * 100 it reached 0.63–0.90 of bare BullMQ at 100 (`salescale bench queue`, three alternating pairs, loaded
 * machine), and bare BullMQ itself is not slower at 100 than at 10.
 */
export const DEFAULT_CONCURRENCY: Record<QueueName, number> = { email: 5, order: 5, inventory: 10, notifications: 100 };

export interface QueueOverrides {
  attempts?: Partial<Record<QueueName, number>>;
  backoffMs?: Partial<Record<QueueName, number>>;
}

/** The BullMQ `defaultJobOptions` of a queue: seed defaults with configured overrides. */
export function defaultJobOptions(queue: QueueName, overrides: QueueOverrides = {}): JobsOptions {
  const d = QUEUE_DEFAULTS[queue];
  const backoffMs = overrides.backoffMs?.[queue];
  const backoff = d.backoff
    ? { ...d.backoff, delay: backoffMs ?? d.backoff.delay }
    : backoffMs !== undefined
      ? { type: 'fixed' as const, delay: backoffMs }
      : undefined;
  return {
    attempts: overrides.attempts?.[queue] ?? d.attempts,
    ...(backoff ? { backoff } : {}),
    removeOnComplete: d.keepCompleted,
    ...(d.keepFailed !== undefined ? { removeOnFail: d.keepFailed } : {}),
  };
}

/**
 * BullMQ key prefix. The braces are a Redis Cluster hash tag: every key of every queue hashes to
 * one slot, which BullMQ's multi-key Lua scripts require.
 */
export function queuePrefix(redisPrefix: string): string {
  return `{${redisPrefix}}`;
}

import type { Database } from '../../platform/db/client.ts';
import { QUEUES } from '../../platform/queue/queue-definitions.ts';
import { createRollupBatcher } from './analytics.batcher.ts';
import type { AnalyticsRepository, RollupIncrement } from './analytics.repository.ts';

/** The metrics rolled up per hour. */
export const ANALYTICS_METRICS = {
  orders: 'orders',
  revenueCents: 'revenue_cents',
  refunds: 'refunds',
  refundsCents: 'refunds_cents',
  chargebacks: 'chargebacks',
  chargebacksCents: 'chargebacks_cents',
  requests: 'requests',
} as const;

/** An `update-analytics` job payload. */
export type AnalyticsEvent =
  /**
   * `currency` (the order's, ISO 4217) is the revenue's dimension: amounts are in each currency's minor unit,
   * so revenues in different currencies are kept apart. Events written before it had none: dimension ''.
   */
  | { eventType: 'order_created'; orderId: number | string; amountCents: number; currency?: string; occurredAt?: string }
  /**
   * A paid order refunded: one refund (`refunds`), and what of its total partial refunds and a lost dispute had not
   * counted yet (`refunds_cents`, per currency; the whole total when there were none, 0 after a dispute lost in full), in
   * the hour of the refund, beside the revenue it counted when paid, which stays: net revenue = `revenue_cents` −
   * `refunds_cents` − `chargebacks_cents`.
   */
  | { eventType: 'order_refunded'; orderId: number | string; amountCents: number; currency: string; occurredAt?: string }
  /**
   * Part of a paid order's payment refunded at the provider (its dashboard), the order staying as it is: the money this
   * refund added to what was refunded so far (never past what a lost dispute left), in `refunds_cents` only (no order
   * was refunded: `refunds` stays).
   */
  | { eventType: 'payment_partially_refunded'; orderId: number | string; amountCents: number; currency: string; occurredAt?: string }
  /**
   * A dispute (chargeback) of a paid order's payment lost: one in `chargebacks`, and in `chargebacks_cents` the disputed
   * amount, at most what refunds counted so far left of the payment (money leaving counts once in all). Always in the
   * order's currency: one in another currency is not written.
   */
  | { eventType: 'chargeback_lost'; orderId: number | string; amountCents: number; currency: string; occurredAt?: string }
  /** Request counts of one hour by route group, flushed by each web instance. */
  | { eventType: 'requests'; hour: string; counts: Record<string, number> };

export function isAnalyticsEvent(data: unknown): data is AnalyticsEvent {
  if (typeof data !== 'object' || data === null) return false;
  const event = data as Record<string, unknown>;
  if (event.eventType === 'order_refunded' || event.eventType === 'payment_partially_refunded' || event.eventType === 'chargeback_lost') {
    return (
      Number.isInteger(event.amountCents) &&
      typeof event.currency === 'string' &&
      (event.occurredAt === undefined || !Number.isNaN(Date.parse(String(event.occurredAt))))
    );
  }
  if (event.eventType === 'order_created') {
    return (
      Number.isInteger(event.amountCents) &&
      (event.currency === undefined || typeof event.currency === 'string') &&
      (event.occurredAt === undefined || !Number.isNaN(Date.parse(String(event.occurredAt))))
    );
  }
  if (event.eventType === 'requests') {
    return (
      typeof event.hour === 'string' &&
      !Number.isNaN(Date.parse(event.hour)) &&
      typeof event.counts === 'object' &&
      event.counts !== null &&
      Object.values(event.counts).every((n) => Number.isInteger(n) && (n as number) >= 0)
    );
  }
  return false;
}

export function startOfHour(date: Date): Date {
  const hour = new Date(date);
  hour.setUTCMinutes(0, 0, 0);
  return hour;
}

/** The rollup increments one event stands for (pure). */
export function incrementsFor(event: AnalyticsEvent, receivedAt: Date): RollupIncrement[] {
  if (event.eventType === 'order_created') {
    const hour = startOfHour(event.occurredAt ? new Date(event.occurredAt) : receivedAt);
    return [
      { hour, metric: ANALYTICS_METRICS.orders, dimension: '', value: 1 },
      { hour, metric: ANALYTICS_METRICS.revenueCents, dimension: event.currency ?? '', value: event.amountCents },
    ];
  }
  if (event.eventType === 'order_refunded') {
    const hour = startOfHour(event.occurredAt ? new Date(event.occurredAt) : receivedAt);
    return [
      { hour, metric: ANALYTICS_METRICS.refunds, dimension: '', value: 1 },
      { hour, metric: ANALYTICS_METRICS.refundsCents, dimension: event.currency, value: event.amountCents },
    ];
  }
  if (event.eventType === 'payment_partially_refunded') {
    const hour = startOfHour(event.occurredAt ? new Date(event.occurredAt) : receivedAt);
    return [{ hour, metric: ANALYTICS_METRICS.refundsCents, dimension: event.currency, value: event.amountCents }];
  }
  if (event.eventType === 'chargeback_lost') {
    const hour = startOfHour(event.occurredAt ? new Date(event.occurredAt) : receivedAt);
    return [
      { hour, metric: ANALYTICS_METRICS.chargebacks, dimension: '', value: 1 },
      { hour, metric: ANALYTICS_METRICS.chargebacksCents, dimension: event.currency, value: event.amountCents },
    ];
  }
  const hour = startOfHour(new Date(event.hour));
  return Object.entries(event.counts)
    .filter(([, count]) => count > 0)
    .map(([group, count]) => ({ hour, metric: ANALYTICS_METRICS.requests, dimension: group, value: count }));
}

export interface AnalyticsService {
  /** Applies an event once per job id; false when the job had already been applied. */
  apply(jobId: string, event: AnalyticsEvent, receivedAt?: Date): Promise<boolean>;
  /**
   * Requests per hour in [from, to), every hour present (0 when none were counted): the history the
   * scaling forecast learns from. `routeGroup` narrows to one group (e.g. `products`).
   */
  getHourlyRequests(from: Date, to: Date, routeGroup?: string): Promise<{ hour: Date; requests: number }[]>;
  getHourlySeries(metric: string, from: Date, to: Date, dimension?: string): Promise<{ hour: Date; value: number }[]>;
}

export function createAnalyticsService(deps: { db: Database; repository: AnalyticsRepository }): AnalyticsService {
  const { repository } = deps;
  const batcher = createRollupBatcher({ db: deps.db, queue: QUEUES.notifications, repository });
  return {
    apply(jobId, event, receivedAt = new Date()) {
      return batcher.apply(jobId, incrementsFor(event, receivedAt));
    },
    async getHourlyRequests(from, to, routeGroup) {
      const points = await repository.series(deps.db.primary, ANALYTICS_METRICS.requests, from, to, routeGroup);
      return points.map((point) => ({ hour: point.hour, requests: point.value }));
    },
    getHourlySeries: (metric, from, to, dimension) => repository.series(deps.db.primary, metric, from, to, dimension),
  };
}

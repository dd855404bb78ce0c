import { bigint, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Hourly rollups: `metric` is orders, revenue_cents, refunds, refunds_cents or requests; `dimension` is the route
 * group for requests, the order's currency for revenue and refunds (amounts in its minor unit; '' for revenue counted
 * before it was kept per currency) and '' otherwise. Revenue is counted when an order is paid and stays when it is
 * refunded: the refund is counted apart, in its own hour, so net revenue = revenue_cents − refunds_cents. A refund
 * is an order's whole total, counted once when the order becomes refunded (the admin's refund, or the provider's event
 * of a full one); a partial refund at the provider and a lost dispute leave the order as it is and are not counted. Orders
 * cancelled or expired were never paid and count nowhere. The request series is the history the scaling forecast learns from.
 */
export const analyticsHourly = pgTable(
  'analytics_hourly',
  {
    hour: timestamp('hour', { withTimezone: true, mode: 'date' }).notNull(),
    metric: text('metric').notNull(),
    dimension: text('dimension').notNull().default(''),
    value: bigint('value', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.metric, t.dimension, t.hour] })],
);

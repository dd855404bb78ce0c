import { bigint, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Hourly rollups: `metric` is orders, revenue_cents, refunds, refunds_cents, chargebacks, chargebacks_cents or requests;
 * `dimension` is the route group for requests, the order's currency for revenue, refunds and chargebacks (amounts in its
 * minor unit; '' for revenue counted before it was kept per currency) and '' otherwise. Revenue is counted when an order
 * is paid and stays when money goes back: that is counted apart, in its own hour, so
 * net revenue = revenue_cents − refunds_cents − chargebacks_cents (per currency). `refunds_cents` is the money refunded:
 * each partial refund at the provider by what it adds to the amount refunded so far (the order stays as it is), and the
 * rest of the order's total when the order becomes refunded (the admin's refund, or the provider's event of a full one),
 * so an order's total at most once in all; `refunds` counts orders refunded (a partial refund adds none). A lost dispute
 * (chargeback) counts once, in the hour it closed: `chargebacks` and the disputed amount in `chargebacks_cents`, at most
 * what refunds counted left of the payment; a won one counts nothing. Refunds after a lost dispute count only what
 * neither counted: money leaving an order counts once in all across refunds_cents and chargebacks_cents (its payment
 * keeps both counts: refunded_counted_cents, charged_back_counted_cents). A provider's partial refund or lost dispute in
 * another currency than the order's counts nothing (not converted, not mixed in). Only money of the payment that paid its order counts (a late payment given back never counted as
 * revenue). Orders cancelled or expired were never paid and count nowhere. The request series is the history the
 * scaling forecast learns from.
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

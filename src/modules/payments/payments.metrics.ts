import client from 'prom-client';
import { expiredCounterFor } from '../orders/index.ts';

export interface PaymentMetrics {
  /** Payment attempts by outcome (`succeeded` | `declined`): the payment success rate. */
  attempts: client.Counter<'provider' | 'outcome'>;
  /** Seconds from reservation to payment. */
  timeToPay: client.Histogram;
  /** Payments that arrived for an order no longer payable, by what we did (`voided` | `refunded`). */
  latePayments: client.Counter<'provider' | 'action'>;
  /** Reservations expired, by who expired them (`job` | `sweeper` | `payment`). */
  expired: client.Counter<'via'>;
  /** Webhook events by outcome (`processed` | `duplicate` | `signature_invalid` | `malformed`: refused with 400 | `failed`: signed but not applied, 5xx). */
  webhooks: client.Counter<'provider' | 'outcome'>;
  /**
   * Calls to the provider (`capture` | `void` | `refund` after a decision, `create_intent` on a pay call), by outcome: `succeeded`,
   * `misconfigured` (the provider refused it as a configuration problem of ours: a wrong, revoked or expired key, a key of
   * another account or mode, missing permissions; every payment is hit until it is fixed), `refused` (a capture the
   * provider refused for good because the hold was released or lapsed before it: nothing taken, the provider's event
   * about the released hold settles it; and an admin refund's void the provider refused for good because the hold was
   * captured there already, refunded instead; and the cancel of an intent its order left open, refused because the buyer
   * paid it first, which its webhook gives back as late), `failed` (any other failure; not a pay call refused for the order's
   * amount or currency, the buyer's 422). The alert on failing calls (PaymentProviderCallsFailing) counts `failed` only.
   */
  providerCalls: client.Counter<'provider' | 'action' | 'outcome'>;
  /**
   * What the provider reported about a payment afterwards that a person has to act on, once per payment:
   * `refund_failed` (the buyer did not get a refund back), `disputed` (a chargeback opened), `dispute_lost`,
   * `hold_lapsed` (the hold of a paid order was released at the provider before it was captured: the shop was not paid).
   */
  problems: client.Counter<'provider' | 'problem'>;
}

/**
 * The provider calls counted in `salescale_payment_provider_calls_total` (its `action` label): the money-moving calls
 * after a decision, and `create_intent`, the buyer's pay call starting a payment at the provider.
 */
export const PROVIDER_CALL_ACTIONS = ['capture', 'void', 'refund', 'create_intent'] as const;

/** The `outcome` label's values of `salescale_payment_provider_calls_total` (exclusive). */
export const PROVIDER_CALL_OUTCOMES = ['succeeded', 'misconfigured', 'refused', 'failed'] as const;

/** The `problem` label's values, created at zero so an alert's `increase()` sees the first one. */
export const PAYMENT_PROBLEMS = ['refund_failed', 'disputed', 'dispute_lost', 'hold_lapsed'] as const;

const cache = new WeakMap<client.Registry, PaymentMetrics>();

export function paymentMetricsFor(registry: client.Registry): PaymentMetrics {
  const known = cache.get(registry);
  if (known) return known;
  const metrics: PaymentMetrics = {
    attempts: new client.Counter({ name: 'salescale_payments_total', help: 'Payment attempts by outcome (succeeded | declined)', labelNames: ['provider', 'outcome'], registers: [registry] }),
    timeToPay: new client.Histogram({
      name: 'salescale_order_time_to_pay_seconds',
      help: 'Seconds from reservation to payment',
      buckets: [5, 15, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    }),
    latePayments: new client.Counter({
      name: 'salescale_late_payments_total',
      help: 'Payments that arrived for an order no longer payable (expired, cancelled, already paid), voided or refunded automatically',
      labelNames: ['provider', 'action'],
      registers: [registry],
    }),
    expired: expiredCounterFor(registry),
    webhooks: new client.Counter({
      name: 'salescale_payment_webhooks_total',
      help: 'Payment webhook events by outcome (processed | duplicate | signature_invalid | malformed | failed)',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    }),
    providerCalls: new client.Counter({
      name: 'salescale_payment_provider_calls_total',
      help: 'Capture, void, refund and create_intent calls to the payment provider, by outcome (succeeded | misconfigured | refused | failed)',
      labelNames: ['provider', 'action', 'outcome'],
      registers: [registry],
    }),
    problems: new client.Counter({
      name: 'salescale_payment_problems_total',
      help: 'Payments a person has to act on, by problem (refund_failed | disputed | dispute_lost | hold_lapsed)',
      labelNames: ['provider', 'problem'],
      registers: [registry],
    }),
  };
  cache.set(registry, metrics);
  return metrics;
}

/** `salescale_reservations_held`: orders waiting for payment, read from PostgreSQL at scrape time (cluster-wide). */
export function registerReservationsGauge(registry: client.Registry, count: () => Promise<number>): void {
  new client.Gauge({
    name: 'salescale_reservations_held',
    help: 'Orders reserved and waiting for payment (cluster-wide, from PostgreSQL)',
    registers: [registry],
    async collect() {
      this.set(await count().catch(() => Number.NaN));
    },
  });
}

/**
 * The problems a person has to act on that stay open in `salescale_payment_problems_open` until settled. All but
 * `hold_lapsed` are payment statuses; `hold_lapsed` is the applied payment `voided` of an order still `paid` (no refund
 * asked for): its hold released before it was captured, so the shop holds no money for it. Refunding the order (no
 * provider call: nothing is held) closes it, since nothing is owed to the shop any more.
 */
export const OPEN_PAYMENT_PROBLEMS = ['refund_failed', 'disputed', 'dispute_lost', 'hold_lapsed'] as const;
export type OpenPaymentProblem = (typeof OPEN_PAYMENT_PROBLEMS)[number];

/**
 * The problems an admin marks resolved once settled (a dispute open is settled by its closing): with the buyer
 * (`refund_failed`, `dispute_lost`), or the money collected another way or written off (`hold_lapsed`).
 */
export const RESOLVABLE_PAYMENT_PROBLEMS = ['refund_failed', 'dispute_lost', 'hold_lapsed'] as const;

/**
 * Gauges read from PostgreSQL at scrape time (cluster-wide, on every worker): what is still wrong now, where the
 * counters say what happened. An alert on them holds until the money is given back or the problem settled.
 * - `salescale_payments_owed_back{provider}`: payments we owe back (a late payment held or taken, an admin refund
 *   asked for) still not given back after the worker's first retry was due (`PAYMENT_GIVE_BACK_AFTER_S`);
 * - `salescale_payment_problems_open{provider,problem}`: payments whose refund failed or whose dispute was lost, and holds
 *   of paid orders released before they were captured (`hold_lapsed`), until an admin marks them resolved (a lapsed hold
 *   also once its order is refunded), and payments disputed, until the dispute closes.
 */
export function registerGiveBackGauges(
  registry: client.Registry,
  read: { provider: string; owed(): Promise<{ provider: string; count: number }[]>; problems(): Promise<{ provider: string; problem: string; count: number }[]> },
): void {
  new client.Gauge({
    name: 'salescale_payments_owed_back',
    help: 'Payments owed back (late, or an admin refund asked for) and not given back after the first retry was due (cluster-wide, from PostgreSQL)',
    labelNames: ['provider'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        this.set({ provider: read.provider }, 0);
        for (const row of await read.owed()) this.set({ provider: row.provider }, row.count);
      } catch {
        this.set({ provider: read.provider }, Number.NaN);
      }
    },
  });
  new client.Gauge({
    name: 'salescale_payment_problems_open',
    help: 'Payments whose refund failed or dispute was lost or whose hold lapsed before capture (until marked resolved) or that are disputed (cluster-wide, from PostgreSQL)',
    labelNames: ['provider', 'problem'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const problem of OPEN_PAYMENT_PROBLEMS) this.set({ provider: read.provider, problem }, 0);
        for (const row of await read.problems()) this.set({ provider: row.provider, problem: row.problem }, row.count);
      } catch {
        for (const problem of OPEN_PAYMENT_PROBLEMS) this.set({ provider: read.provider, problem }, Number.NaN);
      }
    },
  });
}

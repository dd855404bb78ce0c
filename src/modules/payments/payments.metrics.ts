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
  /** Webhook events by outcome (`processed` | `duplicate` | `signature_invalid` | `malformed`: refused with 400). */
  webhooks: client.Counter<'provider' | 'outcome'>;
  /** Money-moving calls to the provider after a decision (`capture` | `void` | `refund`), by outcome (`succeeded` | `failed`). */
  providerCalls: client.Counter<'provider' | 'action' | 'outcome'>;
}

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
      help: 'Payment webhook events by outcome (processed | duplicate | signature_invalid | malformed)',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    }),
    providerCalls: new client.Counter({
      name: 'salescale_payment_provider_calls_total',
      help: 'Capture, void and refund calls to the payment provider, by outcome (succeeded | failed)',
      labelNames: ['provider', 'action', 'outcome'],
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

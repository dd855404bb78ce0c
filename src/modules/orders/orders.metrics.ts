import client from 'prom-client';
import { clearGauge, readForScrape } from '../../platform/metrics/scrape-gauges.ts';
import type { CartStore } from '../cart/index.ts';

export interface CheckoutMetrics {
  /** Every order attempt by outcome: placed | out_of_stock | limit_exceeded | rejected | error. */
  attempts: client.Counter<'outcome'>;
  /** Orders created (replays of an earlier order are not counted again). */
  placed: client.Counter;
  /** Orders per statement sent to PostgreSQL (see the order batcher). */
  batchSize: client.Histogram;
  /** Sold-out refusals after a Redis data loss answered without reading the order under their key: too many waiting. */
  lossLookupsSkipped: client.Counter;
}

export function checkoutMetricsFor(registry: client.Registry, carts?: CartStore): CheckoutMetrics {
  if (carts) {
    // Cluster-wide figures (Redis), read at scrape time; every instance reports the same value, and none while
    // Redis does not answer (a gap, not a figure).
    let last: Promise<{ active: number; abandoned: number }> | undefined;
    const counts = () => (last ??= carts.counts().finally(() => setTimeout(() => (last = undefined), 1000).unref()));
    new client.Gauge({
      name: 'salescale_carts_active',
      help: 'Carts changed within CART_ABANDONED_AFTER_S (cluster-wide)',
      registers: [registry],
      async collect() {
        clearGauge(this);
        const read = await readForScrape(counts());
        if (read !== undefined) this.set(read.active);
      },
    });
    new client.Gauge({
      name: 'salescale_carts_abandoned',
      help: 'Carts untouched for longer than CART_ABANDONED_AFTER_S and not ordered (cluster-wide)',
      registers: [registry],
      async collect() {
        clearGauge(this);
        const read = await readForScrape(counts());
        if (read !== undefined) this.set(read.abandoned);
      },
    });
  }
  return {
    attempts: new client.Counter({ name: 'salescale_checkout_attempts_total', help: 'Order attempts by outcome', labelNames: ['outcome'], registers: [registry] }),
    placed: new client.Counter({ name: 'salescale_orders_placed_total', help: 'Orders placed', registers: [registry] }),
    lossLookupsSkipped: new client.Counter({
      name: 'salescale_checkout_loss_lookups_skipped_total',
      help: 'Sold-out refusals within the window after a Redis data loss answered without reading PostgreSQL for the order under their key (too many lookups waiting)',
      registers: [registry],
    }),
    batchSize: new client.Histogram({
      name: 'salescale_checkout_batch_size',
      help: 'Orders per statement sent to PostgreSQL by the order batcher',
      buckets: [1, 2, 4, 8, 16, 32, 60],
      registers: [registry],
    }),
  };
}

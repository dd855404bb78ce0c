import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import client from 'prom-client';
import type { LiveSaleCheck } from '../../modules/sale-events/index.ts';
import { createActiveUsers } from '../../platform/metrics/active-users.ts';
import { startEmfEmitter } from '../../platform/metrics/emf.ts';
import { clearGauge, readForScrape } from '../../platform/metrics/scrape-gauges.ts';
import type { Metrics } from '../../platform/metrics/metrics.ts';
import { CLOSE_STEP_MS, settlesWithin } from '../../shared/settles-within.ts';
import { onReplyDone } from '../../platform/http/reply-done.ts';

export interface ObservabilityDeps {
  metrics: Metrics;
  redis: Redis;
  prefix: string;
  /** Answers `salescale_sale_event_active` (the INFO alert "Sale event started"). */
  liveSale: LiveSaleCheck;
  /** Connections this instance holds open to PostgreSQL (EMF `DatabaseConnections`). */
  databaseConnections: () => number;
  instanceId: string;
  emf: { namespace: string | undefined; intervalMs: number };
}

/**
 * Business gauges of the web role — active users (distinct sessions over 5 minutes, cluster-wide, from
 * `request.sessionId` set by the session plugin), whether a sale event is live — and the optional
 * CloudWatch EMF lines. Gauges whose source does not answer at scrape time are left out.
 */
export function observability(deps: ObservabilityDeps): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app) => {
    const registry = deps.metrics.registry;
    const activeUsers = createActiveUsers({ redis: deps.redis, prefix: deps.prefix });
    // On reply done, not onResponse: a signed-in shopper who gave up waiting (a reload, a closed tab) was active.
    onReplyDone(app, (request) => {
      // Read structurally: the field is declared by the session plugin (modules/customers).
      const sessionId = (request as { sessionId?: string }).sessionId;
      if (sessionId) activeUsers.record(sessionId);
    });
    if (!registry.getSingleMetric('salescale_active_users')) {
      new client.Gauge({
        name: 'salescale_active_users',
        help: 'Distinct signed-in sessions seen in the last 5 minutes, cluster-wide (Redis HyperLogLog; every instance reports the same figure)',
        registers: [registry],
        async collect() {
          clearGauge(this);
          const count = await readForScrape(activeUsers.count());
          if (count !== undefined) this.set(count);
        },
      });
      new client.Gauge({
        name: 'salescale_sale_event_active',
        help: '1 while a sale event is live, else 0',
        registers: [registry],
        async collect() {
          clearGauge(this);
          const live = await readForScrape(deps.liveSale.isLive());
          if (live !== undefined) this.set(live ? 1 : 0);
        },
      });
    }
    const emf = deps.emf.namespace
      ? startEmfEmitter({
          namespace: deps.emf.namespace,
          intervalMs: deps.emf.intervalMs,
          registry,
          role: 'web',
          instanceId: deps.instanceId,
          databaseConnections: deps.databaseConnections,
        })
      : undefined;
    app.addHook('onClose', async () => {
      emf?.stop();
      // The last second's sessions, best effort: bounded, as a black-holed Redis never answers.
      await settlesWithin(activeUsers.close(), CLOSE_STEP_MS);
    });
  };
  return fp(plugin, { name: 'salescale-observability', fastify: '5.x' });
}

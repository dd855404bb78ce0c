import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import type { LoadMonitor } from '../../platform/load/load-monitor.ts';
import { shouldShed, trafficClassOf } from '../../platform/load/load-shed.ts';
import type { LoadShedMetrics } from '../../platform/load/load-shed.metrics.ts';
import { sendError } from '../../platform/http/error-reply.ts';
import { isOperationalPath } from './rate-limit.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `false`: never shed (the route's work is worth more than the load it adds: a payment provider's
     * webhook completes a sale whose stock is already taken, and a shed one is retried only minutes later).
     * @defaultValue true
     */
    shed?: boolean;
  }
}

/** Seconds a shed client is asked to wait: about a few sample windows, long enough for a retry elsewhere. */
export const SHED_RETRY_AFTER_S = 2;

/**
 * Refuses work before it is queued behind a saturated event loop: 503 `OVERLOADED` with `Retry-After`,
 * browsing first, writes only past the higher thresholds; never probes or routes marked `shed: false`
 * (payment webhooks, the admin API). Runs as the first hook, so a shed request
 * costs neither Redis (rate limits) nor the database. `/ready` reports the overload itself (see health.ts).
 */
export function loadShedding(options: { monitor: LoadMonitor; metrics: LoadShedMetrics }): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('onReady', async () => options.monitor.start());
    app.addHook('onClose', async () => options.monitor.stop());
    app.addHook('onRequest', async (request, reply) => {
      const level = options.monitor.level();
      if (level === 'normal' || isOperationalPath(request.routeOptions.url) || request.routeOptions.config?.shed === false) return;
      const traffic = trafficClassOf(request.method);
      if (!shouldShed(level, traffic)) return;
      options.metrics.shed.inc({ class: traffic });
      reply.header('retry-after', String(SHED_RETRY_AFTER_S));
      return sendError(reply, 503, 'OVERLOADED', 'the service is overloaded, please retry shortly');
    });
  };
  return fp(plugin, { name: 'salescale-load-shedding', fastify: '5.x' });
}

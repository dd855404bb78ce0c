import type { FastifyPluginAsync } from 'fastify';
import type { ClusterNode } from '../../platform/cluster/cluster-node.ts';
import { RecentRequests } from '../../platform/metrics/recent-requests.ts';
import { isOperationalPath } from './rate-limit.ts';

/**
 * Makes this web instance a member of the cluster: it joins (heartbeat, current degrade mode) when
 * the app is ready and leaves when it closes, and reports its request figures over the last
 * `windowSeconds` (probes, metrics and docs excluded: a scraper is not load).
 */
export function degradeMode(options: { cluster: ClusterNode; windowSeconds: number }): FastifyPluginAsync {
  const recent = new RecentRequests({ windowSeconds: options.windowSeconds });
  const figures = () => {
    const s = recent.summary();
    return { requests: s.requests, requestsPerMinute: s.requestsPerSecond * 60, p95Ms: s.p95Ms, errorRatePercent: s.errorRatePercent };
  };
  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('onResponse', async (request, reply) => {
      if (!isOperationalPath(request.routeOptions.url)) recent.record(reply.elapsedTime, reply.statusCode);
    });
    app.addHook('onReady', () => options.cluster.join('web', figures));
    app.addHook('onClose', () => options.cluster.leave('web'));
  };
  Object.assign(plugin, { [Symbol.for('skip-override')]: true });
  return plugin;
}

import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import type { ClusterNode } from '../../platform/cluster/cluster-node.ts';
import { DegradeSignals, type DependencyOutage } from '../../platform/cluster/degrade-signals.ts';
import { rateLimitSubject } from '../../platform/rate-limit/client-key.ts';
import { failedOnDependency } from '../error-handler.ts';
import { isLongLivedReply } from '../../platform/http/long-lived.ts';
import { onReplyDone } from '../../platform/http/reply-done.ts';
import { isOperationalPath, refusedOnlyByDegradeCut } from './rate-limit.ts';
import { CLOSE_STEP_MS, settlesWithin } from '../../shared/settles-within.ts';

/**
 * Makes this web instance a member of the cluster: it joins (heartbeat, current degrade mode) when
 * the app is ready and leaves when it closes, and reports its request figures over the last
 * `windowSeconds` (probes, metrics and docs excluded: a scraper is not load; so are long-lived streams,
 * whose duration is how long a visitor waited, not how slow the instance is).
 *
 * What counts: nothing answered while a dependency is down (an outage is `/ready`'s business, and a
 * reason to route elsewhere, not to degrade the cluster; the instance says so in its heartbeat). A server fault is a 5xx other than 503: a 503 is a refusal with `Retry-After` (load shed,
 * draining, a dependency down), and a 4xx is the client's. A 429 counts only when the client's normal (un-degraded) limits
 * would have admitted it and a degrade mode's cut alone refused it; any other 429 (past the normal limit, a login or
 * waiting-room refusal: limits no mode cuts) is not counted at all. Each request is attributed to its client
 * (customer id when signed in, else address, an IPv6 one by its /64, as the rate limits count them) so the
 * leader can tell one client from many.
 */
export function degradeMode(options: { cluster: ClusterNode; windowSeconds: number; outage: DependencyOutage }): FastifyPluginAsync {
  const signals = new DegradeSignals({ windowSeconds: options.windowSeconds });
  const figures = () => ({ ...signals.summary(), dependencyOutage: options.outage.active() });
  const plugin: FastifyPluginAsync = async (app) => {
    // Also for a client that hung up before the reply (no onResponse then): its request still took our time.
    onReplyDone(app, (request, reply, _abandoned, durationMs) => {
      if (isOperationalPath(request.routeOptions.url) || isLongLivedReply(request, reply)) return;
      if (failedOnDependency(reply)) options.outage.report();
      if (options.outage.active()) return;
      const status = reply.statusCode;
      // requests/min is demand within each client's normal budget. A 429 past that budget is a client flooding the shop,
      // answered for a Redis round trip: counted, one client would raise the cluster request rate past DEGRADE_*_RPM by
      // itself (that figure has no many-clients gate because a client cannot reach it past its rate limit). A 429 the
      // normal limit would have admitted, refused only by a degrade mode's cut, is counted: left out, the mode's own cut
      // would shrink the figure below DEGRADE_RECOVERY_PERCENT at a sale's peak, stepping down only to re-enter (flapping).
      // The login guard's and the waiting room's 429s are never marked: limits no mode cuts, so always past the normal one.
      if (status === 429 && !refusedOnlyByDegradeCut(request)) return;
      // The rate limits' subject: an IPv6 subscriber picks a new address of its /64 at will, and must not
      // pass for many clients (the gate that keeps one client from degrading the cluster).
      const client = rateLimitSubject({ ip: request.ip, customerId: request.customerId === undefined ? undefined : String(request.customerId) });
      signals.record(durationMs, status >= 500 && status !== 503, client.key);
    });
    app.addHook('onReady', () => options.cluster.join('web', figures));
    // Best effort (the heartbeat lapses anyway), and bounded: a black-holed Redis never answers the script.
    app.addHook('onClose', async () => void (await settlesWithin(options.cluster.leave('web'), CLOSE_STEP_MS)));
  };
  return fp(plugin, { name: 'salescale-degrade-mode', fastify: '5.x' });
}

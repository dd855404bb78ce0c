import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { noteAdminAction } from '../modules/audit/index.ts';
import type { ClusterNode } from '../platform/cluster/cluster-node.ts';
import { DomainError } from '../shared/errors.ts';
import { errorResponses } from '../platform/http/schemas.ts';

const Mode = Type.Union([Type.Literal('normal'), Type.Literal('elevated'), Type.Literal('critical')]);

export const PutModeBody = Type.Object(
  {
    mode: Type.Union([Type.Literal('normal'), Type.Literal('elevated'), Type.Literal('critical'), Type.Literal('auto')], { description: 'A level to force, or `auto` to follow the thresholds again' }),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Logged and sent with the team notification' })),
  },
  { additionalProperties: false },
);

const Figures = Type.Object({
  requestsPerMinute: Type.Number(),
  sampleRequests: Type.Number(),
  p95Ms: Type.Number(),
  errorRatePercent: Type.Number({ description: 'Server faults (5xx other than 503) per 100 counted requests' }),
  instances: Type.Array(Type.Object({ p95Ms: Type.Number(), errorRatePercent: Type.Number() }), { description: 'Each counted web instance with requests' }),
  clients: Type.Integer({ description: 'Distinct clients one instance saw in the window (the largest count)' }),
  faultClients: Type.Integer({ description: 'Distinct clients that hit a server fault (the largest count of one instance)' }),
  outageInstances: Type.Integer({ description: 'Web instances left out of latency and faults: a dependency is down for them' }),
  liveInstances: Type.Object({ web: Type.Integer(), worker: Type.Integer() }),
  costPerHourUsd: Type.Number(),
  costTodayUsd: Type.Number(),
});

export const ModeReply = Type.Object({
  mode: Mode,
  source: Type.Union([Type.Literal('auto'), Type.Literal('admin')]),
  forced: Type.Union([Mode, Type.Null()]),
  auto: Mode,
  reason: Type.String(),
  changedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  /** What this instance applies now. */
  settings: Type.Object({
    cacheTtl: Type.Object({ productS: Type.Integer(), categoriesS: Type.Integer(), popularS: Type.Integer() }),
    queueDelays: Type.Object({ emailMs: Type.Integer(), analyticsMs: Type.Integer(), inventoryMs: Type.Integer() }),
    rateLimitPercent: Type.Integer(),
  }),
  figures: Type.Union([Figures, Type.Null()], { description: 'Cluster-wide figures from the last heartbeats; null when Redis is unreachable' }),
});

class ModeStoreUnavailableError extends DomainError {
  constructor() {
    super('MODE_STORE_UNAVAILABLE', 'unavailable', 'the cluster mode store (Redis) is unreachable; the mode was not changed');
  }
}

/** `GET/PUT /admin/mode` (mounted under the admin prefix, behind the admin token). */
export function adminModeRoutes(cluster: ClusterNode): FastifyPluginAsyncTypebox {
  return async (app) => {
    const common = { tags: ['admin: degrade mode'], security: [{ adminToken: [] }] };
    const view = async () => {
      const state = cluster.state();
      const figures = await cluster.figures().catch(() => null);
      return { ...state, source: state.forced ? ('admin' as const) : ('auto' as const), settings: cluster.settings(), figures };
    };
    app.get('/mode', { schema: { ...common, response: { 200: ModeReply, ...errorResponses(401) } } }, view);
    app.put('/mode', { schema: { ...common, body: PutModeBody, response: { 200: ModeReply, ...errorResponses(400, 401, 503) } } }, async (request) => {
      const { mode, reason } = request.body;
      try {
        const { change } = await cluster.force(mode === 'auto' ? null : mode, reason ?? (mode === 'auto' ? 'returned to automatic' : `set to ${mode}`));
        if (Object.keys(change).length > 0) noteAdminAction(request, { change });
      } catch (error) {
        request.log.warn({ err: error }, 'could not change the degrade mode');
        throw new ModeStoreUnavailableError();
      }
      return view();
    });
  };
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ADMIN_ACTOR_MAX_LENGTH, InvalidAdminActorError } from './audit.errors.ts';
import type { AuditService } from './audit.service.ts';

import type { FieldChanges } from '../../shared/field-changes.ts';

/** What changed, per field, where the service had the value before and after at hand (no extra reads). */
export type AdminChange = FieldChanges;

/** What a route adds to its request's audit record. */
export interface AdminActionNote {
  /**
   * The route acted through, when the request's own route is a catch-all that forwards it (the queue dashboard's
   * `/admin/queues/*`: the dashboard's route, e.g. `/admin/queues/api/queues/:queueName/pause`).
   * @defaultValue the request's route
   */
  route?: string;
  /**
   * What was acted on, when the request's params do not say it (the dashboard's queue and job).
   * @defaultValue the request's params
   */
  target?: Record<string, unknown>;
  /** The product acted on, when the route's `:id` is not one (a product just created). */
  productId?: number;
  change?: AdminChange;
  /**
   * A failed request that is an action nonetheless (an admin refund whose provider call failed: the order is marked as
   * being refunded, and the worker's give-back retry finishes it): recorded with its 4xx/5xx status and this error.
   */
  error?: { code: string; providerCode?: string };
}

const notes = new WeakMap<FastifyRequest, AdminActionNote>();

/** Adds to the audit record of an admin mutation (the product it created, its before → after values). */
export function noteAdminAction(request: FastifyRequest, note: AdminActionNote): void {
  notes.set(request, { ...notes.get(request), ...note });
}

const MUTATIONS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Printable ASCII: a label that cannot forge log lines or hide characters. */
const ACTOR = new RegExp(`^[\\x20-\\x7E]{1,${ADMIN_ACTOR_MAX_LENGTH}}$`);
const PRODUCT_ROUTE = /\/admin\/products\/:id(\/|$)/;

/** The `X-Admin-Actor` label, validated; undefined without one. */
function getActor(request: FastifyRequest): string | undefined {
  const given = request.headers['x-admin-actor'];
  if (given === undefined) return undefined;
  if (typeof given !== 'string' || !ACTOR.test(given) || given.trim() === '') throw new InvalidAdminActorError();
  return given;
}

/** The request's trace id, as its log lines carry it (bound when tracing is on: see `buildServer`). */
function getTraceId(request: FastifyRequest): string | undefined {
  const log = request.log as typeof request.log & { bindings?: () => Record<string, unknown> };
  const traceId = log.bindings?.().traceId;
  return typeof traceId === 'string' ? traceId : undefined;
}

/**
 * The admin API's audit trail (OWASP ASVS 16.2/16.3), for the admin scope it is registered in, after the admin token
 * check: every successful mutation (POST/PUT/PATCH/DELETE answered below 400) gets one `admin action` log line and
 * an `admin_actions` row, written after the reply (never failing or delaying it); so does a failed request a route
 * notes as an action (`AdminActionNote.error`: an admin refund whose provider call failed). Other refused requests (401, 4xx) are
 * not actions: the token check logs its own refusals as security events. Bodies are never logged wholesale; the
 * token never; the actor is the caller's `X-Admin-Actor` label as given (self-declared: admin tokens carry no
 * identity), and a malformed label is refused with 400 `INVALID_ADMIN_ACTOR` before anything runs.
 *
 * Registered in each scope it audits (the admin API, the queue dashboard), it never settles the service: the service's
 * owner awaits `audit.settle()` once when the app closes (`buildServer`), not once per scope.
 */
export function adminAuditTrail(audit: AuditService) {
  return fp(
    async (admin: FastifyInstance) => {
      const actors = new WeakMap<FastifyRequest, string>();
      admin.addHook('onRequest', async (request) => {
        const actor = getActor(request);
        if (actor !== undefined) actors.set(request, actor);
      });
      admin.addHook('onResponse', async (request, reply) => {
        if (!MUTATIONS.has(request.method)) return;
        const note = notes.get(request) ?? {};
        if (reply.statusCode >= 400 && note.error === undefined) return;
        const route = note.route ?? request.routeOptions.url ?? 'unmatched';
        const target = note.target ?? ((request.params ?? {}) as Record<string, unknown>);
        const productId = note.productId ?? (PRODUCT_ROUTE.test(route) && typeof target.id === 'number' ? target.id : undefined);
        const traceId = getTraceId(request);
        const action = {
          actor: actors.get(request) ?? null,
          method: request.method,
          route,
          target,
          productId: productId ?? null,
          status: reply.statusCode,
          requestId: request.id,
          traceId: traceId ?? null,
          client: request.ip,
          // A write that changed nothing it named (a value resent as it was) is an action without a change.
          change: note.change && Object.keys(note.change).length > 0 ? note.change : null,
          error: note.error ?? null,
        };
        request.log.info({ admin: action }, 'admin action');
        audit.record(action);
      });
    },
    { name: 'salescale-admin-audit-trail', fastify: '5.x' },
  );
}

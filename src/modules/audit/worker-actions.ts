import type { Logger } from '../../platform/logger/logger.ts';
import type { Db } from '../../platform/db/client.ts';
import type { FieldChanges } from '../../shared/field-changes.ts';
import type { AuditRepository } from './audit.repository.ts';

/** The `route` of the rows the workers' give-back retry writes (not an HTTP route: no request made it). */
export const GIVE_BACK_AUDIT_ROUTE = 'payments:give-back-retry';

/** What a worker finished or gave up on, of a change an admin asked for. */
export interface WorkerAction {
  orderId: number;
  /** `given_back`: the money went back (status 200); `refused`: the provider refused for good, a person must act (502). */
  outcome: 'given_back' | 'refused';
  change: FieldChanges;
  /** Unique per attempt, e.g. `give-back-<payment id>-<attempt>`. */
  requestId: string;
  /** `refused`: why, as an admin's failed refund records it (`{ code, providerCode? }`). */
  error?: { code: string; providerCode?: string };
}

/**
 * The admin audit trail's rows for what a worker does to finish an admin's change later (an admin refund whose
 * provider call failed, given back or refused for good by the give-back retry): without them an auditor sees the
 * request and never when, or whether, the money went back. One row per outcome, in `admin_actions` beside the
 * admin's own: `actor` `worker`, `method` `WORKER`, `route` {@link GIVE_BACK_AUDIT_ROUTE}, `target` `{ orderId }`,
 * `client` the worker's instance id. Awaited by the caller, but never throws: a row PostgreSQL refuses is logged.
 */
export function createWorkerAuditTrail(deps: { db: () => Db; repo: AuditRepository; logger: Logger; instanceId: string }) {
  return {
    async record(action: WorkerAction): Promise<void> {
      await deps.repo
        .insert(deps.db(), {
          actor: 'worker',
          method: 'WORKER',
          route: GIVE_BACK_AUDIT_ROUTE,
          target: { orderId: action.orderId },
          productId: null,
          status: action.outcome === 'given_back' ? 200 : 502,
          requestId: action.requestId,
          traceId: null,
          client: deps.instanceId,
          change: action.change,
          error: action.error ?? null,
        })
        .catch((error: unknown) => deps.logger.warn({ err: error, requestId: action.requestId, orderId: action.orderId }, 'could not record a worker action in the admin audit trail'));
    },
  };
}

export type WorkerAuditTrail = ReturnType<typeof createWorkerAuditTrail>;

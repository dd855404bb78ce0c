import type { Job } from 'bullmq';
import { getTableName } from 'drizzle-orm';
import type { Database } from '../../platform/db/client.ts';
import { enqueueInTransaction } from '../../platform/outbox/outbox.ts';
import { jobClaims } from '../../platform/queue/queue.tables.ts';
import { limitJobTransaction, type JobTransactionLimits } from '../../platform/queue/job-transaction.ts';
import { jobIdOf, requirePayload, type JobHandlers } from '../../platform/queue/processing.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import { ORDER_ATTRIBUTES, setSpanAttributes } from '../../platform/telemetry/trace-context.ts';
import type { OrderExpiry } from './order-expiry.ts';
import { orderFollowUps, type FollowUpDelays } from './orders.follow-ups.ts';
import type { OrdersRepository } from './orders.repository.ts';
import { orders } from './orders.tables.ts';

/** The `expire-order`, `order-paid` and `cancel-open-intents` payload: the rest is read back from the order. */
export interface OrderJob {
  orderId: number;
}

/** Whether a payload is an `OrderJob` (also the payments module's `cancel-open-intents`). */
export function isOrderJob(data: unknown): data is OrderJob {
  const d = data as Record<string, unknown> | null;
  return typeof d === 'object' && d !== null && Number.isSafeInteger(d.orderId);
}

/**
 * When a relayed `expire-order` row still needs its job after a queue Redis loss (the relay's `stillNeeded`, an
 * SQL condition on the outbox row `o`): while its order still waits for payment. The job takes no claim, and an
 * order paid, expired or cancelled shows its effect; without this every order of the outbox's retention (one
 * expiry each) was queued again. A row whose `orderId` is not an integer is queued again (its job refuses it).
 */
export const EXPIRE_ORDER_STILL_NEEDED = `CASE WHEN (o.data->>'orderId') ~ '^[0-9]{1,18}$'
  THEN EXISTS (SELECT 1 FROM ${getTableName(orders)} x WHERE x.id = (o.data->>'orderId')::bigint AND x.status = 'pending_payment') ELSE true END`;

/**
 * `order-paid`: writes the follow-ups to the outbox with the job's claim, so a re-delivery adds none twice.
 * `followUpDelays` (read per job) defers the deferrable ones while the cluster is degraded.
 * `expire-order`: see `createOrderExpiry`.
 */
export function orderProcessors(deps: { db: Database; repo: OrdersRepository; expiry: OrderExpiry; followUpDelays?: () => FollowUpDelays; jobTransaction?: JobTransactionLimits }): JobHandlers {
  const { repo } = deps;
  const fanOut = async (job: Job) => {
    const { orderId } = requirePayload(job, isOrderJob);
    setSpanAttributes({ [ORDER_ATTRIBUTES.orderId]: orderId });
    const jobId = jobIdOf(job);
    return deps.db.primary.transaction(async (tx) => {
      await limitJobTransaction(tx, deps.jobTransaction);
      const claimed = await tx.insert(jobClaims).values({ queue: QUEUES.order, jobId }).onConflictDoNothing().returning({ jobId: jobClaims.jobId });
      if (claimed.length === 0) return { followUps: 0 };
      const order = await repo.loadPlaced(tx, orderId);
      if (!order) return { followUps: 0, missing: true };
      const ids = await enqueueInTransaction(tx, orderFollowUps(order, deps.followUpDelays?.()));
      return { followUps: ids.length };
    });
  };
  return {
    [JOBS.expireOrder]: async (job, token) => {
      const { orderId } = requirePayload(job, isOrderJob);
      setSpanAttributes({ [ORDER_ATTRIBUTES.orderId]: orderId });
      return deps.expiry.runJob(job, token, orderId);
    },
    [JOBS.orderPaid]: fanOut,
    [JOBS.orderPlacedLegacy]: fanOut,
  };
}

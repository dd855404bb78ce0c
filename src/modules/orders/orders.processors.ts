import type { Database } from '../../platform/db/client.ts';
import { enqueueInTransaction } from '../../platform/outbox/outbox.ts';
import { jobClaims } from '../../platform/queue/queue.tables.ts';
import { jobIdOf, requirePayload, type JobHandlers } from '../../platform/queue/processing.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import { orderFollowUps, type FollowUpDelays, type OrderPlaced } from './orders.follow-ups.ts';

function isOrderPlaced(data: unknown): data is OrderPlaced {
  const d = data as Record<string, unknown> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    (typeof d.orderId === 'number' || typeof d.orderId === 'string') &&
    typeof d.email === 'string' &&
    Array.isArray(d.items) &&
    Number.isInteger(d.totalCents) &&
    typeof d.currency === 'string' &&
    typeof d.placedAt === 'string'
  );
}

/**
 * `order-placed`: writes the follow-ups to the outbox with the job's claim, so a re-delivery adds none twice.
 * `followUpDelays` (read per job) defers the deferrable ones while the cluster is degraded.
 */
export function orderProcessors(deps: { db: Database; followUpDelays?: () => FollowUpDelays }): JobHandlers {
  return {
    [JOBS.orderPlaced]: async (job) => {
      const order = requirePayload(job, isOrderPlaced);
      const jobId = jobIdOf(job);
      return deps.db.primary.transaction(async (tx) => {
        const claimed = await tx.insert(jobClaims).values({ queue: QUEUES.order, jobId }).onConflictDoNothing().returning({ jobId: jobClaims.jobId });
        if (claimed.length === 0) return { followUps: 0 };
        const ids = await enqueueInTransaction(tx, orderFollowUps(order, deps.followUpDelays?.()));
        return { followUps: ids.length };
      });
    },
  };
}

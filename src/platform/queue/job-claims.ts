import type pg from 'pg';
import { deleteInBatches } from '../db/delete-in-batches.ts';

/**
 * Deletes job claims older than `retentionHours`, in batches, except those of jobs in `dead_letters`
 * that are waiting to be retried or were retried or discarded within the retention: such a job may have applied its
 * effect before it failed, and the retry (which may wait behind a backlog or a backoff) must still find
 * its claim. A claim outlives every re-delivery by far (a stalled job comes back within the lock
 * duration, a relay's repeated add within its next pass); without pruning the table grows by every
 * order and every request-count flush, for good. One gap: a job whose dead letter could not be written
 * (the worker logs "could not record a dead letter") stays in BullMQ's failed set only, and a retry of
 * it from Bull Board after the retention would apply its effect again. Returns how many were deleted.
 */
export async function pruneJobClaims(pool: pg.Pool, retentionHours: number): Promise<number> {
  return deleteInBatches(
    pool,
    `DELETE FROM job_claims WHERE ctid = ANY(ARRAY(
         SELECT c.ctid FROM job_claims c
          WHERE c.claimed_at < now() - make_interval(hours => $1)
            AND NOT EXISTS (
              SELECT 1 FROM dead_letters d
               WHERE d.queue = c.queue AND d.job_id = c.job_id AND ((d.retried_at IS NULL AND d.discarded_at IS NULL) OR d.retried_at > now() - make_interval(hours => $1)
                    OR d.discarded_at > now() - make_interval(hours => $1)))
          LIMIT $2))`,
    retentionHours,
  );
}

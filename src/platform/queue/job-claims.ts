import type pg from 'pg';

/** Claims deleted per statement: a short transaction. */
const PRUNE_BATCH = 5000;
/** Statements per call at the most: 100,000 claims a minute from the relay's clean-up, far above any sale's rate. */
const PRUNE_BATCHES = 20;

/**
 * Deletes job claims older than `retentionHours`, in batches, except those of jobs in `dead_letters`
 * that are waiting to be retried or were retried within the retention: such a job may have applied its
 * effect before it failed, and the retry (which may wait behind a backlog or a backoff) must still find
 * its claim. A claim outlives every re-delivery by far (a stalled job comes back within the lock
 * duration, a relay's repeated add within its next pass); without pruning the table grows by every
 * order and every request-count flush, for good. One gap: a job whose dead letter could not be written
 * (the worker logs "could not record a dead letter") stays in BullMQ's failed set only, and a retry of
 * it from Bull Board after the retention would apply its effect again. Returns how many were deleted.
 */
export async function pruneJobClaims(pool: pg.Pool, retentionHours: number): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < PRUNE_BATCHES; batch++) {
    const result = await pool.query(
      `DELETE FROM job_claims WHERE ctid = ANY(ARRAY(
         SELECT c.ctid FROM job_claims c
          WHERE c.claimed_at < now() - make_interval(hours => $1)
            AND NOT EXISTS (
              SELECT 1 FROM dead_letters d
               WHERE d.queue = c.queue AND d.job_id = c.job_id AND (d.retried_at IS NULL OR d.retried_at > now() - make_interval(hours => $1)))
          LIMIT $2))`,
      [retentionHours, PRUNE_BATCH],
    );
    deleted += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < PRUNE_BATCH) break;
  }
  return deleted;
}

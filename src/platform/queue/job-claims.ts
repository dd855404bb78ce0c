import type pg from 'pg';

/** Claims deleted per statement: a short transaction, repeated by the next pass while more are due. */
const PRUNE_BATCH = 5000;

/**
 * Deletes up to a batch of job claims older than `retentionHours`, except those of jobs waiting in
 * `dead_letters` to be retried: such a job may have applied its effect before it failed, and a retry
 * must still find its claim. A claim outlives every re-delivery by far (a stalled job comes back within
 * the lock duration, a relay's repeated add within its next pass); without pruning the table grows by
 * every order and every request-count flush, for good. Returns how many were deleted.
 */
export async function pruneJobClaims(pool: pg.Pool, retentionHours: number): Promise<number> {
  const result = await pool.query(
    `DELETE FROM job_claims WHERE ctid = ANY(ARRAY(
       SELECT c.ctid FROM job_claims c
        WHERE c.claimed_at < now() - make_interval(hours => $1)
          AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.queue = c.queue AND d.job_id = c.job_id AND d.retried_at IS NULL)
        LIMIT $2))`,
    [retentionHours, PRUNE_BATCH],
  );
  return result.rowCount ?? 0;
}

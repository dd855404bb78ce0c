import type pg from 'pg';

/** Rows deleted per statement: a short transaction. */
export const DELETE_BATCH = 5000;
/** Statements per call at the most: 100,000 rows a minute from the relay's clean-up, far above any sale's rate. */
const DELETE_BATCHES = 20;

/**
 * Runs `statement` — a DELETE of at most `$2` rows older than `$1` (its retention) — until it deletes fewer
 * than a batch or `DELETE_BATCHES` statements ran, each its own short transaction. Returns how many were deleted.
 */
export async function deleteInBatches(pool: pg.Pool, statement: string, retention: number): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < DELETE_BATCHES; batch++) {
    const result = await pool.query(statement, [retention, DELETE_BATCH]);
    deleted += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < DELETE_BATCH) break;
  }
  return deleted;
}

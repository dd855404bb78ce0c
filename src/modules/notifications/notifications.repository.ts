import { getTableName } from 'drizzle-orm';
import type pg from 'pg';
import { deleteInBatches } from '../../platform/db/delete-in-batches.ts';
import { sentEmails } from './notifications.tables.ts';

/** The table of email jobs' once-per-job records (`job_id` = the job's id), for the outbox relay's recovery. */
export const SENT_EMAILS_TABLE = getTableName(sentEmails);

/**
 * Deletes `sent_emails` records older than `retentionHours` (JOB_CLAIM_RETENTION_HOURS), in batches. A record
 * is an email job's once-per-job claim, needed while the job can still be delivered again (a stall, a relay's
 * repeated add, the relay re-sending what a queue Redis lost within OUTBOX_RETENTION_HOURS, which config keeps
 * at or below the claims' retention); a job whose record exists was sent, so no dead letter retries it. It also
 * holds the recipient's address, which must not be kept for good. Returns how many were deleted.
 */
export async function pruneSentEmails(pool: pg.Pool, retentionHours: number): Promise<number> {
  return deleteInBatches(
    pool,
    `DELETE FROM sent_emails WHERE job_id = ANY(ARRAY(
         SELECT job_id FROM sent_emails WHERE sent_at < now() - make_interval(hours => $1) LIMIT $2))`,
    retentionHours,
  );
}

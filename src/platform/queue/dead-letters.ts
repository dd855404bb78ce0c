import type { Job } from 'bullmq';
import type pg from 'pg';

/**
 * Records a job that exhausted its attempts (idempotent: the same job upserts one row, and a later
 * exhaustion after a retry clears `retried_at` again).
 */
export async function recordDeadLetter(pool: pg.Pool, queue: string, job: Job, reason: string): Promise<void> {
  await pool.query(
    `INSERT INTO dead_letters (queue, job_id, name, data, opts, failed_reason, attempts_made)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (queue, job_id) DO UPDATE SET failed_reason = excluded.failed_reason, attempts_made = excluded.attempts_made, failed_at = now(), retried_at = NULL`,
    [queue, job.id, job.name, JSON.stringify(job.data ?? null), JSON.stringify(persistableOptions(job)), reason.slice(0, 2000), job.attemptsMade],
  );
}

/**
 * Closes the job's dead letter, if it has one open: called by the worker once the job ran to completion, however it
 * came to run again (`queues retry-failed`, the dashboard's retry or retry-all, BullMQ's API, a re-added letter).
 * So a letter means work not done, and closes exactly when it is done: the gauge and QueueDeadLetters resolve, and
 * `queues retry-failed` never re-adds (and runs twice) a job that completed. One primary-key lookup per completed
 * job, which updates nothing for a job that never was a dead letter.
 */
export async function closeDeadLetterOnCompletion(pool: pg.Pool, queue: string, jobId: string): Promise<void> {
  await pool.query('UPDATE dead_letters SET retried_at = now() WHERE queue = $1 AND job_id = $2 AND retried_at IS NULL', [queue, jobId]);
}

/** The options worth keeping to re-enqueue the job (never its id or timestamps). */
function persistableOptions(job: Job): Record<string, unknown> {
  const { priority, attempts, backoff, lifo } = job.opts;
  return Object.fromEntries(Object.entries({ priority, attempts, backoff, lifo }).filter(([, v]) => v !== undefined));
}

export interface DeadLetter {
  queue: string;
  jobId: string;
  name: string;
  data: unknown;
  opts: Record<string, unknown>;
  failedReason: string;
  attemptsMade: number;
  failedAt: Date;
  /**
   * `failed_at` to the microsecond, as text: the letter as listed. A later failure of the same job (a retry
   * that failed again) changes it, so {@link markDeadLettersRetried} leaves that failure visible.
   */
  revision: string;
}

export async function listDeadLetters(pool: pg.Pool, queue?: string): Promise<DeadLetter[]> {
  const { rows } = await pool.query(
    `SELECT queue, job_id AS "jobId", name, data, opts, failed_reason AS "failedReason", attempts_made AS "attemptsMade", failed_at AS "failedAt", failed_at::text AS revision
     FROM dead_letters WHERE retried_at IS NULL AND ($1::text IS NULL OR queue = $1) ORDER BY failed_at`,
    [queue ?? null],
  );
  return rows as DeadLetter[];
}

/**
 * Marks letters retried, each only if it is still the failure that was listed: a retried job can fail again
 * (and record itself again) before the caller gets here, and that new failure must stay a dead letter.
 */
export async function markDeadLettersRetried(pool: pg.Pool, queue: string, letters: Pick<DeadLetter, 'jobId' | 'revision'>[]): Promise<number> {
  const result = await pool.query(
    `UPDATE dead_letters d SET retried_at = now()
       FROM unnest($2::text[], $3::timestamptz[]) AS l(job_id, failed_at)
      WHERE d.queue = $1 AND d.job_id = l.job_id AND d.failed_at = l.failed_at AND d.retried_at IS NULL`,
    [queue, letters.map((letter) => letter.jobId), letters.map((letter) => letter.revision)],
  );
  return result.rowCount ?? 0;
}

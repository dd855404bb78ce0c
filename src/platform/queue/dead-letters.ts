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
}

export async function listDeadLetters(pool: pg.Pool, queue?: string): Promise<DeadLetter[]> {
  const { rows } = await pool.query(
    `SELECT queue, job_id AS "jobId", name, data, opts, failed_reason AS "failedReason", attempts_made AS "attemptsMade", failed_at AS "failedAt"
     FROM dead_letters WHERE retried_at IS NULL AND ($1::text IS NULL OR queue = $1) ORDER BY failed_at`,
    [queue ?? null],
  );
  return rows as DeadLetter[];
}

export async function markDeadLettersRetried(pool: pg.Pool, queue: string, jobIds: string[]): Promise<void> {
  await pool.query('UPDATE dead_letters SET retried_at = now() WHERE queue = $1 AND job_id = ANY($2::text[])', [queue, jobIds]);
}

import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../outbox/outbox.ts';

/**
 * PostgreSQL's own limits on a job's transaction (WORKER_JOB_LOCK_TIMEOUT_MS, WORKER_JOB_IDLE_TIMEOUT_MS), so a
 * worker that freezes inside one (SIGSTOP, a paused VM, a long GC stall) cannot stall the healthy workers' jobs:
 * its connection stays open while it is frozen (the kernel still ACKs, TCP keepalive never fires), so nothing
 * else would end its transaction, and every job that needs what it holds (the claim of the job BullMQ re-delivers
 * once its lock lapses, a hot product's row) waited on it for as long as the freeze lasted.
 */
export interface JobTransactionLimits {
  /**
   * `lock_timeout`: a statement waiting longer than this on a lock fails with 55P03, which the worker treats as
   * the database being busy (`classifyDatabaseFailure`: the job is put back for later without using an attempt),
   * instead of holding a worker slot and a pooled connection behind the holder. 0 leaves it unlimited.
   */
  lockTimeoutMs: number;
  /**
   * `idle_in_transaction_session_timeout`: PostgreSQL ends the session of a transaction that sits idle (between two
   * statements) longer than this, rolling its claim and effect back and freeing its locks; the job is then run again
   * (a re-delivery, or this worker's retry once it thaws). 0 leaves it unlimited. Only for transactions that wait
   * on nothing outside PostgreSQL between their statements (an email's claim waits on the mail server: lock timeout only).
   */
  idleTimeoutMs: number;
}

/**
 * Defaults: a healthy job transaction is idle only for the client's work between its statements (well under a
 * millisecond, a few ms with the event loop busy) and its statements wait at most a few hundred ms on a hot row
 * (`update-stock` jobs of a sale's product: ~0.4 s under the chaos burst). 10 s of idleness is far beyond any pause a
 * live process shows, and below WORKER_LOCK_DURATION_MS (30 s): a frozen worker's claims are gone before BullMQ
 * re-delivers its jobs. 3 s of lock wait is 7× the longest observed and below DB_STATEMENT_TIMEOUT_MS (5 s), so a
 * wait behind a frozen holder ends as a lock timeout (put back for later, no attempt used), not a statement
 * timeout (an attempt used, a dead letter after the queue's attempts).
 */
export const DEFAULT_JOB_TRANSACTION_LIMITS: JobTransactionLimits = { lockTimeoutMs: 3000, idleTimeoutMs: 10_000 };

/** The longest either limit PostgreSQL holds (a 32-bit integer of ms): a longer one fails `set_config`, and so every job. */
export const MAX_JOB_TRANSACTION_LIMIT_MS = 2 ** 31 - 1;

/**
 * Sets the limits for the rest of the transaction (`set_config(…, true)`: local to it, the pooled connection keeps
 * its own settings afterwards). The first statement of a job's transaction, before it takes any lock.
 */
export async function limitJobTransaction(tx: DbOrTx, limits: Partial<JobTransactionLimits> = DEFAULT_JOB_TRANSACTION_LIMITS): Promise<void> {
  const settings = [
    ...(limits.lockTimeoutMs === undefined ? [] : [sql`set_config('lock_timeout', ${`${limits.lockTimeoutMs}ms`}, true)`]),
    ...(limits.idleTimeoutMs === undefined ? [] : [sql`set_config('idle_in_transaction_session_timeout', ${`${limits.idleTimeoutMs}ms`}, true)`]),
  ];
  if (settings.length > 0) await tx.execute(sql`select ${sql.join(settings, sql`, `)}`);
}

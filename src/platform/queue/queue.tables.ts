import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Jobs that exhausted their attempts, written before BullMQ moves them to its (trimmed) failed set,
 * so none is ever silently dropped. `salescale queues retry-failed <queue>` re-enqueues them;
 * `salescale queues discard` closes one that will never succeed. Open: `retried_at` and `discarded_at` both unset.
 */
export const deadLetters = pgTable(
  'dead_letters',
  {
    queue: text('queue').notNull(),
    jobId: text('job_id').notNull(),
    name: text('name').notNull(),
    data: jsonb('data').notNull(),
    opts: jsonb('opts').notNull().default({}),
    failedReason: text('failed_reason').notNull(),
    /**
     * The job's name, data and options held a NUL character (U+0000), which PostgreSQL's text and jsonb refuse, or half
     * a surrogate pair, which jsonb refuses: they are stored escaped, each NUL as `\0`, each half pair as `\ud800` (`\u`
     * and its hex digits) and each backslash as `\\` (in every string of `data` and `opts`, keys included), and read
     * back unescaped (`listDeadLetterPage`), so a re-added job gets its original content.
     */
    nulEscaped: boolean('nul_escaped').notNull().default(false),
    attemptsMade: integer('attempts_made').notNull(),
    failedAt: timestamp('failed_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /**
     * The job's creation time as BullMQ keeps it (`job.timestamp`, ms, the producer's clock), written with the
     * letter and again by a later exhaustion: the job held under `job_id` is the letter's own iff its timestamp is
     * this one (a job added later under a reused id is another job). Null on letters written before the column.
     */
    jobCreatedAt: bigint('job_created_at', { mode: 'number' }),
    /**
     * Set when the letter's job completes (however it was retried) or when `queues retry-failed` re-adds it;
     * a later exhaustion clears it again.
     */
    retriedAt: timestamp('retried_at', { withTimezone: true, mode: 'date' }),
    /** Set by `queues discard`: closed without running the job again; a later exhaustion clears it. */
    discardedAt: timestamp('discarded_at', { withTimezone: true, mode: 'date' }),
    /** Why the letter was discarded (`--reason`), for whoever finds the row later. */
    discardReason: text('discard_reason'),
    /** Who discarded it (`--actor`, else the operating-system user running the CLI). */
    discardedBy: text('discarded_by'),
  },
  (t) => [primaryKey({ columns: [t.queue, t.jobId] })],
);

/**
 * One row per job whose database side effect has been applied, written in the same transaction as
 * the effect: a re-delivered job (BullMQ is at-least-once) finds its row and does nothing. Kept for
 * JOB_CLAIM_RETENTION_HOURS (`pruneJobClaims`), far beyond any re-delivery, and for as long as the job
 * waits in `dead_letters` to be retried (and a retention after its retry).
 */
export const jobClaims = pgTable(
  'job_claims',
  {
    queue: text('queue').notNull(),
    jobId: text('job_id').notNull(),
    claimedAt: timestamp('claimed_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  // For the pruning's range scan. A B-tree: a BRIN index (0011) stopped narrowing it once pruned pages
  // were reused by new claims (measured on 1.2 M rows: every page read to find 4 old claims).
  (t) => [primaryKey({ columns: [t.queue, t.jobId] }), index('job_claims_claimed_at_btree_idx').on(t.claimedAt)],
);

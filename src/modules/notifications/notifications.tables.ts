import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * One row per email job whose message the mail server accepted. The row is inserted before sending
 * in a transaction that commits only after the server's acceptance: a concurrent re-delivery of the
 * same job waits on the row and then skips, a crashed send rolls the row back and is retried. Deleted after
 * JOB_CLAIM_RETENTION_HOURS (`pruneSentEmails`), by `sent_at`.
 */
export const sentEmails = pgTable(
  'sent_emails',
  {
    jobId: text('job_id').primaryKey(),
    template: text('template').notNull(),
    recipient: text('recipient').notNull(),
    messageId: text('message_id').notNull(),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('sent_emails_sent_at_idx').on(t.sentAt)],
);

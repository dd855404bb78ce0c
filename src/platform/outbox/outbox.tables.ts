import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The transactional outbox: follow-up work written in the same transaction as the change that
 * needs it, moved into BullMQ by the relay (job id `outbox-<id>`), marked relayed, deleted later.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    queue: text('queue').notNull(),
    name: text('name').notNull(),
    data: jsonb('data').notNull(),
    /** BullMQ job options (priority, delay, …) merged over the queue's defaults. */
    opts: jsonb('opts').notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    relayedAt: timestamp('relayed_at', { withTimezone: true, mode: 'date' }),
    /** Relay attempts that failed (Redis away, bad options); the row stays for the next pass. */
    relayErrors: integer('relay_errors').notNull().default(0),
    lastError: text('last_error'),
    /**
     * The trace of the work that wrote the row (BullMQ telemetry metadata: a JSON W3C `traceparent`
     * carrier), so the job continues that trace; null while tracing is off. Rows written by SQL
     * functions take it from the transaction's `salescale.trace_context` setting.
     */
    traceContext: text('trace_context').default(sql`nullif(current_setting('salescale.trace_context', true), '')`),
    /**
     * Set by a writer that may write the same row again without knowing whether its first write committed (a
     * reply lost after the commit): the insert is `ON CONFLICT DO NOTHING`, so the row, and its job, exist once.
     * Null for the others. Unique while the row is kept (`OUTBOX_RETENTION_HOURS`).
     */
    dedupeKey: text('dedupe_key'),
  },
  (t) => [
    // The relay's only query path: the unrelayed rows in id order. Stays tiny when the relay keeps up.
    index('outbox_unrelayed_idx').on(t.id).where(sql`${t.relayedAt} IS NULL`),
    index('outbox_relayed_at_idx').on(t.relayedAt).where(sql`${t.relayedAt} IS NOT NULL`),
    // Partial: the rows without a key (every order's follow-ups) add nothing to it.
    uniqueIndex('outbox_dedupe_key_idx').on(t.dedupeKey).where(sql`${t.dedupeKey} IS NOT NULL`),
  ],
);

import { sql } from 'drizzle-orm';
import { bigint, check, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { saleEvents } from '../sale-events/sale-events.tables.ts';

/**
 * Which waiting-room passes bought their order: a pass buys one order, and that is business state, so it
 * lives here and not in Redis (which may lose everything, and a pass still valid would buy a second order).
 * One row per spent pass, named by its sale event and ticket; `order_ref` is the order that spent it (its
 * idempotency scope and key), so a retry of that order finds the pass spent on itself and goes on. A row
 * is deleted only by its own order being refused or failing (the pass is given back, with any row a merge
 * spent on that order; a merged-away ticket's row keeps its `replaced_by`), or with its sale event: a deleted event's products need no pass any more.
 *
 * A ticket a merge took out of the line (a shopper's guest and account tickets, on signing in: see the room's JOIN)
 * has a row too, with `replaced_by` the ticket kept and no `order_ref`: its pass, a signed token good on its face,
 * buys nothing (403 PASS_REPLACED), and that survives a loss of Redis, where the merge itself is recorded.
 */
export const waitingRoomSpentPasses = pgTable(
  'waiting_room_spent_passes',
  {
    saleEventId: bigint('sale_event_id', { mode: 'number' })
      .notNull()
      .references(() => saleEvents.id, { onDelete: 'cascade' }),
    ticketId: text('ticket_id').notNull(),
    /** The order that spent the pass; null for a ticket merged away (`replacedBy`). */
    orderRef: text('order_ref'),
    /** The ticket a merge kept in place of this one (whose pass then buys nothing); null for a spent pass. */
    replacedBy: text('replaced_by'),
    spentAt: timestamp('spent_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.saleEventId, t.ticketId] }),
    check('waiting_room_spent_passes_spent_or_replaced', sql`${t.orderRef} IS NOT NULL OR ${t.replacedBy} IS NOT NULL`),
  ],
);

import { and, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.ts';
import { saleEvents } from '../sale-events/index.ts';
import { waitingRoomSpentPasses } from './waiting-room.tables.ts';

/** A pass as the spent-passes table names it: its sale event and ticket. */
export interface PassRef {
  saleEventId: number;
  ticketId: string;
}

/**
 * What spending a pass on an order found: `spent` now, `again` (this order had spent it), `elsewhere` (another order
 * had), `replaced` (its ticket was merged into another ticket of its shopper: see `recordMerges`).
 */
export type SpendOutcome = 'spent' | 'again' | 'elsewhere' | 'replaced';

/** A merge took `ticketId` out of the line for `keptId`, the same shopper's other ticket (see the room's JOIN). */
export interface MergedTicket {
  ticketId: string;
  keptId: string;
}

/** The waiting room's SQL: which passes bought their order (`waiting_room_spent_passes`). */
export function createWaitingRoomRepository() {
  const row = (pass: PassRef) => and(eq(waitingRoomSpentPasses.saleEventId, pass.saleEventId), eq(waitingRoomSpentPasses.ticketId, pass.ticketId));

  return {
    /**
     * Spends `pass` on the order `orderRef`, atomically: of any number of callers at once, on any
     * instances, one inserts the row and the others find it. `ON CONFLICT DO NOTHING` waits for a
     * concurrent insert of the same pass to commit or roll back; the row it then met is read by a second
     * statement, whose snapshot sees it (one statement could not: its snapshot predates the wait). If that
     * row was given back in between, the insert is tried again. DO NOTHING, not a no-op DO UPDATE that
     * would return the row at once: copies of a pass presented together then write nothing.
     */
    async spend(db: Db, pass: PassRef, orderRef: string): Promise<SpendOutcome> {
      for (;;) {
        const inserted = await db
          .insert(waitingRoomSpentPasses)
          .values({ ...pass, orderRef })
          .onConflictDoNothing()
          .returning({ orderRef: waitingRoomSpentPasses.orderRef });
        if (inserted.length > 0) return 'spent';
        const [existing] = await db
          .select({ orderRef: waitingRoomSpentPasses.orderRef, replacedBy: waitingRoomSpentPasses.replacedBy })
          .from(waitingRoomSpentPasses)
          .where(row(pass));
        if (existing) return existing.orderRef === orderRef ? 'again' : existing.orderRef === null ? 'replaced' : 'elsewhere';
      }
    },

    /**
     * The order `pass` was spent on (its `orderRef`); null for a ticket a merge took out of the line with no order,
     * undefined for a pass not spent.
     */
    async orderOf(db: Db, pass: PassRef): Promise<string | null | undefined> {
      const [existing] = await db.select({ orderRef: waitingRoomSpentPasses.orderRef }).from(waitingRoomSpentPasses).where(row(pass));
      return existing?.orderRef;
    },

    /** Whether `pass` has bought an order (or is held by one whose outcome is unknown). */
    async isSpent(db: Db, pass: PassRef): Promise<boolean> {
      const [existing] = await db
        .select({ orderRef: waitingRoomSpentPasses.orderRef })
        .from(waitingRoomSpentPasses)
        .where(and(row(pass), isNotNull(waitingRoomSpentPasses.orderRef)));
      return existing !== undefined;
    },

    /**
     * Records tickets a merge took out of the line (a merge is rare: a shopper signing in with a guest ticket while
     * their account holds another), so their passes buy nothing whatever Redis loses: `spend` then finds the row and
     * answers `replaced`. A ticket whose pass already bought an order (or is buying it now) keeps that order on its
     * row (that order's retry still goes on), and the ticket kept for it is spent on that same order: one shopper, one order in a sale, so
     * the kept ticket's pass, which the shopper holds now, is `elsewhere` (PASS_USED). A ticket recorded already
     * (or a kept ticket whose own pass bought an order) is left as it is.
     */
    async recordMerges(db: Db, saleEventId: number, merges: readonly MergedTicket[]): Promise<void> {
      if (merges.length === 0) return;
      await db.transaction(async (tx) => {
        // One upsert per dropped ticket, which waits for a spend of its pass still in flight and then returns the
        // row as committed: a prior read would miss that spend (its snapshot predates the commit), and the kept
        // ticket would not be spent on the order. The row is marked (a spent one keeps its order: if that order is
        // refused, `giveBack` leaves the mark); it stays locked until the kept tickets are written.
        const dropped = await tx
          .insert(waitingRoomSpentPasses)
          .values([...new Map(merges.map((merge) => [merge.ticketId, { saleEventId, ticketId: merge.ticketId, replacedBy: merge.keptId }])).values()])
          .onConflictDoUpdate({
            target: [waitingRoomSpentPasses.saleEventId, waitingRoomSpentPasses.ticketId],
            set: { replacedBy: sql`coalesce(${waitingRoomSpentPasses.replacedBy}, excluded.replaced_by)` },
          })
          .returning({ ticketId: waitingRoomSpentPasses.ticketId, orderRef: waitingRoomSpentPasses.orderRef });
        const orderOf = new Map(dropped.flatMap((row) => (row.orderRef === null ? [] : [[row.ticketId, row.orderRef] as const])));
        const kept = merges.flatMap((merge) => {
          const orderRef = orderOf.get(merge.ticketId);
          return orderRef === undefined ? [] : [{ saleEventId, ticketId: merge.keptId, orderRef }];
        });
        if (kept.length > 0) await tx.insert(waitingRoomSpentPasses).values(kept).onConflictDoNothing();
      });
    },

    /** Which of `ticketIds` a merge took out of the line, each with the ticket kept (see `recordMerges`). */
    async replacedOf(db: Db, saleEventId: number, ticketIds: readonly string[]): Promise<Map<string, string>> {
      if (ticketIds.length === 0) return new Map();
      const rows = await db
        .select({ ticketId: waitingRoomSpentPasses.ticketId, replacedBy: waitingRoomSpentPasses.replacedBy })
        .from(waitingRoomSpentPasses)
        .where(and(eq(waitingRoomSpentPasses.saleEventId, saleEventId), inArray(waitingRoomSpentPasses.ticketId, [...ticketIds]), isNotNull(waitingRoomSpentPasses.replacedBy)));
      return new Map(rows.map((row) => [row.ticketId, row.replacedBy!]));
    },

    /**
     * Runs `use` with whether the event's room is held (switched on and paused) as committed now, under the event
     * row's `FOR NO KEY UPDATE` lock, which the admin's update of the event (the same lock) and every other caller
     * wait for. So writes made in `use` happen in the order of the changes they follow: the one made after the
     * change committed last reads that change, and no earlier one can come after it. An event gone reads as not
     * held. (`NO KEY`: the checkout's foreign-key checks on the row, `FOR KEY SHARE`, do not wait for it.)
     */
    async withRoomHold(db: Db, saleEventId: number, use: (held: boolean) => Promise<void>): Promise<void> {
      await db.transaction(async (tx) => {
        const [row] = await tx
          .select({ enabled: saleEvents.waitingRoomEnabled, paused: saleEvents.waitingRoomPaused })
          .from(saleEvents)
          .where(eq(saleEvents.id, saleEventId))
          .for('no key update');
        await use(row?.enabled === true && row.paused);
      });
    },

    /**
     * Gives `pass` back if `orderRef` spent it (that order was not placed); true when it had. Every row of the sale
     * that order holds goes with it: a merge made while the order was in flight spent the ticket kept on it too (see
     * `recordMerges`), and that pass, the shopper's now, must buy their order. A row a merge marked keeps its mark
     * (`replaced_by`) without the order, so a ticket merged away stays refused. The pass's own row is locked first,
     * so a merge recording it meanwhile is either seen whole or waits for this.
     */
    async giveBack(db: Db, pass: PassRef, orderRef: string): Promise<boolean> {
      return db.transaction(async (tx) => {
        const own = await tx
          .select({ ticketId: waitingRoomSpentPasses.ticketId })
          .from(waitingRoomSpentPasses)
          .where(and(row(pass), eq(waitingRoomSpentPasses.orderRef, orderRef)))
          .for('update');
        if (own.length === 0) return false;
        const ofOrder = and(eq(waitingRoomSpentPasses.saleEventId, pass.saleEventId), eq(waitingRoomSpentPasses.orderRef, orderRef));
        await tx
          .update(waitingRoomSpentPasses)
          .set({ orderRef: null })
          .where(and(ofOrder, isNotNull(waitingRoomSpentPasses.replacedBy)));
        await tx.delete(waitingRoomSpentPasses).where(and(ofOrder, isNull(waitingRoomSpentPasses.replacedBy)));
        return true;
      });
    },
  };
}

export type WaitingRoomRepository = ReturnType<typeof createWaitingRoomRepository>;

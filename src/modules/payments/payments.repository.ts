import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.ts';
import type { DbOrTx } from '../../platform/outbox/outbox.ts';
import { paymentEvents, payments, type PaymentStatus } from './payments.tables.ts';

export type PaymentRow = typeof payments.$inferSelect;

/**
 * How far a payment got; a status only ever moves to a higher rank, so a webhook that arrives after a
 * newer one (Stripe does not promise order) changes nothing. `captured` and `voided` are both final
 * for the hold: neither replaces the other.
 */
export const PAYMENT_STATUS_RANK: Record<PaymentStatus, number> = { requires_payment: 0, failed: 1, authorized: 2, captured: 3, voided: 3, refunded: 4 };

const rankSql = (column: unknown) => sql`(case ${column} when 'requires_payment' then 0 when 'failed' then 1 when 'authorized' then 2 when 'captured' then 3 when 'voided' then 3 else 4 end)`;

export function createPaymentsRepository() {
  return {
    async findByIntent(db: DbOrTx, provider: string, intentId: string): Promise<PaymentRow | undefined> {
      const rows = await db
        .select()
        .from(payments)
        .where(and(eq(payments.provider, provider), eq(payments.intentId, intentId)));
      return rows[0];
    },

    /** The payment row of (provider, intent), created if new, locked for this transaction. */
    async lockOrCreate(
      tx: DbOrTx,
      input: { orderId: number; provider: string; intentId: string; amountCents: number; currency: string; clientSecret?: string },
    ): Promise<PaymentRow> {
      await tx
        .insert(payments)
        .values({ ...input, clientSecret: input.clientSecret ?? null })
        .onConflictDoNothing();
      const rows = await tx
        .select()
        .from(payments)
        .where(and(eq(payments.provider, input.provider), eq(payments.intentId, input.intentId)))
        .for('update');
      return rows[0]!;
    },

    /** Moves a payment forward (never back, see PAYMENT_STATUS_RANK) and sets its flags; returns whether the status changed. */
    async advance(tx: DbOrTx, id: number, status: PaymentStatus, flags: { applied?: boolean; late?: boolean; failureCode?: string } = {}): Promise<boolean> {
      const set: Record<string, unknown> = { updatedAt: sql`now()` };
      if (flags.applied !== undefined) set.applied = flags.applied;
      if (flags.late !== undefined) set.late = flags.late;
      if (flags.failureCode !== undefined) set.failureCode = flags.failureCode;
      if (Object.keys(set).length > 1) await tx.update(payments).set(set).where(eq(payments.id, id));
      const moved = await tx
        .update(payments)
        .set({ status, updatedAt: sql`now()` })
        .where(and(eq(payments.id, id), sql`${rankSql(payments.status)} < ${PAYMENT_STATUS_RANK[status]}`))
        .returning({ id: payments.id });
      return moved.length > 0;
    },

    /** The payment that made the order paid. */
    async applied(db: DbOrTx, orderId: number): Promise<PaymentRow | undefined> {
      const rows = await db
        .select()
        .from(payments)
        .where(and(eq(payments.orderId, orderId), eq(payments.applied, true)));
      return rows[0];
    },

    /** The newest payment of an order still waiting for the buyer (reused instead of creating another). */
    async openIntent(db: DbOrTx, orderId: number, provider: string): Promise<PaymentRow | undefined> {
      const rows = await db
        .select()
        .from(payments)
        .where(and(eq(payments.orderId, orderId), eq(payments.provider, provider), eq(payments.status, 'requires_payment')))
        .orderBy(desc(payments.id))
        .limit(1);
      return rows[0];
    },

    async eventSeen(db: Db, provider: string, eventId: string): Promise<boolean> {
      const rows = await db
        .select({ outcome: paymentEvents.outcome })
        .from(paymentEvents)
        .where(and(eq(paymentEvents.provider, provider), eq(paymentEvents.eventId, eventId)));
      return rows.length > 0;
    },

    /** Records a processed event; false if it was already recorded (a concurrent replay). */
    async recordEvent(db: DbOrTx, input: { provider: string; eventId: string; type: string; intentId?: string; outcome: string }): Promise<boolean> {
      const rows = await db
        .insert(paymentEvents)
        .values({ ...input, intentId: input.intentId ?? null })
        .onConflictDoNothing()
        .returning({ eventId: paymentEvents.eventId });
      return rows.length > 0;
    },
  };
}

export type PaymentsRepository = ReturnType<typeof createPaymentsRepository>;

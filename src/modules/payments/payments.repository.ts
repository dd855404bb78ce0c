import { and, desc, eq, getTableColumns, inArray, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../platform/outbox/outbox.ts';
import { orders } from '../orders/orders.tables.ts';
import type { OpenPaymentProblem } from './payments.metrics.ts';
import { paymentEvents, payments, type PaymentStatus } from './payments.tables.ts';

export type PaymentRow = typeof payments.$inferSelect;

/**
 * How far a payment got; a status only ever moves to a higher rank, so a webhook that arrives after a
 * newer one (Stripe does not promise order) changes nothing. `captured` and `voided` are both final
 * for the hold: neither replaces the other.
 */
export const PAYMENT_STATUS_RANK: Record<PaymentStatus, number> = {
  requires_payment: 0,
  failed: 1,
  authorized: 2,
  captured: 3,
  voided: 3,
  refunded: 4,
  // What happens to taken money afterwards: a refund failing, a dispute opened, then closed. A `charge.refunded`
  // (re)delivered after the refund failed does not hide the failure; a dispute's closing is final.
  refund_failed: 5,
  disputed: 5,
  dispute_won: 6,
  dispute_lost: 6,
};

const rankSql = (column: unknown) =>
  sql`(case ${column} ${sql.join(
    Object.entries(PAYMENT_STATUS_RANK).map(([status, rank]) => sql`when ${sql.raw(`'${status}'`)} then ${sql.raw(String(rank))}`),
    sql` `,
  )} end)`;

/**
 * Money we still owe back, `olderThanS` after it became owed: a late payment (voided if held, refunded if taken) whose
 * status did not move past held or taken, and the applied payment of a paid order an admin asked to refund (held,
 * taken, or a dispute won). The order is read unlocked: whoever acts on it locks it first.
 */
const owedSql = (olderThanS: number) => sql`(
  (${payments.late} and ${payments.status} in ('authorized', 'captured') and ${payments.updatedAt} <= now() - make_interval(secs => ${olderThanS}))
  or (${payments.applied} and ${payments.status} in ('authorized', 'captured', 'dispute_won') and exists (
    select 1 from ${orders} where ${orders.id} = ${payments.orderId} and ${orders.status} = 'paid'
      and ${orders.refundRequestedAt} is not null and ${orders.refundRequestedAt} <= now() - make_interval(secs => ${olderThanS}))))`;

/**
 * `hold_lapsed`: the payment that made its order paid, released at the provider before it was captured (`voided`; a
 * capture is final, so an applied `voided` payment was never captured), while the order is still `paid` with no refund
 * asked for (a refund's own void releases it too, and a refunded order owes the shop nothing): the shop holds no money
 * for an order it still counts as paid.
 */
const lapsedHoldSql = sql`(${payments.applied} and ${payments.status} = 'voided' and exists (
  select 1 from ${orders} where ${orders.id} = ${payments.orderId} and ${orders.status} = 'paid' and ${orders.refundRequestedAt} is null))`;

/** Payments in one of `problems`: a payment status, or `hold_lapsed` (see `lapsedHoldSql`). */
function problemSql(problems: readonly OpenPaymentProblem[]): SQL {
  const statuses = problems.filter((p): p is Exclude<OpenPaymentProblem, 'hold_lapsed'> => p !== 'hold_lapsed');
  const parts = [...(statuses.length > 0 ? [inArray(payments.status, statuses)] : []), ...(problems.includes('hold_lapsed') ? [lapsedHoldSql] : [])];
  return or(...parts) ?? sql`false`;
}

/** An order's payment still waiting for the buyer (its intent created, not yet authorized, failed or canceled). */
/**
 * A payment its buyer could still pay with at the provider: one whose client secret the buyer holds (a Stripe intent;
 * the test provider's are decided in the pay call), created and not confirmed, or declined (Stripe takes another card on
 * the same intent); `late` ones are being given back.
 */
export const STILL_OPEN_STATUSES = ['requires_payment', 'failed'] as const satisfies readonly PaymentStatus[];

const openOf = (orderId: number, provider: string) => and(eq(payments.orderId, orderId), eq(payments.provider, provider), eq(payments.status, 'requires_payment'));

/** An order's payment that can no longer be paid with: voided or refunded at the provider, or late (being given back). */
const deadOf = (orderId: number, provider: string) =>
  and(eq(payments.orderId, orderId), eq(payments.provider, provider), or(inArray(payments.status, ['voided', 'refunded']), eq(payments.late, true)));

const paymentColumns = Object.entries(getTableColumns(payments));

/** A payments row as `row_to_json` gives it (snake_case keys, timestamps as text) in the shape Drizzle reads it. */
function paymentFromJson(json: Record<string, unknown>): PaymentRow {
  const row: Record<string, unknown> = {};
  for (const [key, column] of paymentColumns) {
    const value = json[column.name];
    row[key] = value !== null && value !== undefined && column.columnType === 'PgTimestamp' ? new Date(value as string) : value;
  }
  return row as PaymentRow;
}

/**
 * The payment's amount and what the rollups counted of it so far as refunded and as charged back, read FOR UPDATE in
 * the caller's transaction (`countRefunded`, `countChargeback`): undefined when there is no such payment.
 */
async function countedForUpdate(tx: DbOrTx, id: number): Promise<{ amountCents: number; refunded: number; chargedBack: number } | undefined> {
  const rows = await tx
    .select({ amountCents: payments.amountCents, refunded: payments.refundedCountedCents, chargedBack: payments.chargedBackCountedCents })
    .from(payments)
    .where(eq(payments.id, id))
    .for('update');
  return rows[0];
}

export function createPaymentsRepository() {
  const repository = {
    async findByIntent(db: DbOrTx, provider: string, intentId: string): Promise<PaymentRow | undefined> {
      const rows = await db
        .select()
        .from(payments)
        .where(and(eq(payments.provider, provider), eq(payments.intentId, intentId)));
      return rows[0];
    },

    /**
     * Whether the provider's event was processed already, and the payment of (provider, intent) if known: the two reads
     * before an event is decided, in one round trip.
     */
    async eventSeenAndPayment(db: DbOrTx, provider: string, eventId: string, intentId: string | undefined): Promise<{ seen: boolean; payment: PaymentRow | undefined }> {
      const seen = sql<boolean>`exists (select 1 from ${paymentEvents} where ${paymentEvents.provider} = ${provider} and ${paymentEvents.eventId} = ${eventId})`;
      if (intentId === undefined) {
        const rows = await db.execute<{ seen: boolean }>(sql`select ${seen} as seen`);
        return { seen: rows.rows[0]!.seen, payment: undefined };
      }
      // The event's flag beside the payment's row, if any (a left join from one row).
      const rows = await db
        .select({ seen, payment: payments })
        .from(sql`(select 1) as one`)
        .leftJoin(payments, and(eq(payments.provider, provider), eq(payments.intentId, intentId)));
      return { seen: rows[0]!.seen, payment: rows[0]!.payment ?? undefined };
    },

    /**
     * The insert of a payment of (provider, intent) as a statement for `lockForPaymentAnd` (one round trip with the order's
     * lock, after it: the lock order is unchanged): the payment for the locked order, its amount and currency the order's
     * unless given; nothing if it exists (a conflict sees rows committed after the statement began).
     */
    createWhenLocked(input: { provider: string; intentId: string; amountCents: number | undefined; currency: string | undefined }): (locked: SQL) => SQL {
      return (locked) => sql`
        insert into ${payments} (order_id, provider, intent_id, amount_cents, currency)
        select id, ${input.provider}::text, ${input.intentId}::text, coalesce(${input.amountCents ?? null}::bigint, total_cents), coalesce(${input.currency ?? null}::text, currency) from ${locked}
        on conflict do nothing
        returning *`;
    },

    /**
     * The payment `createWhenLocked` created (its row as JSON), else the one of (provider, intent) that exists, read FOR
     * UPDATE. The insert does nothing only when that payment exists, so neither means it was deleted in between: thrown,
     * never decided on as if recorded (the transaction rolls back, the webhook answers a 5xx, the provider redelivers it).
     */
    async lockCreated(tx: DbOrTx, created: Record<string, unknown> | null, provider: string, intentId: string): Promise<PaymentRow> {
      if (created) return paymentFromJson(created);
      const existing = await repository.lockExisting(tx, provider, intentId);
      if (!existing) throw new Error(`no payment of ${provider} intent ${intentId} was created or exists`);
      return existing;
    },

    /** The payment of (provider, intent), if one records it, read FOR UPDATE (after its order's lock). */
    async lockExisting(tx: DbOrTx, provider: string, intentId: string): Promise<PaymentRow | undefined> {
      const rows = await tx
        .select()
        .from(payments)
        .where(and(eq(payments.provider, provider), eq(payments.intentId, intentId)))
        .for('update');
      return rows[0];
    },

    /** Moves a payment forward (never back, see PAYMENT_STATUS_RANK) and sets its flags; returns whether the status changed. */
    async advance(
      tx: DbOrTx,
      id: number,
      status: PaymentStatus,
      flags: { applied?: boolean; late?: boolean; failureCode?: string; amountCents?: number; currency?: string } = {},
    ): Promise<boolean> {
      const set: Record<string, unknown> = { updatedAt: sql`now()` };
      // What the provider says it holds or took, when it is not what we asked for (a late payment of the wrong amount).
      if (flags.amountCents !== undefined) set.amountCents = flags.amountCents;
      if (flags.currency !== undefined) set.currency = flags.currency;
      if (flags.applied !== undefined) set.applied = flags.applied;
      if (flags.late !== undefined) set.late = flags.late;
      if (flags.failureCode !== undefined) set.failureCode = flags.failureCode;
      if (Object.keys(set).length > 1) {
        // The flags always, the status only forward: one statement, the status it had read (locked) in `prev`.
        const prev = tx.$with('prev').as(tx.select({ status: sql<PaymentStatus>`${payments.status}`.as('prev_status') }).from(payments).where(eq(payments.id, id)).for('update'));
        const rank = PAYMENT_STATUS_RANK[status];
        const rows = await tx
          .with(prev)
          .update(payments)
          .set({ ...set, status: sql`case when ${rankSql(sql`${payments.status}`)} < ${rank} then ${status}::payment_status else ${payments.status} end` })
          .from(prev)
          .where(eq(payments.id, id))
          .returning({ moved: sql<boolean>`${rankSql(sql`prev.prev_status`)} < ${rank}` });
        return rows[0]?.moved === true;
      }
      const moved = await tx
        .update(payments)
        .set({ status, updatedAt: sql`now()` })
        .where(and(eq(payments.id, id), sql`${rankSql(payments.status)} < ${PAYMENT_STATUS_RANK[status]}`))
        .returning({ id: payments.id });
      return moved.length > 0;
    },

    /**
     * `advance(id, status, { applied: true })` as a statement for `markPaid`'s `alsoWhenPaid`: the payment made its order
     * paid, in the statement that marks the order paid (it happens only if `paid`, that statement's CTE, has its row).
     * The payment row is locked already (`lockCreated`, after the order's: the lock order is unchanged).
     */
    applyWhenPaid(id: number, status: 'authorized' | 'captured'): (paid: SQL) => SQL {
      return (paid) => sql`
        update ${payments} set applied = true, updated_at = now(),
          status = case when ${rankSql(sql`status`)} < ${PAYMENT_STATUS_RANK[status]} then ${status}::payment_status else status end
        where id = ${id} and exists (select 1 from ${paid})
        returning id`;
    },

    /**
     * Raises what the rollups count as refunded of this payment (`payments.refundedCountedCents`) to `refundedCents`, the
     * amount refunded so far, but never past what a lost dispute left of it (`amountCents` − `chargedBackCountedCents`);
     * returns what that added (0 when it had counted as much or more: a redelivered event, or an older one arriving after
     * a newer one, or all of it charged back). Reads the row FOR UPDATE first, in the caller's transaction, and computes
     * the increase from what that read: safe on its own, not only under the caller's lock on the order.
     */
    async countRefunded(tx: DbOrTx, id: number, refundedCents: number): Promise<number> {
      const row = await countedForUpdate(tx, id);
      if (!row) return 0;
      const target = Math.min(refundedCents, row.amountCents - row.chargedBack);
      if (target <= row.refunded) return 0;
      await tx.update(payments).set({ refundedCountedCents: target }).where(eq(payments.id, id));
      return target - row.refunded;
    },

    /**
     * Counts a lost dispute of this payment as charged back (`payments.chargedBackCountedCents`): the disputed amount, at
     * most what refunds counted so far left of the payment (the buyer cannot get back more than they paid; a partial
     * refund before the dispute was counted already). Reads the row FOR UPDATE first, in the caller's transaction, so it
     * counts from its latest values whoever else counts on it. Returns what it counted (0: all of it refunded already).
     */
    async countChargeback(tx: DbOrTx, id: number, disputedCents: number): Promise<number> {
      const row = await countedForUpdate(tx, id);
      if (!row) return 0;
      const counted = Math.max(0, Math.min(disputedCents, row.amountCents - row.refunded - row.chargedBack));
      if (counted > 0) await tx.update(payments).set({ chargedBackCountedCents: row.chargedBack + counted }).where(eq(payments.id, id));
      return counted;
    },

    /** Moves the payment to its next idempotency key, if it is still on `used` (see `payments.keyRetries`). */
    async spendKey(db: DbOrTx, id: number, used: number): Promise<void> {
      await db
        .update(payments)
        .set({ keyRetries: used + 1 })
        .where(and(eq(payments.id, id), eq(payments.keyRetries, used)));
    },

    /** The payment that made the order paid. */
    async applied(db: DbOrTx, orderId: number): Promise<PaymentRow | undefined> {
      const rows = await db
        .select()
        .from(payments)
        .where(and(eq(payments.orderId, orderId), eq(payments.applied, true)));
      return rows[0];
    },

    /** The payment shown for an order: the applied one, else its latest attempt. */
    async latest(db: DbOrTx, orderId: number): Promise<PaymentRow | undefined> {
      const rows = await db.select().from(payments).where(eq(payments.orderId, orderId)).orderBy(desc(payments.applied), desc(payments.id)).limit(1);
      return rows[0];
    },

    /** The order's payments still open at `provider` (`STILL_OPEN_STATUSES`, with a client secret, not late), oldest first. */
    async stillOpen(db: DbOrTx, orderId: number, provider: string): Promise<PaymentRow[]> {
      return db
        .select()
        .from(payments)
        .where(and(eq(payments.orderId, orderId), eq(payments.provider, provider), inArray(payments.status, [...STILL_OPEN_STATUSES]), isNotNull(payments.clientSecret), eq(payments.late, false)))
        .orderBy(payments.id);
    },

    /**
     * Before a pay call creates an intent, in one round trip: the newest payment of the order still waiting for the buyer
     * (`open`: reused instead of creating another), and the intent of its newest payment that can no longer be paid with
     * (`lastDead`: voided or refunded at the provider, or late, being given back), which the next intent's idempotency
     * key is scoped by.
     */
    async openAndLastDeadIntent(db: DbOrTx, orderId: number, provider: string): Promise<{ open: PaymentRow | undefined; lastDead: string | undefined }> {
      const result = await db.execute<{ open: Record<string, unknown> | null; last_dead: string | null }>(sql`
        select (select row_to_json(${payments}) from ${payments} where ${openOf(orderId, provider)} order by ${payments.id} desc limit 1) as open,
          (select ${payments.intentId} from ${payments} where ${deadOf(orderId, provider)} order by ${payments.id} desc limit 1) as last_dead`);
      const row = result.rows[0]!;
      return { open: row.open ? paymentFromJson(row.open) : undefined, lastDead: row.last_dead ?? undefined };
    },

    /**
     * Records the intent a pay call created, under the caller's lock on its order (taken in a statement before this one,
     * so that this one's snapshot holds every payment that concurrent pay calls recorded under that lock): unless the
     * order has an open payment already, which is returned if it is not this intent's (the order keeps it). The check and
     * the insert are one statement; the insert does nothing if the intent's payment exists. `dead`: that payment exists
     * and is dead already (its canceled event, arriving before this call, recorded it voided): nothing to offer the buyer.
     */
    async recordIntent(
      tx: DbOrTx,
      input: { orderId: number; provider: string; intentId: string; amountCents: number; currency: string; clientSecret: string | undefined },
    ): Promise<{ other: PaymentRow | undefined; dead: boolean }> {
      const result = await tx.execute<{ open: Record<string, unknown> | null; dead: boolean }>(sql`
        with waiting as (select * from ${payments} where ${openOf(input.orderId, input.provider)} order by ${payments.id} desc limit 1),
        created as (
          insert into ${payments} (order_id, provider, intent_id, amount_cents, currency, client_secret)
          select ${input.orderId}::bigint, ${input.provider}::text, ${input.intentId}::text, ${input.amountCents}::bigint, ${input.currency}::text, ${input.clientSecret ?? null}::text
          where not exists (select 1 from waiting)
          on conflict do nothing
          returning id)
        select (select row_to_json(waiting) from waiting) as open,
          exists (select 1 from ${payments} where ${payments.provider} = ${input.provider} and ${payments.intentId} = ${input.intentId} and ${payments.status} in ('voided', 'refunded')) as dead`);
      const { open, dead } = result.rows[0]!;
      return { other: open && open.intent_id !== input.intentId ? paymentFromJson(open) : undefined, dead };
    },

    /**
     * Claims up to `limit` payments owed back (see `owedSql`) whose next retry is due, skipping rows another
     * transaction holds (another worker's claim, a webhook deciding), and pushes their next retry back (`afterS`
     * doubled per attempt, at most `maxBackoffS`): once this commits, no other worker picks them until then, and
     * the caller makes its keyed call with no lock held.
     */
    async claimOwed(tx: DbOrTx, input: { olderThanS: number; limit: number; maxBackoffS: number }): Promise<PaymentRow[]> {
      const due = tx
        .select({ id: payments.id })
        .from(payments)
        .where(and(owedSql(input.olderThanS), sql`(${payments.giveBackAt} is null or ${payments.giveBackAt} <= now())`))
        .orderBy(payments.id)
        .limit(input.limit)
        .for('update', { skipLocked: true });
      return tx
        .update(payments)
        .set({
          giveBackAttempts: sql`${payments.giveBackAttempts} + 1`,
          giveBackAt: sql`now() + make_interval(secs => least(${input.olderThanS}::float8 * power(2, least(${payments.giveBackAttempts}, 30)), ${input.maxBackoffS}::float8))`,
        })
        .where(inArray(payments.id, due))
        .returning();
    },

    /** Payments owed back for over `olderThanS` (see `owedSql`), by provider. */
    async countOwed(db: DbOrTx, olderThanS: number): Promise<{ provider: string; count: number }[]> {
      const rows = await db
        .select({ provider: payments.provider, count: sql<string>`count(*)` })
        .from(payments)
        .where(owedSql(olderThanS))
        .groupBy(payments.provider);
      return rows.map((row) => ({ provider: row.provider, count: Number(row.count) }));
    },

    /**
     * Payments in one of `problems` (see `problemSql`) and not marked resolved, by provider and problem. The statuses and
     * `hold_lapsed` are counted by one query each, each on its own index (`payments_status_idx`, and the partial
     * `payments_applied_voided_idx`): in one query with an OR, PostgreSQL estimated every applied or voided payment for the
     * second arm, and a scrape paid for JIT compiling (0.5 s at 300,000 voided payments, for 20 rows).
     */
    async countProblems(db: DbOrTx, problems: readonly OpenPaymentProblem[]): Promise<{ provider: string; problem: OpenPaymentProblem; count: number }[]> {
      const statuses = problems.filter((p): p is Exclude<OpenPaymentProblem, 'hold_lapsed'> => p !== 'hold_lapsed');
      const byStatus =
        statuses.length === 0
          ? []
          : await db
              .select({ provider: payments.provider, problem: sql<OpenPaymentProblem>`${payments.status}::text`, count: sql<string>`count(*)` })
              .from(payments)
              .where(and(inArray(payments.status, statuses), isNull(payments.problemResolvedAt)))
              .groupBy(payments.provider, payments.status);
      const lapsed = !problems.includes('hold_lapsed')
        ? []
        : await db
            .select({ provider: payments.provider, problem: sql<OpenPaymentProblem>`'hold_lapsed'`, count: sql<string>`count(*)` })
            .from(payments)
            .where(and(lapsedHoldSql, isNull(payments.problemResolvedAt)))
            .groupBy(payments.provider);
      return [...byStatus, ...lapsed].map((row) => ({ ...row, count: Number(row.count) }));
    },

    /**
     * Marks the order's payments in one of `problems` resolved (those not marked yet), under their row locks (the caller
     * holds the order's); returns every such payment as it was before (resolved or not) and the time set on those this marked.
     */
    async resolveProblems(tx: DbOrTx, orderId: number, problems: readonly OpenPaymentProblem[]): Promise<{ found: PaymentRow[]; resolved: PaymentRow[] }> {
      const found = await tx
        .select()
        .from(payments)
        .where(and(eq(payments.orderId, orderId), problemSql(problems)))
        .orderBy(payments.id)
        .for('update');
      const open = found.filter((p) => p.problemResolvedAt === null).map((p) => p.id);
      const resolved = open.length === 0 ? [] : await tx.update(payments).set({ problemResolvedAt: sql`now()` }).where(inArray(payments.id, open)).returning();
      return { found, resolved };
    },

    /**
     * `advance` without flags and `recordEvent`, in one statement: the capture's bookkeeping after the provider's call
     * for the event that led to it. Returns whether the event was recorded (false: a concurrent delivery recorded it).
     */
    async advanceAndRecordEvent(db: DbOrTx, id: number, status: PaymentStatus, event: { provider: string; eventId: string; type: string; intentId?: string; outcome: string }): Promise<boolean> {
      const result = await db.execute<{ recorded: boolean }>(sql`
        with moved as (
          update ${payments} set status = ${status}::payment_status, updated_at = now()
          where id = ${id} and ${rankSql(sql`status`)} < ${PAYMENT_STATUS_RANK[status]}
          returning id),
        recorded as (
          insert into ${paymentEvents} (provider, event_id, type, intent_id, outcome)
          values (${event.provider}, ${event.eventId}, ${event.type}, ${event.intentId ?? null}, ${event.outcome})
          on conflict do nothing
          returning event_id)
        select exists (select 1 from recorded) as recorded, (select count(*) from moved) as moved`);
      return result.rows[0]!.recorded;
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
  return repository;
}

export type PaymentsRepository = ReturnType<typeof createPaymentsRepository>;

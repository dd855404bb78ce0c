import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { orders } from '../orders/orders.tables.ts';

/**
 * A payment's state as far as we know it. It only moves forward (see `PAYMENT_STATUS_RANK`), so an
 * older webhook arriving after a newer one changes nothing. Past `captured`/`refunded`, what the provider reports
 * afterwards and a person has to act on: `refund_failed` (a refund the provider accepted, then could not pay out:
 * the buyer has not got the money back), `disputed` (the buyer's bank opened a chargeback), then `dispute_won` or
 * `dispute_lost` (the money went back to the buyer).
 */
export const paymentStatus = pgEnum('payment_status', ['requires_payment', 'failed', 'authorized', 'captured', 'voided', 'refunded', 'refund_failed', 'disputed', 'dispute_won', 'dispute_lost']);
export type PaymentStatus = (typeof paymentStatus.enumValues)[number];

/**
 * One attempt to pay an order at a provider (a Stripe PaymentIntent, a test-provider charge). An order
 * may have several (a declined card, then another); at most one is `applied` (it made the order paid).
 * A payment that arrives for an order that can no longer be paid is `late` and is voided or refunded.
 */
export const payments = pgTable(
  'payments',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    orderId: bigint('order_id', { mode: 'number' })
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    /** The provider's id of this payment (`pi_…` for Stripe). */
    intentId: text('intent_id').notNull(),
    status: paymentStatus('status').notNull().default('requires_payment'),
    amountCents: bigint('amount_cents', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    /** Handed to the buyer's browser to confirm the payment (Stripe.js); never logged. */
    clientSecret: text('client_secret'),
    applied: boolean('applied').notNull().default(false),
    late: boolean('late').notNull().default(false),
    /** Why the provider refused, e.g. `card_declined`. */
    failureCode: text('failure_code'),
    /**
     * The worker's retries of a give-back call that kept failing (a late payment's void or refund, an admin refund):
     * how many it made, and when the next may be made (backoff; null before the first).
     */
    giveBackAttempts: integer('give_back_attempts').notNull().default(0),
    /**
     * How many of this payment's idempotency keys were spent: the provider answered a money-moving call with a 5xx,
     * which Stripe replays under that key for at least 24 hours. The next call reads the payment at the provider and,
     * if the call did not happen, uses the next key (`…-retry-<n>`); the same for every worker and instance.
     */
    keyRetries: integer('key_retries').notNull().default(0),
    giveBackAt: timestamp('give_back_at', { withTimezone: true, mode: 'date' }),
    /**
     * When an admin marked this payment's problem (`refund_failed`, `dispute_lost`) settled with the buyer: its status
     * stays (what happened), it no longer counts as open.
     */
    problemResolvedAt: timestamp('problem_resolved_at', { withTimezone: true, mode: 'date' }),
    /**
     * How much of this payment the analytics rollups count as refunded (`refunds_cents`): what partial refunds at the
     * provider gave back so far (their events carry the amount refunded so far), then the whole once its order is
     * refunded. Each refund counts only what it adds to this, so a redelivered or out-of-order event counts nothing more.
     */
    refundedCountedCents: bigint('refunded_counted_cents', { mode: 'number' }).notNull().default(0),
    /**
     * How much of this payment the rollups count as charged back (`chargebacks_cents`): a lost dispute's amount, at most
     * what `refundedCountedCents` left of the payment. Refunds counted after it count at most what neither counted, so
     * the two together never exceed the payment: money leaving counts once in all.
     */
    chargedBackCountedCents: bigint('charged_back_counted_cents', { mode: 'number' }).notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('payments_provider_intent_idx').on(t.provider, t.intentId),
    index('payments_order_id_idx').on(t.orderId),
    // At most one payment makes an order paid.
    uniqueIndex('payments_applied_order_idx').on(t.orderId).where(sql`${t.applied}`),
    // The worker's give-back scan and gauge: late payments still held or taken (normally none for more than a call).
    index('payments_late_held_idx').on(t.updatedAt).where(sql`${t.late} and ${t.status} in ('authorized', 'captured')`),
    // The open-problems gauge (payments a person has to act on, rare). Not a partial index on those statuses: the
    // migrations run in one transaction, and enum values added in it cannot be used in it (55P04).
    index('payments_status_idx').on(t.status),
    // The same gauge's hold_lapsed: the applied payments voided (a hold released before capture). Voided payments are many
    // (every intent canceled unpaid); these are few. `voided` is in the type's CREATE, so a partial index may name it.
    index('payments_applied_voided_idx').on(t.orderId).where(sql`${t.applied} and ${t.status} = 'voided'`),
  ],
);

/** Webhook events already processed, by the provider's event id: a replay is answered without effect. */
export const paymentEvents = pgTable(
  'payment_events',
  {
    provider: text('provider').notNull(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    intentId: text('intent_id'),
    /** What processing it did: `applied`, `captured`, `late_voided`, `ignored`, … */
    outcome: text('outcome').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.eventId] })],
);

/**
 * The built-in `test` provider's own ledger (what a real provider keeps on its side): one row per
 * operation and idempotency key, so a retried capture is recorded once, as at Stripe.
 */
export const testProviderOperations = pgTable(
  'test_provider_operations',
  {
    idempotencyKey: text('idempotency_key').primaryKey(),
    intentId: text('intent_id').notNull(),
    /** `authorize`, `capture`, `void` or `refund`. */
    kind: text('kind').notNull(),
    amountCents: bigint('amount_cents', { mode: 'number' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('test_provider_operations_intent_idx').on(t.intentId)],
);

import { sql } from 'drizzle-orm';
import { bigint, boolean, index, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { orders } from '../orders/orders.tables.ts';

/**
 * A payment's state as far as we know it. It only moves forward (see `PAYMENT_STATUS_RANK`), so an
 * older webhook arriving after a newer one changes nothing.
 */
export const paymentStatus = pgEnum('payment_status', ['requires_payment', 'failed', 'authorized', 'captured', 'voided', 'refunded']);
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
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('payments_provider_intent_idx').on(t.provider, t.intentId),
    index('payments_order_id_idx').on(t.orderId),
    // At most one payment makes an order paid.
    uniqueIndex('payments_applied_order_idx').on(t.orderId).where(sql`${t.applied}`),
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

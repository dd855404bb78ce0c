import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { products } from '../catalog/catalog.tables.ts';
import { customers } from '../customers/customers.tables.ts';
import { saleEvents } from '../sale-events/sale-events.tables.ts';

/**
 * The order lifecycle: `pending_payment` (units reserved, the payment window running) → `paid` →
 * `fulfilled`; or `pending_payment` → `expired` (window over, units back) / `cancelled`; `paid` →
 * `refunded`. Every transition is a conditional UPDATE on the current status, so each happens once.
 */
export const orderStatus = pgEnum('order_status', ['pending_payment', 'paid', 'fulfilled', 'expired', 'cancelled', 'refunded']);
export type OrderStatus = (typeof orderStatus.enumValues)[number];

export const orders = pgTable(
  'orders',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    customerId: bigint('customer_id', { mode: 'number' })
      .notNull()
      .references(() => customers.id, { onDelete: 'restrict' }),
    status: orderStatus('status').notNull().default('pending_payment'),
    totalCents: bigint('total_cents', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    /**
     * The client's `Idempotency-Key`. The unique index is the last guard against a second order for
     * one key (Redis holds the fast in-progress/replay record; this holds even when Redis lost it).
     */
    idempotencyKey: text('idempotency_key'),
    /** The stock-gate reservation this order consumed: lets a gate rebuild tell committed from in-flight. */
    reservation: text('reservation').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true, mode: 'date' }),
    paidAt: timestamp('paid_at', { withTimezone: true, mode: 'date' }),
    expiredAt: timestamp('expired_at', { withTimezone: true, mode: 'date' }),
    fulfilledAt: timestamp('fulfilled_at', { withTimezone: true, mode: 'date' }),
    refundedAt: timestamp('refunded_at', { withTimezone: true, mode: 'date' }),
    /**
     * When an admin asked to refund this paid order: set under the order's row lock before the provider is
     * called, so it can no longer be fulfilled while its money goes back (the order becomes `refunded` after the
     * call; a failed call leaves it set until the refund is asked again and goes through).
     */
    refundRequestedAt: timestamp('refund_requested_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('orders_customer_id_idx').on(t.customerId, t.id.desc()),
    uniqueIndex('orders_customer_idempotency_key_idx').on(t.customerId, t.idempotencyKey).where(sql`${t.idempotencyKey} IS NOT NULL`),
    uniqueIndex('orders_reservation_idx').on(t.reservation),
    // The expiry sweeper's scan: only reservations still waiting for payment, oldest first.
    index('orders_pending_payment_idx').on(t.createdAt).where(sql`${t.status} = 'pending_payment'`),
    index('orders_status_created_idx').on(t.status, t.createdAt),
    // Refunds asked for and not finished (the provider's call failing): the worker's give-back retry and its gauge.
    index('orders_refund_requested_idx').on(t.refundRequestedAt).where(sql`${t.refundRequestedAt} is not null and ${t.status} = 'paid'`),
    check('orders_total_nonnegative', sql`${t.totalCents} >= 0`),
  ],
);

export const orderItems = pgTable(
  'order_items',
  {
    orderId: bigint('order_id', { mode: 'number' })
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    productId: bigint('product_id', { mode: 'number' })
      .notNull()
      .references(() => products.id, { onDelete: 'restrict' }),
    quantity: integer('quantity').notNull(),
    /** Unit price when the order was placed. */
    priceCents: integer('price_cents').notNull(),
    /**
     * The product's name and SKU when the order was placed (`place_order` writes them from the product row it
     * reads): what the buyer bought, which every read of the order shows (its pages, the admin's, its emails),
     * whatever the catalog calls the product later. NULL on the lines placed before migration 0037
     * (order_lines_bought) and on those the previous release's `place_order` writes during a rolling update (the
     * columns are added nullable, without a back-fill: expand/contract, docs/deploying.md): every read shows
     * `COALESCE(line's, product's current)`, so those lines read as they always did.
     */
    productName: text('product_name'),
    productSku: text('product_sku'),
    /**
     * The live sale events this line was counted in (`sale_event_buyer_purchases`) when it was placed, so that
     * expiry, cancellation and refund take the units off exactly those counts, whatever the events look like by then.
     */
    saleEventIds: bigint('sale_event_ids', { mode: 'number' }).array().notNull().default(sql`'{}'::bigint[]`),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.productId] }),
    index('order_items_product_id_idx').on(t.productId),
    // The admin list's `saleEventId` filter (`sale_event_ids @> {id}`): only lines counted in some event, so
    // checkouts outside sales add nothing to it.
    index('order_items_sale_event_ids_idx').using('gin', t.saleEventIds).where(sql`${t.saleEventIds} <> '{}'::bigint[]`),
    check('order_items_quantity_positive', sql`${t.quantity} > 0`),
  ],
);

/**
 * Units of a product each buyer holds over their whole life in orders that still hold them
 * (`pending_payment`, `paid`, `fulfilled`): the product's own `max_per_customer` (a lifetime cap) is
 * checked on this row. A buyer is an email, lower-cased and without a +tag (`buyer_of`, `orders.sql`): an
 * account and the guest checkouts made with its email are one buyer, whichever came first (the account and the guest record are two `customers` rows).
 * It is an upsert inside the order's statement, so concurrent orders of one buyer (signed in or as a
 * guest, on any number of instances) queue on one small row and the limit holds exactly.
 */
export const buyerPurchases = pgTable(
  'buyer_purchases',
  {
    buyerEmail: text('buyer_email').notNull(),
    productId: bigint('product_id', { mode: 'number' })
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    quantity: integer('quantity').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.buyerEmail, t.productId] }),
    check('buyer_purchases_quantity_nonnegative', sql`${t.quantity} >= 0`),
    check('buyer_purchases_email_lower', sql`${t.buyerEmail} = lower(${t.buyerEmail})`),
  ],
);

/**
 * Units of a product each buyer (an email as `buyer_of` keys it, as in `buyer_purchases`) holds in orders placed
 * during one sale event (every live event that lists the product counts, capped or not, so a cap set or
 * lowered mid-sale sees what was bought before): the event's `max_per_customer` (a per-sale cap) is checked
 * on this row, an upsert inside the order's statement like `buyer_purchases`. Expiry, cancellation and
 * refund take the units off in the transaction that gives the stock back.
 */
export const saleEventBuyerPurchases = pgTable(
  'sale_event_buyer_purchases',
  {
    /** Restrict: an event whose buyers were counted is ended (`endsAt`), not deleted, or re-creating it would reset every cap. */
    saleEventId: bigint('sale_event_id', { mode: 'number' })
      .notNull()
      .references(() => saleEvents.id, { onDelete: 'restrict' }),
    buyerEmail: text('buyer_email').notNull(),
    productId: bigint('product_id', { mode: 'number' })
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    quantity: integer('quantity').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.saleEventId, t.buyerEmail, t.productId] }),
    check('sale_event_buyer_purchases_quantity_nonnegative', sql`${t.quantity} >= 0`),
    check('sale_event_buyer_purchases_email_lower', sql`${t.buyerEmail} = lower(${t.buyerEmail})`),
  ],
);

/**
 * The counts per `customers` row that `buyer_purchases` and `sale_event_buyer_purchases` replaced (an
 * account and a guest record of one email counted apart: two lifetime caps). No longer read or written;
 * kept for instances of the previous release during a rolling update (expand / contract, see
 * docs/deploying.md): drop them in a later release.
 */
export const customerPurchases = pgTable(
  'customer_purchases',
  {
    customerId: bigint('customer_id', { mode: 'number' })
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    productId: bigint('product_id', { mode: 'number' })
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    quantity: integer('quantity').notNull(),
  },
  (t) => [primaryKey({ columns: [t.customerId, t.productId] }), check('customer_purchases_quantity_nonnegative', sql`${t.quantity} >= 0`)],
);

/** See `customerPurchases`: replaced by `sale_event_buyer_purchases`, kept for the previous release. */
export const saleEventPurchases = pgTable(
  'sale_event_purchases',
  {
    saleEventId: bigint('sale_event_id', { mode: 'number' })
      .notNull()
      .references(() => saleEvents.id, { onDelete: 'cascade' }),
    customerId: bigint('customer_id', { mode: 'number' })
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    productId: bigint('product_id', { mode: 'number' })
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    quantity: integer('quantity').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.saleEventId, t.customerId, t.productId] }),
    check('sale_event_purchases_quantity_nonnegative', sql`${t.quantity} >= 0`),
  ],
);

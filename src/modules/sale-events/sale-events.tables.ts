import { sql } from 'drizzle-orm';
import { bigint, boolean, check, doublePrecision, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { products } from '../catalog/catalog.tables.ts';

export const saleEvents = pgTable(
  'sale_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    name: text('name').notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true, mode: 'date' }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** Expected traffic relative to a normal hour at the same time (the seed: Black Friday ×10). */
    trafficMultiplier: doublePrecision('traffic_multiplier').notNull().default(1),
    /** Most units of each listed product one buyer (an email: an account and its guest checkouts) may hold in orders placed during this event (counted per event in `sale_event_buyer_purchases`); null for no limit. */
    maxPerCustomer: integer('max_per_customer'),
    /** Buyers queue in the waiting room and need an admission pass to check out the event's products. */
    waitingRoomEnabled: boolean('waiting_room_enabled').notNull().default(false),
    /** Visitors admitted per second; null: derived from live web instances × measured capacity. */
    admissionPerSecond: doublePrecision('admission_per_second'),
    /** Admission held: nobody new is let in, the line keeps its order and still takes newcomers; passes given stay good. */
    waitingRoomPaused: boolean('waiting_room_paused').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    check('sale_events_window', sql`${t.endsAt} > ${t.startsAt}`),
    // The range the API takes, MIN_/MAX_TRAFFIC_MULTIPLIER (migration 0035 clamped the rows stored before into it).
    check('sale_events_multiplier_range', sql`${t.trafficMultiplier} BETWEEN 0.01 AND 1000`),
    check('sale_events_max_per_customer_positive', sql`${t.maxPerCustomer} IS NULL OR ${t.maxPerCustomer} > 0`),
    check('sale_events_admission_rate_positive', sql`${t.admissionPerSecond} IS NULL OR ${t.admissionPerSecond} > 0`),
    index('sale_events_window_idx').on(t.startsAt, t.endsAt),
    // The periodic reads (storefront, waiting rooms) take the events not ended: found without scanning the past ones.
    index('sale_events_ends_at_idx').on(t.endsAt),
  ],
);

export const saleEventProducts = pgTable(
  'sale_event_products',
  {
    saleEventId: bigint('sale_event_id', { mode: 'number' })
      .notNull()
      .references(() => saleEvents.id, { onDelete: 'cascade' }),
    productId: bigint('product_id', { mode: 'number' })
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.saleEventId, t.productId] }), index('sale_event_products_product_idx').on(t.productId)],
);

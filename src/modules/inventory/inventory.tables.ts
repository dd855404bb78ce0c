import { sql } from 'drizzle-orm';
import { bigint, check, integer, pgTable, primaryKey, smallint, text, timestamp } from 'drizzle-orm/pg-core';
import { products } from '../catalog/catalog.tables.ts';

/**
 * Stock of a product, split across one or more rows ("shards") so that buyers of one hot product do
 * not all queue on a single row lock: an order takes its units from any shard it can lock without
 * waiting (`FOR UPDATE SKIP LOCKED`). A product with one shard is the single-row design (a plain
 * conditional `UPDATE … WHERE available >= $q`). The product's available stock is the sum.
 */
export const productStock = pgTable(
  'product_stock',
  {
    productId: bigint('product_id', { mode: 'number' })
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    shard: smallint('shard').notNull().default(0),
    available: integer('available').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.productId, t.shard] }), check('product_stock_available_nonnegative', sql`${t.available} >= 0`)],
);

/**
 * An admin's relative stock adjustments (`POST /admin/products/:id/stock/adjustments`), one row per product and
 * Idempotency-Key, written in the transaction that applies the adjustment: a retry with the key finds it and is
 * answered without adding the units again, whatever happened to the first reply. Also the record of the counts
 * before and after each adjustment.
 */
export const stockAdjustments = pgTable(
  'stock_adjustments',
  {
    productId: bigint('product_id', { mode: 'number' })
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    idempotencyKey: text('idempotency_key').notNull(),
    delta: integer('delta').notNull(),
    availableBefore: integer('available_before').notNull(),
    availableAfter: integer('available_after').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.productId, t.idempotencyKey] })],
);

/**
 * The stock a product was created with (`POST /admin/products`' `available`), kept for the replay of that create: the
 * same create sent again asks for the same initial stock, whatever has sold since; one asking for another is not the
 * same create. Products created before this table existed have no row (their replay does not compare the stock).
 */
export const productInitialStock = pgTable(
  'product_initial_stock',
  {
    productId: bigint('product_id', { mode: 'number' })
      .primaryKey()
      .references(() => products.id, { onDelete: 'cascade' }),
    available: integer('available').notNull(),
  },
  (t) => [check('product_initial_stock_available_nonnegative', sql`${t.available} >= 0`)],
);

import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgEnum, pgTable, text, timestamp, uniqueIndex, type AnyPgColumn } from 'drizzle-orm/pg-core';

export const productStatus = pgEnum('product_status', ['active', 'draft', 'archived']);
export const PRODUCT_STATUSES = productStatus.enumValues;
export type ProductStatus = (typeof PRODUCT_STATUSES)[number];

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
};

export const categories = pgTable(
  'categories',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    slug: text('slug').notNull().unique(),
    name: text('name').notNull(),
    parentId: bigint('parent_id', { mode: 'number' }).references((): AnyPgColumn => categories.id, { onDelete: 'restrict' }),
    ...timestamps,
  },
  (t) => [index('categories_parent_id_idx').on(t.parentId)],
);

export const products = pgTable(
  'products',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /**
     * As typed; unique whatever its case (`products_sku_lower_idx`): `ABC-1` and `abc-1` are one SKU to the
     * people and systems that read, type and match them. (`products_sku_unique`, the case-sensitive constraint
     * it implies, stays: the previous release's seed names it in ON CONFLICT.)
     */
    sku: text('sku').notNull().unique(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    priceCents: integer('price_cents').notNull(),
    currency: text('currency').notNull().default('USD'),
    categoryId: bigint('category_id', { mode: 'number' }).references(() => categories.id, { onDelete: 'restrict' }),
    status: productStatus('status').notNull().default('active'),
    /** Units sold over the product's life; orders the popular listing. */
    popularity: integer('popularity').notNull().default(0),
    /** Most units one buyer (an email: an account and its guest checkouts) may hold over their whole life (a lifetime cap, `buyer_purchases`); null for no limit. A sale event's own cap counts per event. */
    maxPerCustomer: integer('max_per_customer'),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('products_sku_lower_idx').on(sql`lower(${t.sku})`),
    check('products_price_nonnegative', sql`${t.priceCents} >= 0`),
    check('products_currency_iso', sql`${t.currency} ~ '^[A-Z]{3}$'`),
    check('products_max_per_customer_positive', sql`${t.maxPerCustomer} IS NULL OR ${t.maxPerCustomer} > 0`),
    // The seed strategy's index for sale queries (price range within a category).
    index('idx_product_price_category').on(t.priceCents, t.categoryId).where(sql`${t.status} = 'active'`),
    index('products_active_category_id_idx').on(t.categoryId, t.id).where(sql`${t.status} = 'active'`),
    // The listing in one currency (`currency`, keyset by id), and the currencies active products use, read one
    // probe per currency (`listActiveCurrencies`).
    index('products_active_currency_id_idx').on(t.currency, t.id).where(sql`${t.status} = 'active'`),
    index('products_active_popularity_idx').on(t.popularity.desc(), t.id).where(sql`${t.status} = 'active'`),
    // The name's trigrams in two halves: the active products' (the storefront's search) and the others' (drafts and
    // archived ones, which the admin list searches too: `listForAdmin` asks each half). One index over every status
    // would have meant dropping the active one, which locks reads of products out until the migration commits.
    index('products_name_trgm_idx').using('gin', sql`${t.name} gin_trgm_ops`).where(sql`${t.status} = 'active'`),
    index('products_name_inactive_trgm_idx').using('gin', sql`${t.name} gin_trgm_ops`).where(sql`${t.status} <> 'active'`),
    index('products_sku_trgm_idx').using('gin', sql`${t.sku} gin_trgm_ops`),
    // The admin list of one status, newest first.
    index('products_status_id_idx').on(t.status, t.id),
  ],
);

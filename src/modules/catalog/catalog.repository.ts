import { and, asc, desc, eq, gt, gte, ilike, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.ts';
import { availableOf } from '../inventory/index.ts';
import { categories, products, type ProductStatus } from './catalog.tables.ts';
import type { Category, Product } from './catalog.schemas.ts';

/** The product fields whose changes the admin audit trail records before → after. */
export interface AuditedProductFields {
  priceCents: number;
  currency: string;
  status: ProductStatus;
  /** The lifetime cap per buyer, null for none: lowered or lifted during a sale as a sale event's own cap is. */
  maxPerCustomer: number | null;
  /** What the shop shows: a product renamed or moved to another category reads differently to its buyers. */
  name: string;
  categoryId: number | null;
}

/** A product's fields an update is checked against, read under its row's lock (a value it keeps is not refused). */
export type StoredProductFields = AuditedProductFields;

const productColumns = {
  id: products.id,
  sku: products.sku,
  name: products.name,
  description: products.description,
  priceCents: products.priceCents,
  currency: products.currency,
  categoryId: products.categoryId,
  status: products.status,
  maxPerCustomer: products.maxPerCustomer,
  // Stock is the inventory module's (split across shard rows); a product's figure is their sum.
  available: availableOf(products.id),
};

const categoryColumns = { id: categories.id, slug: categories.slug, name: categories.name, parentId: categories.parentId };

export interface ProductFilter {
  categoryIds?: number[];
  /** Only products priced in it; `minPrice`/`maxPrice` count its minor unit. */
  currency?: string;
  minPrice?: number;
  maxPrice?: number;
  q?: string;
  afterId?: number;
  limit: number;
}

/** The admin listing's filter: every status unless `status` names one; newest (highest id) first. */
export interface AdminProductFilter {
  status?: ProductStatus;
  /** Matched case-insensitively within the SKU or the name. */
  q?: string;
  /** Only products older (a lower id) than this one: the keyset of the next page. */
  beforeId?: number;
  limit: number;
}

export interface ProductWrite {
  sku?: string;
  name?: string;
  description?: string;
  priceCents?: number;
  currency?: string;
  categoryId?: number | null;
  status?: ProductStatus;
  maxPerCustomer?: number | null;
}

/** The transaction-level advisory lock that serialises moves in the category tree (see lockCategoryTree). */
const CATEGORY_TREE_LOCK_KEY = 7_202_612_01;

/** Escapes LIKE wildcards so a search for "50%" means the characters, not a pattern. */
function likeContains(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function createCatalogRepository() {
  return {
    async listActive(db: Db, filter: ProductFilter): Promise<Product[]> {
      const conditions: SQL[] = [eq(products.status, 'active')];
      if (filter.categoryIds) conditions.push(inArray(products.categoryId, filter.categoryIds));
      if (filter.currency !== undefined) conditions.push(eq(products.currency, filter.currency));
      if (filter.minPrice !== undefined) conditions.push(gte(products.priceCents, filter.minPrice));
      if (filter.maxPrice !== undefined) conditions.push(lte(products.priceCents, filter.maxPrice));
      if (filter.q !== undefined) conditions.push(ilike(products.name, likeContains(filter.q)));
      if (filter.afterId !== undefined) conditions.push(gt(products.id, filter.afterId));
      return db
        .select(productColumns)
        .from(products)
        .where(and(...conditions))
        .orderBy(asc(products.id))
        .limit(filter.limit);
    },

    async listForAdmin(db: Db, filter: AdminProductFilter): Promise<Product[]> {
      const conditions: SQL[] = [];
      if (filter.status !== undefined) conditions.push(eq(products.status, filter.status));
      if (filter.q !== undefined) {
        const pattern = likeContains(filter.q);
        // The name asked of each half of its trigram index (active products, the others): one condition on the name
        // alone matches neither partial index, and the planner would read the whole table.
        conditions.push(
          or(
            ilike(products.sku, pattern),
            // Literals, not parameters: the planner proves an index's predicate from them.
            and(sql`${products.status} = 'active'`, ilike(products.name, pattern)),
            and(sql`${products.status} <> 'active'`, ilike(products.name, pattern)),
          )!,
        );
      }
      if (filter.beforeId !== undefined) conditions.push(lt(products.id, filter.beforeId));
      return db
        .select(productColumns)
        .from(products)
        .where(and(...conditions))
        .orderBy(desc(products.id))
        .limit(filter.limit);
    },

    /**
     * The currencies active products are priced in, sorted: a skip scan of `products_active_currency_id_idx`, one
     * probe per currency, where `SELECT DISTINCT` would read every active product.
     */
    async listActiveCurrencies(db: Db): Promise<string[]> {
      const { rows } = await db.execute<{ currency: string }>(sql`
        WITH RECURSIVE c AS (
          (SELECT currency FROM products WHERE status = 'active' ORDER BY currency LIMIT 1)
          UNION ALL
          SELECT (SELECT p.currency FROM products p WHERE p.status = 'active' AND p.currency > c.currency ORDER BY p.currency LIMIT 1)
            FROM c WHERE c.currency IS NOT NULL
        )
        SELECT currency FROM c WHERE currency IS NOT NULL`);
      return rows.map((row) => row.currency);
    },

    async listPopular(db: Db, limit: number): Promise<Product[]> {
      return db
        .select(productColumns)
        .from(products)
        .where(eq(products.status, 'active'))
        .orderBy(sql`${products.popularity} desc nulls last`, asc(products.id)) // matches products_active_popularity_idx
        .limit(limit);
    },

    /** The product holding a SKU, whatever its case (SKUs are unique so). */
    async findBySku(db: Db, sku: string): Promise<Product | undefined> {
      const [row] = await db.select(productColumns).from(products).where(sql`lower(${products.sku}) = lower(${sku})`);
      return row;
    },

    async findById(db: Db, id: number): Promise<Product | undefined> {
      const rows = await db
        .select(productColumns)
        .from(products)
        .where(eq(products.id, id));
      return rows[0];
    },

    /** Inserts a product; its stock rows are the inventory's (created in the same transaction by the service). */
    async insert(db: Db, values: ProductWrite & { sku: string; name: string; priceCents: number }): Promise<number> {
      const [row] = await db.insert(products).values(values).returning({ id: products.id });
      return row!.id;
    },

    /**
     * Updates a product; returns its price, currency, status and per-buyer cap as they were (read under the row's lock, in the same
     * transaction: for the admin audit trail's before → after), or undefined when there is no such product.
     * `values` may be a function of the fields as stored (its audited ones and its name), called under that lock: the
     * values it returns are written, and what it throws rolls the update back.
     */
    async update(db: Db, id: number, values: ProductWrite | ((stored: StoredProductFields) => ProductWrite)): Promise<AuditedProductFields | undefined> {
      return db.transaction(async (tx) => {
        const [stored] = await tx
          .select({
            priceCents: products.priceCents,
            currency: products.currency,
            status: products.status,
            maxPerCustomer: products.maxPerCustomer,
            name: products.name,
            categoryId: products.categoryId,
          })
          .from(products)
          .where(eq(products.id, id))
          .for('update');
        if (!stored) return undefined;
        const write = typeof values === 'function' ? values(stored) : values;
        await tx
          .update(products)
          .set({ ...write, updatedAt: sql`now()` })
          .where(eq(products.id, id));
        return stored;
      });
    },

    async listCategories(db: Db): Promise<Category[]> {
      return db.select(categoryColumns).from(categories).orderBy(asc(categories.id));
    },

    async findCategory(db: Db, id: number): Promise<Category | undefined> {
      const rows = await db.select(categoryColumns).from(categories).where(eq(categories.id, id));
      return rows[0];
    },

    /** The new category, or undefined (nothing written) when its parent id is its own new id: a cycle the foreign key lets through. */
    async insertCategory(db: Db, values: { slug: string; name: string; parentId?: number | null }): Promise<Category | undefined> {
      return db.transaction(async (tx) => {
        const [row] = await tx.insert(categories).values(values).returning(categoryColumns);
        if (row!.parentId === row!.id) {
          await tx.delete(categories).where(eq(categories.id, row!.id));
          return undefined;
        }
        return row!;
      });
    },

    /**
     * Within a transaction: waits until no other move in the category tree is in flight, until the transaction ends.
     * A move is checked against the tree as read (no cycle), so two at once (A under B, B under A) must not both
     * pass on the same tree; reads after it see the other move, committed.
     */
    async lockCategoryTree(db: Db): Promise<void> {
      await db.execute(sql`SELECT pg_advisory_xact_lock(${CATEGORY_TREE_LOCK_KEY})`);
    },

    /** The category as it was (read under its row's lock, for the admin audit trail) and as it is now; undefined when there is none. */
    /** `check` sees the category as stored, under its row's lock, before the write (it throws to refuse it). */
    async updateCategory(
      db: Db,
      id: number,
      values: { slug?: string; name?: string; parentId?: number | null },
      check?: (before: Category) => void,
    ): Promise<{ before: Category; category: Category } | undefined> {
      return db.transaction(async (tx) => {
        const [before] = await tx.select(categoryColumns).from(categories).where(eq(categories.id, id)).for('update');
        if (!before) return undefined;
        check?.(before);
        const [category] = await tx
          .update(categories)
          .set({ ...values, updatedAt: sql`now()` })
          .where(eq(categories.id, id))
          .returning(categoryColumns);
        return { before, category: category! };
      });
    },

    /** The category as the delete removed it (its statement's RETURNING: for the admin audit trail); undefined when there was none. */
    async deleteCategory(db: Db, id: number): Promise<Category | undefined> {
      const [row] = await db.delete(categories).where(eq(categories.id, id)).returning(categoryColumns);
      return row;
    },
  };
}

export type CatalogRepository = ReturnType<typeof createCatalogRepository>;

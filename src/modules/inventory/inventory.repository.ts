import { and, eq, gte, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.ts';
import { products } from '../catalog/catalog.tables.ts';
import { orders } from '../orders/orders.tables.ts';
import { productInitialStock, productStock, stockAdjustments } from './inventory.tables.ts';
import { giveBackStock } from './stock-return.ts';

/**
 * Every statement that changes stock, in TypeScript (with `giveBackStock`, `stock-return.ts`); the one that takes stock at checkout is
 * `take_stock` in `inventory.sql` (called by `place_order`, in the order's own statement).
 *
 * A product's stock is split across `shards` rows (see `productStock`): set and create split it evenly,
 * checkout takes from any shard it can lock without waiting, a cancellation gives back into the
 * emptiest one. The product's figure is the sum.
 */
export interface InventoryRepositoryOptions {
  /**
   * Rows a product's stock is split into when it is set (1 = the single-row design).
   * @defaultValue 1
   */
  shards?: number;
}

/**
 * `available` units as `shards` rows, as even as possible (the first rows take the remainder). The only place stock is
 * split: create, seed, set and adjust write its rows; `take_stock` (`inventory.sql`) only takes from the rows it finds
 * and never splits.
 */
export function splitStock(productId: number, available: number, shards: number): { productId: number; shard: number; available: number }[] {
  const base = Math.floor(available / shards);
  return Array.from({ length: shards }, (_, shard) => ({ productId, shard, available: base + (shard < available % shards ? 1 : 0) }));
}

/** The available units of the product in `productId` (a column of the outer query), for reads that show stock. */
export function availableOf(productId: AnyColumn): SQL<number> {
  return sql<number>`coalesce((select sum(${productStock.available}) from ${productStock} where ${productStock.productId} = ${productId}), 0)`.mapWith(Number);
}

/** What `adjust` did: the stock counts before and after, for an adjustment applied now or earlier under its key. */
export type StockAdjustment =
  | { kind: 'applied' | 'replayed'; before: number; after: number }
  | { kind: 'out-of-range'; before: number; after: number }
  | { kind: 'key-reused' }
  | { kind: 'not-found' };

/**
 * Locks every stock row of a product, in shard order (checkout's lock order), and answers how many rows it holds and
 * their committed total once all are held. Two statements: the first waits for the locks, but reads from the snapshot
 * it started with, so when the holder was a set or an adjustment that split the stock into more rows (a seeded
 * product's one row into `STOCK_SHARDS`), it misses the rows that holder added and sums only part of the stock (20
 * concurrent restocks of a seeded product lost most of their units). The second starts after the wait, sees and locks
 * every row; none can be added meanwhile, since whoever adds rows holds the existing ones first. `take_stock`
 * (`inventory.sql`) follows the same rule.
 */
async function lockStockTotal(tx: Db, productId: number): Promise<{ rows: number; total: number }> {
  const lockedRows = sql`${productStock} where ${productStock.productId} = ${productId} order by ${productStock.shard} for update`;
  await tx.execute(sql`select 1 from ${lockedRows}`);
  const locked = await tx.execute<{ available: number }>(sql`select ${productStock.available} as available from ${lockedRows}`);
  return { rows: locked.rows.length, total: locked.rows.reduce((sum, row) => sum + Number(row.available), 0) };
}

/** Writes `total` as a product's split into `shards` rows (see `splitStock`), removing rows past them; under `lockStockTotal`'s lock. */
async function writeSplit(tx: Db, productId: number, total: number, shards: number): Promise<void> {
  await tx.delete(productStock).where(and(eq(productStock.productId, productId), gte(productStock.shard, shards)));
  await tx
    .insert(productStock)
    .values(splitStock(productId, total, shards))
    .onConflictDoUpdate({ target: [productStock.productId, productStock.shard], set: { available: sql`excluded.available`, updatedAt: sql`now()` } });
}

export function createInventoryRepository(options: InventoryRepositoryOptions = {}) {
  const defaultShards = options.shards ?? 1;
  return {
    /** Rows a product's stock is split into when this repository sets it. */
    shards: defaultShards,

    /**
     * The stock rows of a product just created (call inside the transaction that inserts the product), and the
     * stock it was created with (see `initial`).
     */
    async create(db: Db, productId: number, available: number, shards = defaultShards): Promise<void> {
      await insertStock(db, [{ productId, available }], shards);
    },

    /** The stock a product was created with; undefined for a product created before it was recorded (or none). */
    async initial(db: Db, productId: number): Promise<number | undefined> {
      const [row] = await db.select({ available: productInitialStock.available }).from(productInitialStock).where(eq(productInitialStock.productId, productId));
      return row?.available;
    },

    /**
     * Sets a product's stock to `available`, split as evenly as possible across `shards` rows (shard 0 … shards-1;
     * extra rows from an earlier, larger split are removed), and returns the count it replaced, read under the same
     * lock. Locks the product's rows in shard order, as checkout does, so it serializes cleanly with orders in flight.
     */
    async set(db: Db, productId: number, available: number, shards = defaultShards): Promise<{ before: number }> {
      return db.transaction(async (tx) => {
        const locked = await lockStockTotal(tx, productId);
        await writeSplit(tx, productId, available, shards);
        return { before: locked.total };
      });
    },

    /**
     * Adds `delta` units (negative: removes them) to a product's stock, as one step under the lock `set` takes,
     * so units checkout takes meanwhile are neither given back nor taken twice (a read followed by a `set` of the
     * sum an operator computed puts back every unit sold in between). The new total is split as `set` splits it.
     * Applied once per (product, `key`): the adjustment's row is written in the same transaction, and a later call
     * with the key finds it under the same lock (`replayed`; `key-reused` when its delta was another). Nothing is
     * written when the new total would leave [0, `max`].
     */
    async adjust(db: Db, input: { productId: number; key: string; delta: number; max: number }, shards = defaultShards): Promise<StockAdjustment> {
      const { productId, key, delta, max } = input;
      return db.transaction(async (tx): Promise<StockAdjustment> => {
        const locked = await lockStockTotal(tx, productId);
        if (locked.rows === 0) return { kind: 'not-found' };
        const [earlier] = await tx
          .select({ delta: stockAdjustments.delta, before: stockAdjustments.availableBefore, after: stockAdjustments.availableAfter })
          .from(stockAdjustments)
          .where(and(eq(stockAdjustments.productId, productId), eq(stockAdjustments.idempotencyKey, key)));
        if (earlier) return earlier.delta === delta ? { kind: 'replayed', before: earlier.before, after: earlier.after } : { kind: 'key-reused' };
        const before = locked.total;
        const after = before + delta;
        if (after < 0 || after > max) return { kind: 'out-of-range', before, after };
        await writeSplit(tx, productId, after, shards);
        await tx.insert(stockAdjustments).values({ productId, idempotencyKey: key, delta, availableBefore: before, availableAfter: after });
        return { kind: 'applied', before, after };
      });
    },

    /** Gives units back inside the caller's transaction (see `giveBackStock`). */
    giveBack: giveBackStock,

    /**
     * One product's committed stock and which of `reservations` became orders (reservation tokens are
     * UUIDs: no commas), read in one statement (one snapshot), for rebuilding the stock gate exactly.
     */
    async snapshot(db: Db, productId: number, reservations: readonly string[]): Promise<{ sellable: boolean; available: number; committed: string[] }> {
      const result = await db.execute<{ sellable: boolean; available: string; committed: string[] }>(sql`
        select exists (select 1 from ${products} where ${products.id} = ${productId} and ${products.status} = 'active') as sellable,
               (select coalesce(sum(${productStock.available}), 0) from ${productStock} where ${productStock.productId} = ${productId}) as available,
               array(select ${orders.reservation} from ${orders} where ${orders.reservation} = any(string_to_array(${reservations.join(',')}, ','))) as committed`);
      const row = result.rows[0]!;
      return { sellable: row.sellable, available: Number(row.available), committed: row.committed };
    },
  };
}

/**
 * The stock rows of products just inserted (call inside the transaction that inserts them): each product's units split
 * across `shards` rows (see `splitStock`), and the stock each was created with (see `initial`), in two statements
 * whatever the number of products (`create` writes one, `salescale seed` a batch). A product seeded as one row would be
 * split at its first stock change, often during a sale.
 */
export async function insertStock(db: Db, stock: readonly { productId: number; available: number }[], shards: number): Promise<void> {
  const rows = stock.flatMap(({ productId, available }) => splitStock(productId, available, shards));
  await db.execute(sql`insert into ${productStock} (product_id, shard, available) select * from unnest(${sql.param(rows.map((row) => row.productId))}::bigint[], ${sql.param(rows.map((row) => row.shard))}::smallint[], ${sql.param(rows.map((row) => row.available))}::int[])`);
  await db.execute(sql`insert into ${productInitialStock} (product_id, available) select * from unnest(${sql.param(stock.map((row) => row.productId))}::bigint[], ${sql.param(stock.map((row) => row.available))}::int[])`);
}

export type InventoryRepository = ReturnType<typeof createInventoryRepository>;

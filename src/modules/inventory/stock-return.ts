import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../../platform/outbox/outbox.ts';
import { productStock } from './inventory.tables.ts';

export interface ReturnedLine {
  productId: number;
  quantity: number;
}

/**
 * Gives units back to PostgreSQL's stock inside the caller's transaction (a cancellation, an expired
 * reservation, a refund): one statement per product, in product order (the lock order of every
 * checkout), into the product's emptiest shard, which keeps the shards even (never lost when that shard
 * is removed meanwhile by a stock set with fewer shards). The caller's status
 * change is what makes this happen once; the gate is rebuilt from PostgreSQL afterwards
 * (`StockGate.invalidate`), never adjusted by hand.
 */
export async function giveBackStock(tx: DbOrTx, lines: readonly ReturnedLine[]): Promise<void> {
  const byProduct = new Map<number, number>();
  for (const line of lines) byProduct.set(line.productId, (byProduct.get(line.productId) ?? 0) + line.quantity);
  for (const [productId, quantity] of [...byProduct].sort((a, b) => a[0] - b[0])) {
    const given = await tx.execute(sql`
      update ${productStock} set available = available + ${quantity}, updated_at = now()
      where product_id = ${productId}
        and shard = (select shard from ${productStock} where product_id = ${productId} order by available, shard limit 1)`);
    if (given.rowCount === 0) {
      // The shard picked was removed while this statement waited for its row lock (the stock set at
      // that moment with fewer shards: `InventoryRepository.set`), so the update matched no row. A new
      // statement sees the rows as they are now; the upsert keeps the units even if no row is left.
      await tx.execute(sql`
        insert into ${productStock} (product_id, shard, available)
        values (${productId}, coalesce((select shard from ${productStock} where product_id = ${productId} order by available, shard limit 1), 0), ${quantity})
        on conflict (product_id, shard) do update set available = ${productStock.available} + excluded.available, updated_at = now()`);
    }
  }
}

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
 * checkout), into the product's emptiest shard, which keeps the shards even. The caller's status
 * change is what makes this happen once; the gate is rebuilt from PostgreSQL afterwards
 * (`StockGate.invalidate`), never adjusted by hand.
 */
export async function giveBackStock(tx: DbOrTx, lines: readonly ReturnedLine[]): Promise<void> {
  const byProduct = new Map<number, number>();
  for (const line of lines) byProduct.set(line.productId, (byProduct.get(line.productId) ?? 0) + line.quantity);
  for (const [productId, quantity] of [...byProduct].sort((a, b) => a[0] - b[0])) {
    await tx.execute(sql`
      update ${productStock} set available = available + ${quantity}, updated_at = now()
      where product_id = ${productId}
        and shard = (select shard from ${productStock} where product_id = ${productId} order by available, shard limit 1)`);
  }
}

import { sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.ts';
import { orderItems, orders } from './orders.tables.ts';

/**
 * Units of each of `productIds` held by orders awaiting payment, by product (absent: none held). Checkout takes an
 * order's units off the stock when it places it (`take_stock`, in the order's statement); payment sells them (they
 * stay off it); expiry and cancellation give them back, in the transaction that moves the order out of
 * `pending_payment`. So an order still `pending_payment` holds its units, past its payment window too until the
 * sweep expires it (it reads `expired` from the window's end, but its units are back only then): the stock's
 * `available` plus this is what the shelf holds, less the units of paid orders not yet shipped.
 *
 * Driven from the orders awaiting payment (`orders_pending_payment_idx`, bounded by the checkouts of one payment
 * window), each probed for the products on the primary key of `order_items`: a join lets the planner start from the
 * product's lines instead (`order_items_product_id_idx`), every line the product ever sold (50,000 lines of a hot
 * product read for 2,000 pending orders). One query for a page of products costs what it costs for one.
 */
export async function getUnitsHeldByUnpaidOrders(db: Db, productIds: readonly number[]): Promise<Map<number, number>> {
  if (productIds.length === 0) return new Map();
  const { rows } = await db.execute<{ product_id: string; held: string }>(sql`
    select ${orderItems.productId} as product_id, sum(${orderItems.quantity}) as held
    from ${orderItems}
    where ${orderItems.orderId} = any(array(select ${orders.id} from ${orders} where ${orders.status} = 'pending_payment'))
      and ${orderItems.productId} = any(${`{${productIds.join(',')}}`}::bigint[])
    group by ${orderItems.productId}`);
  return new Map(rows.map((row) => [Number(row.product_id), Number(row.held)]));
}

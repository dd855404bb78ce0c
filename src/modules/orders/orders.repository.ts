import { and, asc, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.ts';
import { enqueueInTransaction } from '../../platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import { products, productStock } from '../catalog/index.ts';
import { customers } from '../customers/index.ts';
import type { OrderPlaced } from './orders.follow-ups.ts';
import type { Order } from './orders.schemas.ts';
import { customerPurchases, orderItems, orders } from './orders.tables.ts';

export interface OrderLine {
  productId: number;
  quantity: number;
}

export interface PlaceOrderInput {
  customerId: number;
  lines: readonly OrderLine[];
  idempotencyKey: string;
  reservation: string;
  /** The request's trace (see `currentTraceContext`), carried to the order's outbox row; absent while tracing is off. */
  traceContext?: string;
}

/** One order's outcome in a batch: the order, or the PostgreSQL error it raised (rolled back alone). */
export type BatchOutcome = { ok: true; order: PlacedOrder } | { ok: false; error: { code: string; message: string; detail?: string; constraint?: string } };

export interface PlacedOrder {
  id: number;
  createdAt: Date;
  totalCents: number;
  currency: string;
  items: Order['items'];
}

const orderColumns = {
  id: orders.id,
  customerId: orders.customerId,
  status: orders.status,
  totalCents: orders.totalCents,
  currency: orders.currency,
  createdAt: orders.createdAt,
  cancelledAt: orders.cancelledAt,
};

type OrderRow = { id: number; customerId: number; status: 'placed' | 'cancelled'; totalCents: number; currency: string; createdAt: Date; cancelledAt: Date | null };

function toOrder(row: OrderRow, items: Order['items']): Order {
  return {
    id: row.id,
    status: row.status,
    items,
    totalCents: row.totalCents,
    currency: row.currency,
    createdAt: row.createdAt.toISOString(),
    cancelledAt: row.cancelledAt ? row.cancelledAt.toISOString() : null,
  };
}

export type CancelOutcome = { kind: 'cancelled'; order: Order } | { kind: 'already-cancelled'; order: Order } | { kind: 'not-found' } | { kind: 'window-closed' };

export function createOrdersRepository() {
  async function itemsOf(db: Db, orderIds: number[]): Promise<Map<number, Order['items']>> {
    const byOrder = new Map<number, Order['items']>(orderIds.map((id) => [id, []]));
    if (orderIds.length === 0) return byOrder;
    const rows = await db
      .select({ orderId: orderItems.orderId, productId: orderItems.productId, quantity: orderItems.quantity, priceCents: orderItems.priceCents })
      .from(orderItems)
      .where(inArray(orderItems.orderId, orderIds))
      .orderBy(asc(orderItems.orderId), asc(orderItems.productId));
    for (const { orderId, ...item } of rows) byOrder.get(orderId)?.push(item);
    return byOrder;
  }

  async function find(db: Db, id: number, customerId: number | undefined): Promise<Order | undefined> {
    const rows = await db
      .select(orderColumns)
      .from(orders)
      .where(customerId === undefined ? eq(orders.id, id) : and(eq(orders.id, id), eq(orders.customerId, customerId)));
    const row = rows[0];
    if (!row) return undefined;
    return toOrder(row, (await itemsOf(db, [row.id])).get(row.id) ?? []);
  }

  return {
    /**
     * Places an order in one statement (the `place_order` function, see migration 0004). Refusals
     * arrive as PostgreSQL errors: SQLSTATE P0001, the code as message, the data as JSON in DETAIL.
     */
    async place(db: Db, input: PlaceOrderInput): Promise<PlacedOrder> {
      const result = await db.execute<{ placed_order_id: string; placed_at: Date | string; order_total_cents: string; order_currency: string; order_lines: Order['items'] }>(
        input.traceContext === undefined
          ? sql`select * from place_order(${input.customerId}, ${JSON.stringify(input.lines)}::jsonb, ${input.idempotencyKey}, ${input.reservation}, ${QUEUES.order}, ${JOBS.orderPlaced})`
          : // The wrapper sets the transaction's trace context before place_order runs (migration 0006).
            sql`select * from place_order(${input.customerId}, ${JSON.stringify(input.lines)}::jsonb, ${input.idempotencyKey}, ${input.reservation}, ${QUEUES.order}, salescale_with_trace_context(${JOBS.orderPlaced}, ${input.traceContext}))`,
      );
      const row = result.rows[0]!;
      return {
        id: Number(row.placed_order_id),
        createdAt: new Date(row.placed_at),
        totalCents: Number(row.order_total_cents),
        currency: row.order_currency,
        items: row.order_lines,
      };
    },

    /** Several orders in one statement and one commit (`place_orders`, migration 0005), in the given order. */
    async placeBatch(db: Db, inputs: readonly PlaceOrderInput[]): Promise<BatchOutcome[]> {
      const payload = inputs.map((input) => ({ customerId: input.customerId, items: input.lines, idempotencyKey: input.idempotencyKey, reservation: input.reservation, traceContext: input.traceContext }));
      const result = await db.execute<{
        idx: number;
        placed_order_id: string | null;
        placed_at: Date | string | null;
        order_total_cents: string | null;
        order_currency: string | null;
        order_lines: Order['items'] | null;
        error_state: string | null;
        error_message: string | null;
        error_detail: string | null;
        error_constraint: string | null;
      }>(sql`select * from place_orders(${JSON.stringify(payload)}::jsonb, ${QUEUES.order}, ${JOBS.orderPlaced})`);
      const outcomes: BatchOutcome[] = [];
      for (const row of result.rows) {
        outcomes[row.idx] =
          row.error_state === null
            ? {
                ok: true,
                order: {
                  id: Number(row.placed_order_id),
                  createdAt: new Date(row.placed_at!),
                  totalCents: Number(row.order_total_cents),
                  currency: row.order_currency!,
                  items: row.order_lines!,
                },
              }
            : { ok: false, error: { code: row.error_state, message: row.error_message ?? '', detail: row.error_detail ?? undefined, constraint: row.error_constraint ?? undefined } };
      }
      return outcomes;
    },

    find,

    async findByIdempotencyKey(db: Db, customerId: number, key: string): Promise<Order | undefined> {
      const rows = await db
        .select({ id: orders.id })
        .from(orders)
        .where(and(eq(orders.customerId, customerId), eq(orders.idempotencyKey, key)));
      return rows[0] ? find(db, rows[0].id, customerId) : undefined;
    },

    /** Frees an expired key for reuse: the order keeps everything but the key. */
    async forgetIdempotencyKey(db: Db, customerId: number, key: string): Promise<void> {
      await db
        .update(orders)
        .set({ idempotencyKey: null })
        .where(and(eq(orders.customerId, customerId), eq(orders.idempotencyKey, key)));
    },

    /** Newest first, keyset-paginated by id. */
    async list(db: Db, customerId: number, beforeId: number | undefined, limit: number): Promise<Order[]> {
      const rows = await db
        .select(orderColumns)
        .from(orders)
        .where(beforeId === undefined ? eq(orders.customerId, customerId) : and(eq(orders.customerId, customerId), lt(orders.id, beforeId)))
        .orderBy(desc(orders.id))
        .limit(limit);
      const items = await itemsOf(
        db,
        rows.map((r) => r.id),
      );
      return rows.map((row) => toOrder(row, items.get(row.id) ?? []));
    },

    /**
     * One product's committed stock (reservation tokens are UUIDs: no commas) and which of `reservations` became orders, read in one statement
     * (one snapshot), for rebuilding the stock gate exactly.
     */
    async stockSnapshot(db: Db, productId: number, reservations: readonly string[]): Promise<{ sellable: boolean; available: number; committed: string[] }> {
      const result = await db.execute<{ sellable: boolean; available: string; committed: string[] }>(sql`
        select exists (select 1 from ${products} where ${products.id} = ${productId} and ${products.status} = 'active') as sellable,
               (select coalesce(sum(${productStock.available}), 0) from ${productStock} where ${productStock.productId} = ${productId}) as available,
               array(select ${orders.reservation} from ${orders} where ${orders.reservation} = any(string_to_array(${reservations.join(',')}, ','))) as committed`);
      const row = result.rows[0]!;
      return { sellable: row.sellable, available: Number(row.available), committed: row.committed };
    },

    /**
     * Cancels a placed order and gives its stock back, exactly once however often it is called:
     * the status change is the guard. `customerId` undefined means an admin; `windowS` undefined, no window.
     */
    async cancel(db: Db, input: { id: number; customerId: number | undefined; windowS: number | undefined }): Promise<CancelOutcome> {
      return db.transaction(async (tx) => {
        const conditions = [eq(orders.id, input.id), eq(orders.status, 'placed')];
        if (input.customerId !== undefined) conditions.push(eq(orders.customerId, input.customerId));
        if (input.windowS !== undefined) conditions.push(sql`${orders.createdAt} > now() - make_interval(secs => ${input.windowS})`);
        const updated = await tx
          .update(orders)
          .set({ status: 'cancelled', cancelledAt: sql`now()` })
          .where(and(...conditions))
          .returning(orderColumns);
        if (updated.length === 0) {
          const current = await find(tx, input.id, input.customerId);
          if (!current) return { kind: 'not-found' };
          return current.status === 'cancelled' ? { kind: 'already-cancelled', order: current } : { kind: 'window-closed' };
        }
        const items = (await itemsOf(tx, [input.id])).get(input.id) ?? [];
        const customerId = updated[0]!.customerId;
        // Same lock order as place_order (per product: the customer's row, then a stock row).
        for (const item of items) {
          await tx
            .update(customerPurchases)
            .set({ quantity: sql`greatest(${customerPurchases.quantity} - ${item.quantity}, 0)` })
            .where(and(eq(customerPurchases.customerId, customerId), eq(customerPurchases.productId, item.productId)));
          // Back into the emptiest shard, which keeps the shards even.
          await tx.execute(sql`
            update ${productStock} set available = available + ${item.quantity}, updated_at = now()
            where product_id = ${item.productId}
              and shard = (select shard from ${productStock} where product_id = ${item.productId} order by available, shard limit 1)`);
        }
        await enqueueInTransaction(
          tx,
          items.map((item) => ({ queue: QUEUES.inventory, name: JOBS.updateStock, data: { productId: item.productId, quantity: -item.quantity } })),
        );
        return { kind: 'cancelled', order: toOrder(updated[0]!, items) };
      });
    },

    /** What the order-placed job needs to fan out: the order with product names and the customer's address. */
    async loadPlaced(db: Db, id: number): Promise<OrderPlaced | undefined> {
      const rows = await db
        .select({ ...orderColumns, email: customers.email, name: customers.name })
        .from(orders)
        .innerJoin(customers, eq(customers.id, orders.customerId))
        .where(eq(orders.id, id));
      const row = rows[0];
      if (!row) return undefined;
      const items = await db
        .select({ productId: orderItems.productId, quantity: orderItems.quantity, unitPriceCents: orderItems.priceCents, name: products.name, sku: products.sku })
        .from(orderItems)
        .innerJoin(products, eq(products.id, orderItems.productId))
        .where(eq(orderItems.orderId, id))
        .orderBy(asc(orderItems.productId));
      return { orderId: row.id, email: row.email, name: row.name, items, totalCents: row.totalCents, currency: row.currency, placedAt: row.createdAt.toISOString() };
    },
  };
}

export type OrdersRepository = ReturnType<typeof createOrdersRepository>;

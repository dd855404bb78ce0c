import { and, asc, desc, eq, gte, inArray, isNull, lt, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.ts';
import { enqueueInTransaction, type DbOrTx } from '../../platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import { products } from '../catalog/index.ts';
import { customers } from '../customers/index.ts';
import { saleEvents } from '../sale-events/sale-events.tables.ts';
import { giveBackStock } from '../inventory/index.ts';
import { payments } from '../payments/payments.tables.ts';
import type { NotCancellableStatus } from './orders.errors.ts';
import { openIntentsCancel, type OrderPlaced } from './orders.follow-ups.ts';
import type { AdminOrderDetail, Order } from './orders.schemas.ts';
import { buyerPurchases, orderItems, orders, orderStatus, saleEventBuyerPurchases, type OrderStatus } from './orders.tables.ts';

export interface OrderLine {
  productId: number;
  quantity: number;
}

/**
 * Who places an order, exactly one of: the ordering customer's record, or for a guest without one yet its email, whose
 * guest record the statement that places the order writes (`guest_customer_id`, customers.sql), so a refused order,
 * rolled back, leaves none. Neither is not a type (place_order refuses it too).
 */
export type PlaceOrderBuyer = { customerId: number; guestEmail?: undefined } | { customerId: undefined; guestEmail: string };

export type PlaceOrderInput = PlaceOrderBuyer & {
  lines: readonly OrderLine[];
  idempotencyKey: string;
  reservation: string;
  /** The request's trace (see `currentTraceContext`), carried to the order's outbox row; absent while tracing is off. */
  traceContext?: string;
  /** What the buyer was shown: the order is refused PRICE_CHANGED unless placed at this total and currency (absent: not checked). */
  expected?: ExpectedTotal;
};

/** An order's total and currency as its buyer was shown them. */
export interface ExpectedTotal {
  totalCents: number;
  currency: string;
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

export type OrderRow = {
  id: number;
  customerId: number;
  status: OrderStatus;
  totalCents: number;
  currency: string;
  createdAt: Date;
  cancelledAt: Date | null;
  paidAt: Date | null;
  expiredAt: Date | null;
};

/** The latest (or the applied) payment of an order, as the order reply shows it. */
export interface PaymentSummary {
  provider: string;
  status: string;
  clientSecret: string | null;
}

export interface AdminOrderFilters {
  status?: OrderStatus;
  /** Orders with a product of this sale event, placed while it ran. */
  saleEventId?: number;
  from?: Date;
  to?: Date;
  /** The buyer's email (an account's or a guest's), compared lower-cased. */
  email?: string;
}

export interface OrdersRepositoryOptions {
  /** The payment window: an order's `expiresAt` is its creation plus this. @defaultValue 600 */
  paymentWindowS?: number;
  /** Shown as the order's payment provider before any payment exists. @defaultValue 'test' */
  provider?: string;
}

export type CancelOutcome =
  | { kind: 'cancelled'; order: Order }
  | { kind: 'already-cancelled'; order: Order }
  | { kind: 'not-found' }
  | { kind: 'window-closed' }
  | { kind: 'wrong-status'; order: Order; status: NotCancellableStatus };

/**
 * A line's product name and SKU as every read of an order shows them (with `products` joined on the line's product):
 * the ones it was bought under (`order_items.product_name`, `product_sku`, which `place_order` writes), or, for a line
 * without them (placed before migration 0037, or by the previous release's `place_order` during a rolling update:
 * the columns are nullable, never back-filled), the product's current ones, as every line read before.
 */
export const lineName = sql<string>`coalesce(${orderItems.productName}, ${products.name})`;
export const lineSku = sql<string>`coalesce(${orderItems.productSku}, ${products.sku})`;

/** How long a transaction returning units may sit idle (its process frozen) before PostgreSQL ends it. */
export const RELEASE_IDLE_TIMEOUT_MS = 2000;

/**
 * Takes back what orders held, inside the transaction that moved them out of a holding status (the
 * status change is what makes this happen once): the buyer's lifetime count and per-sale counts
 * (`buyer_purchases`, `sale_event_buyer_purchases` of the events each line was counted in; the buyer is
 * the ordering customer's email as `buyer_of` in `orders.sql` keys it, as `place_order` counts it) and the units, in product order
 * (checkout's lock order: per product, the buyer's count rows, then stock).
 */
export async function releaseUnits(tx: DbOrTx, orderIds: readonly number[]): Promise<void> {
  if (orderIds.length === 0) return;
  // From here the transaction holds the products' stock rows, which every checkout of them waits for: a process
  // frozen before its commit (a SIGSTOP, a VM paused, a GC pause) would stall the product's sale for as long as it
  // stays frozen. PostgreSQL ends such a session once it sits idle in the transaction this long (the work is then
  // rolled back and done again by the next sweep or the caller's retry: the status change makes it once).
  await tx.execute(sql`select set_config('idle_in_transaction_session_timeout', ${`${RELEASE_IDLE_TIMEOUT_MS}ms`}, true)`);
  const items = await tx
    .select({
      orderId: orderItems.orderId,
      productId: orderItems.productId,
      quantity: orderItems.quantity,
      saleEventIds: orderItems.saleEventIds,
      buyerEmail: sql<string>`buyer_of(${customers.email})`,
    })
    .from(orderItems)
    .innerJoin(orders, eq(orders.id, orderItems.orderId))
    .innerJoin(customers, eq(customers.id, orders.customerId))
    .where(inArray(orderItems.orderId, [...orderIds]));
  const lines = items.sort((a, b) => a.productId - b.productId || (a.buyerEmail < b.buyerEmail ? -1 : a.buyerEmail > b.buyerEmail ? 1 : 0) || a.orderId - b.orderId);
  let first = 0;
  for (const [index, line] of lines.entries()) {
    await tx
      .update(buyerPurchases)
      .set({ quantity: sql`greatest(${buyerPurchases.quantity} - ${line.quantity}, 0)` })
      .where(and(eq(buyerPurchases.buyerEmail, line.buyerEmail), eq(buyerPurchases.productId, line.productId)));
    for (const saleEventId of [...line.saleEventIds].sort((a, b) => a - b)) {
      await tx
        .update(saleEventBuyerPurchases)
        .set({ quantity: sql`greatest(${saleEventBuyerPurchases.quantity} - ${line.quantity}, 0)` })
        .where(
          and(
            eq(saleEventBuyerPurchases.saleEventId, saleEventId),
            eq(saleEventBuyerPurchases.buyerEmail, line.buyerEmail),
            eq(saleEventBuyerPurchases.productId, line.productId),
          ),
        );
    }
    // The product's stock right after its count rows, before the next product's: a count row of a later product
    // held while waiting for this stock would deadlock with a checkout holding this stock and waiting for it.
    if (lines[index + 1]?.productId !== line.productId) {
      await giveBackStock(tx, lines.slice(first, index + 1));
      first = index + 1;
    }
  }
  // The caller rebuilds these products' stock gates after its commit; if it dies first, this job does.
  if (lines.length > 0) {
    await enqueueInTransaction(tx, { queue: QUEUES.inventory, name: JOBS.refreshStockGate, data: { productIds: [...new Set(lines.map((line) => line.productId))] } });
  }
}

export function createOrdersRepository(options: OrdersRepositoryOptions = {}) {
  const windowMs = (options.paymentWindowS ?? 600) * 1000;
  const defaultProvider = options.provider ?? 'test';
  const window = sql`make_interval(secs => ${windowMs / 1000})`;
  /**
   * Whether an order waiting for payment is past its window by PostgreSQL's clock (which the sweep judges by, and the
   * pay call refuses it ORDER_EXPIRED from then on).
   */
  const pastWindow = sql`(${orders.status} = 'pending_payment' and ${orders.createdAt} <= now() - ${window})`;

  /**
   * The columns every read of an order selects. An order past its payment window reads `expired`, and `expiredAt` its
   * window's end, from the moment the window ends, not from when the sweep (or its expire-order job) moves the row:
   * paying it already answers ORDER_EXPIRED, and a read saying `pending_payment` told a client to offer "pay now" for
   * an order that could no longer be paid. The sweep still changes the row and gives its units back; from then
   * `expiredAt` is the sweep's time, as before.
   */
  const orderColumns = {
    id: orders.id,
    customerId: orders.customerId,
    status: sql<OrderStatus>`case when ${pastWindow} then 'expired' else ${orders.status} end`.mapWith(orders.status),
    totalCents: orders.totalCents,
    currency: orders.currency,
    createdAt: orders.createdAt,
    cancelledAt: orders.cancelledAt,
    paidAt: orders.paidAt,
    expiredAt: sql<Date | null>`case when ${pastWindow} then ${orders.createdAt} + ${window} else ${orders.expiredAt} end`.mapWith(orders.expiredAt),
  };

  /**
   * A status filter as orders read (see `orderColumns`): an order past its window is `expired`, not `pending_payment`.
   * Both read through indexes, never every order: `pending_payment` as a range of orders_pending_payment_idx; `expired`
   * as the ids of its two kinds (orders_status_created_idx, orders_pending_payment_idx) probed on the primary key newest
   * first. As one `or` the planner walked the primary key backwards, filtering: every order of the shop read when
   * expired ones are few (100k orders, 25 expired: 100k rows read for 25).
   */
  function statusIs(status: OrderStatus): SQL {
    if (status === 'pending_payment') return sql`(${orders.status} = 'pending_payment' and ${orders.createdAt} > now() - ${window})`;
    if (status === 'expired') {
      return sql`${orders.id} = any(array(
        select o.id from ${orders} o where o.status = 'expired'
        union all
        select o.id from ${orders} o where o.status = 'pending_payment' and o.created_at <= now() - ${window}))`;
    }
    return eq(orders.status, status);
  }

  /**
   * The payment's status as the order shows it: an order cancelled or expired before anything was paid wants no
   * payment any more (`cancelled`; one that still arrives is given back), where its record still reads
   * `requires_payment` — which told a client to pay for an order that was gone — or `failed` (a declined card, its
   * last attempt), which told it to try another card. Nothing was paid either way. The admin detail shows it the same
   * way (an order reading `expired` beside a payment `requires_payment` contradicted itself), its `failureCode` kept.
   */
  function paymentStatusOf(orderStatus: OrderRow['status'], recorded: string | undefined): string {
    const ended = orderStatus === 'cancelled' || orderStatus === 'expired';
    if (ended && (recorded === undefined || recorded === 'requires_payment' || recorded === 'failed')) return 'cancelled';
    return recorded ?? 'requires_payment';
  }

  function toOrder(row: Omit<OrderRow, 'customerId'>, items: Order['items'], payment?: PaymentSummary): Order {
    const order: Order = {
      id: row.id,
      status: row.status,
      items,
      totalCents: row.totalCents,
      currency: row.currency,
      createdAt: row.createdAt.toISOString(),
      cancelledAt: row.cancelledAt ? row.cancelledAt.toISOString() : null,
      paidAt: row.paidAt ? row.paidAt.toISOString() : null,
      expiredAt: row.expiredAt ? row.expiredAt.toISOString() : null,
      payment: {
        provider: payment?.provider ?? defaultProvider,
        status: paymentStatusOf(row.status, payment?.status),
        expiresAt: new Date(row.createdAt.getTime() + windowMs).toISOString(),
      },
    };
    if (payment?.clientSecret && row.status === 'pending_payment') order.payment.clientSecret = payment.clientSecret;
    return order;
  }

  /** Per order, the payment that made it paid, else its latest attempt. */
  async function paymentsOf(db: Db, orderIds: number[]): Promise<Map<number, PaymentSummary>> {
    const byOrder = new Map<number, PaymentSummary>();
    if (orderIds.length === 0) return byOrder;
    const rows = await db
      .selectDistinctOn([payments.orderId], { orderId: payments.orderId, provider: payments.provider, status: payments.status, clientSecret: payments.clientSecret })
      .from(payments)
      .where(inArray(payments.orderId, orderIds))
      .orderBy(payments.orderId, desc(payments.applied), desc(payments.id));
    for (const { orderId, ...summary } of rows) byOrder.set(orderId, summary);
    return byOrder;
  }

  async function toOrders(db: Db, rows: OrderRow[]): Promise<Order[]> {
    const ids = rows.map((r) => r.id);
    const [items, paid] = await Promise.all([itemsOf(db, ids), paymentsOf(db, ids)]);
    return rows.map((row) => toOrder(row, items.get(row.id) ?? [], paid.get(row.id)));
  }

  async function itemsOf(db: Db, orderIds: number[]): Promise<Map<number, Order['items']>> {
    const byOrder = new Map<number, Order['items']>(orderIds.map((id) => [id, []]));
    if (orderIds.length === 0) return byOrder;
    const rows = await db
      .select({ orderId: orderItems.orderId, productId: orderItems.productId, name: lineName, quantity: orderItems.quantity, priceCents: orderItems.priceCents })
      .from(orderItems)
      .innerJoin(products, eq(products.id, orderItems.productId))
      .where(inArray(orderItems.orderId, orderIds))
      .orderBy(asc(orderItems.orderId), asc(orderItems.productId));
    for (const { orderId, ...item } of rows) byOrder.get(orderId)?.push(item);
    return byOrder;
  }

  /**
   * One order with its lines and its payment (what `itemsOf` and `paymentsOf` read for many), in one statement: one
   * round trip and one pool checkout where three were made (the pay call reads its order twice).
   */
  const orderDetailColumns = {
    ...orderColumns,
    // Qualified by hand: Drizzle leaves column names bare in a one-table select, which `order_items` and `products` share.
    // A line's name is the one it was bought under; the product's current one for a line without it (see `lineName`).
    items: sql<Order['items']>`(select coalesce(json_agg(json_build_object('productId', oi.product_id, 'name', coalesce(oi.product_name, p.name), 'quantity', oi.quantity, 'priceCents', oi.price_cents) order by oi.product_id), '[]'::json)
      from ${orderItems} oi inner join ${products} p on p.id = oi.product_id where oi.order_id = ${orders}.id)`,
    payment: sql<PaymentSummary | null>`(select json_build_object('provider', pay.provider, 'status', pay.status, 'clientSecret', pay.client_secret)
      from ${payments} pay where pay.order_id = ${orders}.id order by pay.applied desc, pay.id desc limit 1)`,
  };

  function toDetailedOrder(row: (OrderRow & { items: Order['items']; payment: PaymentSummary | null }) | undefined): Order | undefined {
    if (!row) return undefined;
    const { items, payment, ...order } = row;
    return toOrder(order, items, payment ?? undefined);
  }

  async function find(db: Db, id: number, customerId: number | undefined): Promise<Order | undefined> {
    const rows = await db
      .select(orderDetailColumns)
      .from(orders)
      .where(customerId === undefined ? eq(orders.id, id) : and(eq(orders.id, id), eq(orders.customerId, customerId)));
    return toDetailedOrder(rows[0]);
  }

  async function findGuest(db: Db, id: number): Promise<Order | undefined> {
    const rows = await db
      .select(orderDetailColumns)
      .from(orders)
      .innerJoin(customers, eq(customers.id, orders.customerId))
      .where(and(eq(orders.id, id), eq(customers.guest, true)));
    return toDetailedOrder(rows[0]);
  }

  return {
    toOrder,
    toOrders,
    /**
     * Places an order in one statement (the `place_order` function, `orders.sql`). Refusals
     * arrive as PostgreSQL errors: SQLSTATE P0001, the code as message, the data as JSON in DETAIL.
     */
    async place(db: Db, input: PlaceOrderInput): Promise<PlacedOrder> {
      // One statement either way: a guest's record is written with its order or not at all.
      const customer = input.customerId !== undefined ? sql`${input.customerId}::bigint` : sql`guest_customer_id(${input.guestEmail}::text)`;
      const expectedTotal = input.expected?.totalCents ?? null;
      const expectedCurrency = input.expected?.currency ?? null;
      const result = await db.execute<{ placed_order_id: string; placed_at: Date | string; order_total_cents: string; order_currency: string; order_lines: Order['items'] }>(
        input.traceContext === undefined
          ? sql`select * from place_order(${customer}, ${JSON.stringify(input.lines)}::jsonb, ${input.idempotencyKey}, ${input.reservation}, ${QUEUES.order}, ${JOBS.expireOrder}, ${expectedTotal}::bigint, ${expectedCurrency}::text)`
          : // The wrapper sets the transaction's trace context before place_order runs (migration 0006).
            sql`select * from place_order(${customer}, ${JSON.stringify(input.lines)}::jsonb, ${input.idempotencyKey}, ${input.reservation}, ${QUEUES.order}, salescale_with_trace_context(${JOBS.expireOrder}, ${input.traceContext}), ${expectedTotal}::bigint, ${expectedCurrency}::text)`,
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

    /** Several orders in one statement and one commit (`place_orders`, `orders.sql`), in the given order. */
    async placeBatch(db: Db, inputs: readonly PlaceOrderInput[]): Promise<BatchOutcome[]> {
      const payload = inputs.map((input) => ({ customerId: input.customerId, guestEmail: input.guestEmail, items: input.lines, idempotencyKey: input.idempotencyKey, reservation: input.reservation, traceContext: input.traceContext, expectedTotalCents: input.expected?.totalCents, expectedCurrency: input.expected?.currency }));
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
      }>(sql`select * from place_orders(${JSON.stringify(payload)}::jsonb, ${QUEUES.order}, ${JOBS.expireOrder})`);
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

    findGuest,

    /**
     * Whether any order under an Idempotency-Key was created in [from, to): one range read per status on
     * `orders_status_created_idx`, stopping at the first row.
     */
    async anyKeyedOrderBetween(db: Db, from: Date, to: Date): Promise<boolean> {
      const rows = await db
        .select({ id: orders.id })
        .from(orders)
        .where(and(inArray(orders.status, orderStatus.enumValues), gte(orders.createdAt, from), lt(orders.createdAt, to), sql`${orders.idempotencyKey} is not null`))
        .limit(1);
      return rows.length > 0;
    },

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

    /** Admin listing: newest first, keyset-paginated by id, filtered. */
    async listAdmin(db: Db, filters: AdminOrderFilters, beforeId: number | undefined, limit: number): Promise<Order[]> {
      const conditions = [];
      if (beforeId !== undefined) conditions.push(lt(orders.id, beforeId));
      if (filters.status) conditions.push(statusIs(filters.status));
      if (filters.from) conditions.push(gte(orders.createdAt, filters.from));
      if (filters.to) conditions.push(lt(orders.createdAt, filters.to));
      if (filters.email !== undefined) {
        // One arm per partial index on lower(email) (accounts, guests): a buyer is at most two customer rows, whose
        // orders come from orders_customer_id_idx, however many orders the shop holds.
        const email = filters.email.toLowerCase();
        conditions.push(sql`${orders.customerId} in (
          select c.id from ${customers} c where lower(c.email) = ${email} and not c.guest
          union all
          select c.id from ${customers} c where lower(c.email) = ${email} and c.guest)`);
      }
      if (filters.saleEventId !== undefined) {
        // The events a line was counted in when it was placed (`order_items.sale_event_ids`, written by
        // place_order), not the event's products and window today: adding or removing a product later changes
        // neither. The event's order ids are read once through the partial GIN index order_items_sale_event_ids_idx
        // (the `<> '{}'` is its predicate), then probed on the orders' primary key newest first: an `in`/`exists`
        // here lets the planner walk every newer order backwards instead (1M orders, an event's 20k lines 700k
        // orders back: 230 ms against 4 ms), since an event's orders sit together in time.
        conditions.push(sql`${orders.id} = any(array(
          select i.order_id from ${orderItems} i
          where i.sale_event_ids @> array[${filters.saleEventId}::bigint] and i.sale_event_ids <> '{}'::bigint[]))`);
      }
      const rows = await db
        .select(orderColumns)
        .from(orders)
        .where(conditions.length > 0 ? and(...conditions) : undefined)
        .orderBy(desc(orders.id))
        .limit(limit);
      return toOrders(db, rows);
    },

    /** Admin: one order with its buyer and its payment (the applied one, else the latest attempt), never the client secret. */
    async findAdmin(db: Db, id: number): Promise<AdminOrderDetail | undefined> {
      const rows = await db
        .select({ ...orderColumns, fulfilledAt: orders.fulfilledAt, refundedAt: orders.refundedAt, refundRequestedAt: orders.refundRequestedAt, email: customers.email, guest: customers.guest })
        .from(orders)
        .innerJoin(customers, eq(customers.id, orders.customerId))
        .where(eq(orders.id, id));
      const row = rows[0];
      if (!row) return undefined;
      const [items, paymentRows] = await Promise.all([
        itemsOf(db, [id]),
        db
          .select({
            provider: payments.provider,
            status: payments.status,
            amountCents: payments.amountCents,
            currency: payments.currency,
            intentId: payments.intentId,
            failureCode: payments.failureCode,
            problemResolvedAt: payments.problemResolvedAt,
            applied: payments.applied,
          })
          .from(payments)
          .where(eq(payments.orderId, id))
          .orderBy(desc(payments.applied), desc(payments.id))
          .limit(1),
      ]);
      const iso = (date: Date | null) => (date ? date.toISOString() : null);
      const paymentRow = paymentRows[0];
      // A paid order whose payment's hold was released before it was captured (the payments module's `hold_lapsed`, open
      // in `salescale_payment_problems_open`): shown as that, not as a plain `voided`, while the order is paid and no
      // refund is asked for.
      const lapsed = paymentRow?.applied === true && paymentRow.status === 'voided' && row.status === 'paid' && row.refundRequestedAt === null;
      return {
        id: row.id,
        status: row.status,
        items: items.get(id) ?? [],
        totalCents: row.totalCents,
        currency: row.currency,
        createdAt: row.createdAt.toISOString(),
        paidAt: iso(row.paidAt),
        cancelledAt: iso(row.cancelledAt),
        expiredAt: iso(row.expiredAt),
        fulfilledAt: iso(row.fulfilledAt),
        refundedAt: iso(row.refundedAt),
        refundRequestedAt: iso(row.refundRequestedAt),
        paymentExpiresAt: new Date(row.createdAt.getTime() + windowMs).toISOString(),
        buyer: { email: row.email, guest: row.guest },
        payment: paymentRow
          ? {
              provider: paymentRow.provider,
              status: lapsed ? 'hold_lapsed' : paymentStatusOf(row.status, paymentRow.status),
              amountCents: paymentRow.amountCents,
              currency: paymentRow.currency,
              intentId: paymentRow.intentId,
              failureCode: paymentRow.failureCode,
              problemResolvedAt: iso(paymentRow.problemResolvedAt),
            }
          : null,
      };
    },

    /** Whether a sale event exists (the admin list's `saleEventId` filter names one). */
    async saleEventExists(db: Db, id: number): Promise<boolean> {
      const rows = await db.select({ id: saleEvents.id }).from(saleEvents).where(eq(saleEvents.id, id));
      return rows.length > 0;
    },

    /** Newest first, keyset-paginated by id. */
    async list(db: Db, customerId: number, beforeId: number | undefined, limit: number): Promise<Order[]> {
      const rows = await db
        .select(orderColumns)
        .from(orders)
        .where(beforeId === undefined ? eq(orders.customerId, customerId) : and(eq(orders.customerId, customerId), lt(orders.id, beforeId)))
        .orderBy(desc(orders.id))
        .limit(limit);
      return toOrders(db, rows);
    },

    /**
     * Cancels an order still waiting for its payment and gives its units back, exactly once however
     * often it is called: the status change is the guard. `customerId` undefined means an admin, or with
     * `guest`, the holder of a guest order's link (guest orders only); `windowS` undefined, no window.
     */
    async cancel(db: Db, input: { id: number; customerId: number | undefined; windowS: number | undefined; guest?: boolean }): Promise<CancelOutcome> {
      return db.transaction(async (tx) => {
        // Past its payment window it reads `expired` (and cannot be paid) before the sweep moves the row: it is refused
        // as expired from that moment, never turned cancelled.
        const conditions = [eq(orders.id, input.id), eq(orders.status, 'pending_payment'), sql`not ${pastWindow}`];
        if (input.customerId !== undefined) conditions.push(eq(orders.customerId, input.customerId));
        if (input.guest) conditions.push(sql`${orders.customerId} in (select ${customers.id} from ${customers} where ${customers.guest})`);
        if (input.windowS !== undefined) conditions.push(sql`${orders.createdAt} > now() - make_interval(secs => ${input.windowS})`);
        const updated = await tx
          .update(orders)
          .set({ status: 'cancelled', cancelledAt: sql`now()` })
          .where(and(...conditions))
          .returning(orderColumns);
        if (updated.length === 0) {
          const current = input.guest ? await findGuest(tx, input.id) : await find(tx, input.id, input.customerId);
          if (!current) return { kind: 'not-found' };
          const status = current.status;
          if (status === 'cancelled') return { kind: 'already-cancelled', order: current };
          return status === 'pending_payment' ? { kind: 'window-closed' } : { kind: 'wrong-status', order: current, status };
        }
        await releaseUnits(tx, [input.id]);
        await enqueueInTransaction(tx, openIntentsCancel([input.id]));
        const items = (await itemsOf(tx, [input.id])).get(input.id) ?? [];
        // The shop (an admin) cancelled a reservation its buyer was still going to pay: told once (this is the status
        // change's own transaction), with the "reservation expired" email's `cancelled` wording. A buyer cancelling
        // their own order (signed in, or a guest's link) is not told what they did.
        if (input.customerId === undefined && !input.guest) {
          const buyer = (await tx.select({ email: customers.email, name: customers.name }).from(customers).where(eq(customers.id, updated[0]!.customerId)))[0];
          if (buyer) {
            await enqueueInTransaction(tx, {
              queue: QUEUES.email,
              name: JOBS.sendReservationExpired,
              data: { orderId: input.id, email: buyer.email, name: buyer.name, items: items.map((item) => ({ name: item.name, quantity: item.quantity })), reason: 'cancelled' },
            });
          }
        }
        return { kind: 'cancelled', order: toOrder(updated[0]!, items) };
      });
    },

    /**
     * Whether the order is paid or shipped and no refund was asked for: its confirmation is still wanted. Not once
     * refunded, nor while a refund asked for is unfinished (`startRefund`'s mark: an admin refund whose provider call
     * failed, waiting for the give-back retry), which leaves the order `paid` but never to be shipped.
     */
    async isConfirmable(db: DbOrTx, id: number): Promise<boolean> {
      const rows = await db
        .select({ id: orders.id })
        .from(orders)
        .where(and(eq(orders.id, id), inArray(orders.status, ['paid', 'fulfilled']), isNull(orders.refundRequestedAt)));
      return rows.length > 0;
    },

    /** What the order-placed job needs to fan out: the order with its lines' names and SKUs (as bought) and the customer's address. */
    async loadPlaced(db: Db, id: number): Promise<OrderPlaced | undefined> {
      const rows = await db
        .select({ ...orderColumns, email: customers.email, name: customers.name, guest: customers.guest })
        .from(orders)
        .innerJoin(customers, eq(customers.id, orders.customerId))
        .where(eq(orders.id, id));
      const row = rows[0];
      if (!row) return undefined;
      const items = await db
        .select({ productId: orderItems.productId, quantity: orderItems.quantity, unitPriceCents: orderItems.priceCents, name: lineName, sku: lineSku })
        .from(orderItems)
        .innerJoin(products, eq(products.id, orderItems.productId))
        .where(eq(orderItems.orderId, id))
        .orderBy(asc(orderItems.productId));
      return { orderId: row.id, email: row.email, name: row.name, guest: row.guest, items, totalCents: row.totalCents, currency: row.currency, placedAt: row.createdAt.toISOString() };
    },
  };
}

export type OrdersRepository = ReturnType<typeof createOrdersRepository>;

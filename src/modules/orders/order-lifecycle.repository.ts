import { and, asc, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import { enqueueInTransaction, type DbOrTx, type OutboxJob } from '../../platform/outbox/outbox.ts';
import { outbox } from '../../platform/outbox/outbox.tables.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import { products } from '../catalog/index.ts';
import { customers } from '../customers/index.ts';
import { openIntentsCancel } from './orders.follow-ups.ts';
import type { PurchaseCapPassed } from './orders.errors.ts';
import { lineName, releaseUnits } from './orders.repository.ts';
import { orderItems, orders, type OrderStatus } from './orders.tables.ts';

/** An order as the payment path sees it, read under its row lock. */
export interface LockedOrder {
  id: number;
  customerId: number;
  status: OrderStatus;
  totalCents: number;
  currency: string;
  createdAt: Date;
  /** Its payment window is over (judged by PostgreSQL's clock, like the sweeper). */
  due: boolean;
  /** A refund was asked for (`startRefund`): its payment is to be given back, never captured. */
  refundRequested: boolean;
  /** Its buyer checked out as a guest: `markPaid` checks its purchase caps (`guestOrderCapPassed`). */
  guest: boolean;
}

export interface ExpiredOrder {
  id: number;
  productIds: number[];
}

/**
 * The order's state changes after checkout: paid, expired, refunded, fulfilled. Each is one
 * conditional UPDATE on the current status inside the caller's transaction, so it happens once
 * however many processes try (webhook replays, the expiry job and two sweepers at once); the units
 * of an expired or refunded order go back in the same transaction.
 */
export function createOrderLifecycleRepository(options: { paymentWindowS: number }) {
  const window = sql`make_interval(secs => ${options.paymentWindowS})`;

  async function itemsByOrder(tx: DbOrTx, ids: number[]) {
    return tx
      .select({ orderId: orderItems.orderId, productId: orderItems.productId, quantity: orderItems.quantity, name: lineName })
      .from(orderItems)
      .innerJoin(products, eq(products.id, orderItems.productId))
      .where(inArray(orderItems.orderId, ids))
      .orderBy(asc(orderItems.orderId), asc(orderItems.productId));
  }

  /** `lockForPayment` and `lockForPaymentAnd`: one statement. */
  async function lockForPaymentWith(tx: DbOrTx, orderId: number, also?: (locked: SQL) => SQL): Promise<{ order: LockedOrder; also: Record<string, unknown> | null } | undefined> {
    const result = await tx.execute<{ id: string; customer_id: string; status: OrderStatus; total_cents: string; currency: string; created_at: Date; due: boolean; refund_requested: boolean; guest: boolean; also: Record<string, unknown> | null }>(sql`
      with locked as (
        select id, customer_id, status, total_cents, currency, created_at, created_at <= now() - ${window} as due,
          refund_requested_at is not null as refund_requested,
          exists (select 1 from ${customers} c where c.id = ${orders}.customer_id and c.guest) as guest
        from ${orders} where id = ${orderId} for update of ${orders})${also ? sql`,
      also as (${also(sql.raw('locked'))})` : sql``}
      select locked.*, ${also ? sql`(select row_to_json(also) from also limit 1)` : sql`null::json`} as also from locked`);
    const row = result.rows[0];
    if (!row) return undefined;
    return {
      order: {
        id: Number(row.id),
        customerId: Number(row.customer_id),
        status: row.status,
        totalCents: Number(row.total_cents),
        currency: row.currency,
        createdAt: new Date(row.created_at),
        due: row.due,
        refundRequested: row.refund_requested,
        guest: row.guest,
      },
      also: row.also,
    };
  }

  /**
   * Whether a guest order may be paid under the purchase caps. An account's checkout does not count the unpaid
   * guest checkouts of its buyer (`unpaid_guest_units`, orders.sql), so the buyer's counts may exceed a cap while
   * such orders wait; a guest order is therefore paid only if the counts of its lines (lifetime and per sale, which
   * hold the buyer's paid and unpaid units) are within the caps, which keeps what a buyer pays for within every
   * cap. Every guest order is checked (finding whether the buyer has an account would need its +tag variants too);
   * accounts' orders were fully counted at checkout. Locks the count rows in checkout's order (per product, the
   * lifetime row, then the sale rows by event), under the caller's lock on the order row, so a checkout of the
   * same buyer running meanwhile is counted before or after, never beside. Answers the first cap passed (what the pay
   * call's refusal names, as checkout's PURCHASE_LIMIT_EXCEEDED would), undefined when within every cap.
   */
  async function guestOrderCapPassed(tx: DbOrTx, orderId: number): Promise<PurchaseCapPassed | undefined> {
    const buyer = await tx.execute<{ email: string }>(sql`
      select buyer_of(c.email) as email from ${orders} o join ${customers} c on c.id = o.customer_id where o.id = ${orderId} and c.guest`);
    const email = buyer.rows[0]?.email;
    if (email === undefined) return undefined;
    const lines = await tx
      .select({ productId: orderItems.productId, quantity: orderItems.quantity, saleEventIds: orderItems.saleEventIds })
      .from(orderItems)
      .where(eq(orderItems.orderId, orderId))
      .orderBy(asc(orderItems.productId));
    // The counts hold this line's units too: the buyer's other orders hold the rest, as checkout's refusal counts them.
    const passed = (row: { held: number; cap: number | null } | undefined, line: (typeof lines)[number], saleEventId: number | null) =>
      row && row.cap !== null && row.held > row.cap ? { productId: line.productId, limit: row.cap, alreadyPurchased: row.held - line.quantity, requested: line.quantity, saleEventId } : undefined;
    for (const line of lines) {
      const lifetime = await tx.execute<{ held: number; cap: number | null }>(sql`
        select b.quantity as held, p.max_per_customer as cap from buyer_purchases b join ${products} p on p.id = b.product_id
        where b.buyer_email = ${email} and b.product_id = ${line.productId} for update of b`);
      const overLifetime = passed(lifetime.rows[0], line, null);
      if (overLifetime) return overLifetime;
      for (const saleEventId of [...line.saleEventIds].sort((a, b) => a - b)) {
        const sale = await tx.execute<{ held: number; cap: number | null }>(sql`
          select s.quantity as held, e.max_per_customer as cap from sale_event_buyer_purchases s join sale_events e on e.id = s.sale_event_id
          where s.sale_event_id = ${saleEventId} and s.buyer_email = ${email} and s.product_id = ${line.productId} for update of s`);
        const overSale = passed(sale.rows[0], line, saleEventId);
        if (overSale) return overSale;
      }
    }
    return undefined;
  }

  return {
    /** Locks the order row (FOR UPDATE) for a payment decision; undefined if it does not exist. */
    async lockForPayment(tx: DbOrTx, orderId: number): Promise<LockedOrder | undefined> {
      return (await lockForPaymentWith(tx, orderId))?.order;
    },

    /**
     * `lockForPayment`, and in the same statement the caller's `also`, run once the order row is locked: given the CTE
     * of that row (`locked`: `id`, `total_cents`, `currency`, …), which its statement must select from so that it runs
     * after the lock (and not at all for an order that does not exist). Its first returned row comes back as JSON
     * (`row_to_json`: snake_case keys), null if none.
     */
    async lockForPaymentAnd(tx: DbOrTx, orderId: number, also: (locked: SQL) => SQL): Promise<{ order: LockedOrder; also: Record<string, unknown> | null } | undefined> {
      return lockForPaymentWith(tx, orderId, also);
    },

    /**
     * pending_payment → paid, within the window and, for a guest order, within the purchase caps (see
     * `guestOrderCapPassed`); writes the `order-paid` follow-up (confirmation email,
     * popularity, analytics) to the outbox, in `traceContext`'s trace. Returns the seconds the buyer took; the first cap
     * passed (`capPassed`: the order is not paid) if a guest order's buyer's counts are over one; undefined if the order
     * was not payable otherwise. `guest` false (the order locked by `lockForPayment` said so): no guest caps to check, and
     * no statement spent finding that out. The status change and the outbox row are one statement (a data-modifying CTE);
     * `alsoWhenPaid` adds the caller's own change to it (the payment applied), given the CTE of the paid order's row
     * (`id`), which its statement must depend on (`where exists (select 1 from <paid>)`) to happen only if the order was paid.
     */
    async markPaid(
      tx: DbOrTx,
      orderId: number,
      traceContext?: string,
      guest?: boolean,
      alsoWhenPaid?: (paid: SQL) => SQL,
    ): Promise<{ secondsToPay: number } | { capPassed: PurchaseCapPassed } | undefined> {
      if (guest !== false) {
        const capPassed = await guestOrderCapPassed(tx, orderId);
        if (capPassed) return { capPassed };
      }
      const paid = sql.raw('paid');
      // The follow-up continues the paying request's trace: its row carries it (as `enqueueInTransaction` writes it).
      const updated = await tx.execute<{ seconds: number }>(sql`
        with paid as (
          update ${orders} set status = 'paid', paid_at = now()
          where id = ${orderId} and status = 'pending_payment' and created_at > now() - ${window}
          returning id, extract(epoch from (paid_at - created_at))::float8 as seconds),
        queued as (
          insert into ${outbox} (queue, name, data, trace_context)
          select ${QUEUES.order}::text, ${JOBS.orderPaid}::text, jsonb_build_object('orderId', paid.id), ${traceContext ?? null}::text from paid
          returning id)${alsoWhenPaid ? sql`,
        also as (${alsoWhenPaid(paid)})` : sql``}
        select seconds from paid`);
      const row = updated.rows[0];
      if (!row) return undefined;
      return { secondsToPay: Number(row.seconds) };
    },

    /**
     * Expires unpaid orders past their window: `orderIds` (the expiry job, the payment path) or the
     * oldest `limit` due ones (the sweeper). Rows another transaction holds are skipped (SKIP LOCKED):
     * that one is paying, expiring or cancelling the order, and a later pass sees the outcome. Units
     * and purchase counts (lifetime and per sale) go back, the order's intents still open at the provider are to be canceled
     * (`cancel-open-intents`) and the "reservation expired" email is written, in this transaction
     * (unless `email` is false: the payment path, whose "payment returned" email tells the buyer the reservation expired).
     */
    async expire(tx: DbOrTx, input: { orderIds?: number[]; limit: number; email?: boolean }): Promise<ExpiredOrder[]> {
      const only = input.orderIds ? sql`and id = any(${`{${input.orderIds.join(',')}}`}::bigint[])` : sql``;
      const expired = await tx.execute<{ id: string; customer_id: string }>(sql`
        with due as (
          select id from ${orders}
          where status = 'pending_payment' and created_at <= now() - ${window} ${only}
          order by created_at limit ${input.limit}
          for update skip locked)
        update ${orders} o set status = 'expired', expired_at = now() from due where o.id = due.id
        returning o.id, o.customer_id`);
      if (expired.rows.length === 0) return [];
      const customerOf = new Map(expired.rows.map((row) => [Number(row.id), Number(row.customer_id)]));
      const ids = [...customerOf.keys()];
      await releaseUnits(tx, ids);
      await enqueueInTransaction(tx, openIntentsCancel(ids));
      const items = await itemsByOrder(tx, ids);
      if (input.email === false) return ids.map((id) => ({ id, productIds: items.filter((item) => item.orderId === id).map((item) => item.productId) }));
      const buyers = await tx
        .select({ id: customers.id, email: customers.email, name: customers.name })
        .from(customers)
        .where(inArray(customers.id, [...new Set(customerOf.values())]));
      const buyerById = new Map(buyers.map((b) => [b.id, b]));
      const emails: OutboxJob[] = [];
      for (const id of ids) {
        const buyer = buyerById.get(customerOf.get(id)!);
        if (!buyer) continue;
        const lines = items.filter((item) => item.orderId === id).map((item) => ({ name: item.name, quantity: item.quantity }));
        emails.push({ queue: QUEUES.email, name: JOBS.sendReservationExpired, data: { orderId: id, email: buyer.email, name: buyer.name, items: lines } });
      }
      await enqueueInTransaction(tx, emails);
      return ids.map((id) => ({ id, productIds: items.filter((item) => item.orderId === id).map((item) => item.productId) }));
    },

    /**
     * paid → refunded: the units go back (the order was not shipped) and so does its popularity. The analytics get an
     * `order_refunded` event: what of its total was not counted as given back yet (`countedBeforeCents`: partial refunds
     * at the provider and a lost dispute its payment counted, under the caller's lock on the order; never below 0) counted
     * as refunded in the hour of the refund, beside the revenue its payment counted (net revenue = `revenue_cents` −
     * `refunds_cents` − `chargebacks_cents`, per currency). `refundedCents`: what that event counted.
     */
    async markRefunded(tx: DbOrTx, orderId: number, countedBeforeCents = 0): Promise<{ productIds: number[]; refundedCents: number } | undefined> {
      const updated = await tx
        .update(orders)
        .set({ status: 'refunded', refundedAt: sql`now()` })
        .where(and(eq(orders.id, orderId), eq(orders.status, 'paid')))
        .returning({ id: orders.id, totalCents: orders.totalCents, currency: orders.currency, refundedAt: orders.refundedAt });
      const refunded = updated[0];
      if (!refunded) return undefined;
      const refundedCents = Math.max(0, refunded.totalCents - countedBeforeCents);
      await releaseUnits(tx, [orderId]);
      const items = await itemsByOrder(tx, [orderId]);
      await enqueueInTransaction(tx, [
        ...items.map((item) => ({ queue: QUEUES.inventory, name: JOBS.updateStock, data: { productId: item.productId, quantity: -item.quantity } })),
        {
          queue: QUEUES.notifications,
          name: JOBS.updateAnalytics,
          data: { eventType: 'order_refunded', orderId, amountCents: refundedCents, currency: refunded.currency, occurredAt: refunded.refundedAt?.toISOString() },
        },
      ]);
      return { productIds: items.map((item) => item.productId), refundedCents };
    },

    /**
     * Marks a paid order as being refunded (kept if already marked), under the caller's row lock on the order:
     * from then on it cannot be fulfilled. Returns false if the order is not paid.
     */
    async startRefund(tx: DbOrTx, orderId: number): Promise<boolean> {
      const updated = await tx
        .update(orders)
        .set({ refundRequestedAt: sql`coalesce(${orders.refundRequestedAt}, now())` })
        .where(and(eq(orders.id, orderId), eq(orders.status, 'paid')))
        .returning({ id: orders.id });
      return updated.length > 0;
    },

    /** paid → fulfilled (shipped), unless a refund was asked for (see `startRefund`). */
    async markFulfilled(tx: DbOrTx, orderId: number): Promise<boolean> {
      const updated = await tx
        .update(orders)
        .set({ status: 'fulfilled', fulfilledAt: sql`now()` })
        .where(and(eq(orders.id, orderId), eq(orders.status, 'paid'), isNull(orders.refundRequestedAt)))
        .returning({ id: orders.id });
      return updated.length > 0;
    },

    /** When an unpaid order's window ends, or undefined if it is no longer waiting for payment. */
    async dueAt(tx: DbOrTx, orderId: number): Promise<Date | undefined> {
      const result = await tx.execute<{ due_at: Date }>(sql`
        select created_at + ${window} as due_at from ${orders} where id = ${orderId} and status = 'pending_payment'`);
      const row = result.rows[0];
      return row ? new Date(row.due_at) : undefined;
    },

    /**
     * What an email about an order's payment needs: its buyer (a guest order's too: the address given at its checkout),
     * status and total; undefined if the order or its buyer is gone.
     */
    async buyerOf(tx: DbOrTx, orderId: number): Promise<{ email: string; name: string; status: OrderStatus; totalCents: number; currency: string } | undefined> {
      const rows = await tx
        .select({ email: customers.email, name: customers.name, status: orders.status, totalCents: orders.totalCents, currency: orders.currency })
        .from(orders)
        .innerJoin(customers, eq(customers.id, orders.customerId))
        .where(eq(orders.id, orderId));
      const row = rows[0];
      return row ? { ...row, totalCents: Number(row.totalCents) } : undefined;
    },

    /** Reservations waiting for payment right now (the `reservations held` gauge). */
    async countPending(tx: DbOrTx): Promise<number> {
      const result = await tx.execute<{ n: string }>(sql`select count(*) as n from ${orders} where status = 'pending_payment'`);
      return Number(result.rows[0]?.n ?? 0);
    },
  };
}

export type OrderLifecycleRepository = ReturnType<typeof createOrderLifecycleRepository>;

import type { OutboxJob } from '../../platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';

/** The `order-placed` payload a checkout writes to the outbox in its transaction. */
export interface OrderPlaced {
  orderId: number | string;
  email: string;
  name?: string;
  /** Whether the buyer checked out as a guest (no account): the confirmation links a guest's order by its access link. */
  guest?: boolean;
  items: { productId: number; name: string; quantity: number; unitPriceCents: number; sku?: string }[];
  totalCents: number;
  currency: string;
  placedAt: string;
}

/**
 * Extra delays (ms) for deferrable follow-ups, set by the cluster's degrade mode; 0 keeps a job's own
 * default (the confirmation email's 1 s). Nothing here touches the order itself: stock was reserved
 * and the order written in the checkout's transaction, so delaying these never changes correctness.
 */
export interface FollowUpDelays {
  emailMs: number;
  analyticsMs: number;
  inventoryMs: number;
}

const delayed = (ms: number | undefined) => (ms !== undefined && ms > 0 ? { opts: { delay: ms } } : {});

/**
 * What follows an order (pure): stock sync per line (priority 10), the confirmation email (delayed
 * 1 s) and the analytics event, as in the seed strategy. The checkout writes one `order-placed` row
 * to keep its transaction short; the order processor turns it into these.
 */
export function orderFollowUps(order: OrderPlaced, delays?: FollowUpDelays): OutboxJob[] {
  return [
    ...order.items.map((item) => ({
      queue: QUEUES.inventory,
      name: JOBS.updateStock,
      data: { productId: item.productId, quantity: item.quantity },
      ...delayed(delays?.inventoryMs),
    })),
    {
      queue: QUEUES.email,
      name: JOBS.sendOrderConfirmation,
      data: { orderId: order.orderId, email: order.email, name: order.name, guest: order.guest, items: order.items, totalCents: order.totalCents, currency: order.currency },
      ...delayed(delays?.emailMs),
    },
    {
      queue: QUEUES.notifications,
      name: JOBS.updateAnalytics,
      data: { eventType: 'order_created', orderId: order.orderId, amountCents: order.totalCents, currency: order.currency, occurredAt: order.placedAt },
      ...delayed(delays?.analyticsMs),
    },
  ];
}

/**
 * What follows an order that stopped being payable (cancelled, expired), written in that transaction: its payments still
 * open at the provider are canceled there (the payments module's `cancel-open-intents` job), so that none of them can
 * be confirmed any more. One job per order, whether or not it has such a payment: orders know nothing of payments.
 */
export function openIntentsCancel(orderIds: readonly number[]): OutboxJob[] {
  return orderIds.map((orderId) => ({ queue: QUEUES.order, name: JOBS.cancelOpenIntents, data: { orderId } }));
}

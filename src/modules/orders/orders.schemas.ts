import { Type, type Static } from 'typebox';
import { pageLimit } from '../../lib/page-limit.ts';
import { emailAddress } from '../../lib/email-address.ts';
import { MAX_ORDER_LINE_QUANTITY, MAX_ORDER_LINES } from './orders.limits.ts';

export { MAX_ORDER_LINE_QUANTITY, MAX_ORDER_LINES } from './orders.limits.ts';

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const OrderItem = Type.Object({
  productId: Type.Integer(),
  // Optional for the replays of responses recorded before lines carried it (kept for IDEMPOTENCY_RETENTION_S): a required
  // field missing from a stored body made the serializer fail the retry with a 500.
  name: Type.Optional(Type.String({ description: "The product's name when ordered (a later rename leaves it; its current name for a line placed before lines kept it); absent only from the replay of a response recorded before lines carried it" })),
  quantity: Type.Integer(),
  priceCents: Type.Integer({ description: 'Unit price when ordered' }),
});

const OrderStatusSchema = Type.Union(
  [
    Type.Literal('pending_payment'),
    Type.Literal('paid'),
    Type.Literal('fulfilled'),
    Type.Literal('expired'),
    Type.Literal('cancelled'),
    Type.Literal('refunded'),
  ],
  { description: 'pending_payment → paid → fulfilled; pending_payment → expired | cancelled; paid → refunded' },
);

const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const OrderPayment = Type.Object(
  {
    provider: Type.String({ description: '`test` or `stripe`' }),
    status: Type.String({ description: 'requires_payment | failed | authorized | captured | voided | refunded | refund_failed (a refund the provider could not pay out) | disputed | dispute_won | dispute_lost | cancelled (the order was cancelled or expired before it was paid: no payment is wanted, one that still arrives is given back) | hold_lapsed (the order is paid, but its hold was released at the provider before it was captured: the shop was not paid, the order cannot ship; a payment problem until resolved or the order refunded, then `voided`)' }),
    expiresAt: Type.String({ format: 'date-time', description: 'End of the payment window: unpaid, the order expires and its units go back on sale' }),
    clientSecret: Type.Optional(Type.String({ description: 'Stripe: confirm the PaymentIntent with Stripe.js' })),
  },
  { additionalProperties: false },
);

/** What every view of an order carries: the buyer's, the guest's and the operator's. */
const orderCore = {
  id: Type.Integer(),
  status: OrderStatusSchema,
  items: Type.Array(OrderItem),
  totalCents: Type.Integer(),
  currency: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  cancelledAt: Timestamp,
  paidAt: Timestamp,
  expiredAt: Timestamp,
};

export const Order = Type.Object(
  {
    ...orderCore,
    payment: OrderPayment,
    accessToken: Type.Optional(Type.String({ description: 'Guest orders only: the key of GET/POST /guest-orders/:token (keep it: it is the only way back to the order)' })),
    passesSpent: Type.Optional(
      Type.Array(Type.Integer(), {
        description:
          "POST /orders only: the sale events whose waiting-room pass (of those sent in Waiting-Room-Pass) this order spent. A client tells the pages of those sales' passes, and no other, that the pass is used (a product listed by several live queued sales spends the pass of one)",
      }),
    ),
  },
  { $id: 'Order' },
);
export type Order = Static<typeof Order>;


export const OrderLineInput = Type.Object({ productId: Id, quantity: Type.Integer({ minimum: 1, maximum: MAX_ORDER_LINE_QUANTITY }) }, { additionalProperties: false });

/** `items` to order them directly; without it the signed-in customer's cart is ordered. */
export const CreateOrderBody = Type.Object(
  {
    items: Type.Optional(Type.Array(OrderLineInput, { minItems: 1, maxItems: MAX_ORDER_LINES })),
    email: Type.Optional(emailAddress({ description: 'Guest checkout (not signed in): where the order is confirmed; caps count per email' })),
    expectedTotalCents: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description:
          "The order's total as the buyer was shown it (with `expectedCurrency`): checked in the order's own statement against the prices it is placed at, else 409 `PRICE_CHANGED` with the current prices, nothing ordered. Absent: the order is placed at the prices of the moment",
      }),
    ),
    expectedCurrency: Type.Optional(Type.String({ minLength: 3, maxLength: 3, pattern: '^[A-Z]{3}$', description: 'The currency of `expectedTotalCents` (sent with it)' })),
  },
  // One without the other is refused: a total alone would take 1,000 yen for 1,000 cents.
  { additionalProperties: false, dependencies: { expectedTotalCents: ['expectedCurrency'], expectedCurrency: ['expectedTotalCents'] } },
);
export const GuestOrderParams = Type.Object({ token: Type.String({ minLength: 3, maxLength: 120, pattern: '^[0-9]+\\.[A-Za-z0-9_-]+$' }) }, { additionalProperties: false });
export type CreateOrderBody = Static<typeof CreateOrderBody>;

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$', description: 'Required: a unique key per order attempt, e.g. a UUID' })),
});

export const ListOrdersQuery = Type.Object(
  { limit: pageLimit(), cursor: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);
export type ListOrdersQuery = Static<typeof ListOrdersQuery>;

export const AdminOrdersQuery = Type.Object(
  {
    status: Type.Optional(OrderStatusSchema),
    saleEventId: Type.Optional(Id),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Created at or after' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Created before' })),
    email: Type.Optional(
      emailAddress({ strictLocalPart: false, description: "The buyer's email, any case: an account's orders and a guest's with exactly that address" }),
    ),
    limit: pageLimit(),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type AdminOrdersQuery = Static<typeof AdminOrdersQuery>;

export const OrderPage = Type.Object({ items: Type.Array(Type.Ref('Order')), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** One order as an operator reads it (GET /admin/orders/:id): who bought it, every timestamp, the payment without its secret. */
export const AdminOrderDetail = Type.Object(
  {
    ...orderCore,
    fulfilledAt: Timestamp,
    refundedAt: Timestamp,
    refundRequestedAt: Timestamp,
    paymentExpiresAt: Type.String({ format: 'date-time', description: 'End of the payment window' }),
    buyer: Type.Object({ email: Type.String(), guest: Type.Boolean({ description: 'A guest checkout (no account)' }) }, { additionalProperties: false }),
    payment: Type.Union(
      [
        Type.Object(
          {
            provider: Type.String({ description: '`test` or `stripe`' }),
            status: Type.String({ description: 'requires_payment | failed | authorized | captured | voided | refunded | refund_failed (a refund the provider could not pay out) | disputed | dispute_won | dispute_lost | cancelled (the order was cancelled or expired before it was paid: no payment is wanted, one that still arrives is given back)' }),
            amountCents: Type.Integer(),
            currency: Type.String(),
            intentId: Type.String({ description: "The provider's id of the payment (`pi_…` for Stripe)" }),
            failureCode: Type.Union([Type.String(), Type.Null()], { description: 'Why the provider refused, e.g. `card_declined`' }),
            problemResolvedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
              description: 'When an admin marked its failed refund, lost dispute or lapsed hold settled (`POST /admin/orders/:id/payment-problem/resolve`)',
            }),
          },
          { additionalProperties: false },
        ),
        Type.Null(),
      ],
      { description: 'The payment that paid the order, else its latest attempt; null before any. Never the client secret.' },
    ),
  },
  { additionalProperties: false },
);
export type AdminOrderDetail = Static<typeof AdminOrderDetail>;

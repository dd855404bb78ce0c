import { Type, type Static } from 'typebox';

export const MAX_ORDER_LINES = 50;

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const OrderItem = Type.Object({ productId: Type.Integer(), quantity: Type.Integer(), priceCents: Type.Integer({ description: 'Unit price when ordered' }) });

export const Order = Type.Object(
  {
    id: Type.Integer(),
    status: Type.Union([Type.Literal('placed'), Type.Literal('cancelled')]),
    items: Type.Array(OrderItem),
    totalCents: Type.Integer(),
    currency: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    cancelledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'Order' },
);
export type Order = Static<typeof Order>;

export const OrderLineInput = Type.Object({ productId: Id, quantity: Type.Integer({ minimum: 1, maximum: 1000 }) }, { additionalProperties: false });

/** `items` to order them directly; without it the signed-in customer's cart is ordered. */
export const CreateOrderBody = Type.Object({ items: Type.Optional(Type.Array(OrderLineInput, { minItems: 1, maxItems: MAX_ORDER_LINES })) }, { additionalProperties: false });
export type CreateOrderBody = Static<typeof CreateOrderBody>;

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$', description: 'Required: a unique key per order attempt, e.g. a UUID' })),
});

export const ListOrdersQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), cursor: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);
export type ListOrdersQuery = Static<typeof ListOrdersQuery>;

export const OrderPage = Type.Object({ items: Type.Array(Type.Ref('Order')), nextCursor: Type.Union([Type.String(), Type.Null()]) });

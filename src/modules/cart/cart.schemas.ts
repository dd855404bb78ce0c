import { Type, type Static } from 'typebox';

export const MAX_CART_LINES = 100;
export const MAX_LINE_QUANTITY = 1000;

export const CartItem = Type.Object({
  productId: Type.Integer(),
  quantity: Type.Integer(),
  name: Type.String(),
  priceCents: Type.Integer(),
  currency: Type.String(),
  available: Type.Integer({ minimum: 0 }),
  /** False when the product was archived or removed since it was added; checkout refuses such a cart. */
  purchasable: Type.Boolean(),
});

export const Cart = Type.Object(
  {
    items: Type.Array(CartItem),
    /** Sum over purchasable lines, in the cart's currency. */
    totalCents: Type.Integer(),
    currency: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'Cart' },
);
export type Cart = Static<typeof Cart>;

export const CartItemParams = Type.Object({ productId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }, { additionalProperties: false });
export const CartItemBody = Type.Object({ quantity: Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY }) }, { additionalProperties: false });

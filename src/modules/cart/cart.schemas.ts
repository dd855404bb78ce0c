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
  /**
   * False when the product was archived or removed since it was added, or repriced into another currency than
   * the cart's (its first purchasable line's); checkout refuses such a cart. Not counted in the total.
   */
  purchasable: Type.Boolean(),
  /**
   * Why the line is not purchasable, for the storefront to say so: its product was `archived`, made `draft` or
   * `deleted` since it was added, or repriced into another currency than the cart's (`other_currency`); null when it is.
   */
  unavailableReason: Type.Union([Type.Literal('archived'), Type.Literal('draft'), Type.Literal('deleted'), Type.Literal('other_currency'), Type.Null()]),
});

export type CartItem = Static<typeof CartItem>;

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

/**
 * What joining a guest cart at sign-in or registration did. Lines that did not join stay in the guest
 * cart (its cookie is kept) and are tried again at the next sign-in.
 */
export const CartMerge = Type.Object(
  {
    merged: Type.Integer({ minimum: 0, description: 'Guest cart lines that joined the account cart (a product in both: quantities added)' }),
    left: Type.Array(
      Type.Object({
        productId: Type.Integer(),
        quantity: Type.Integer(),
        reason: Type.Union([Type.Literal('CART_FULL'), Type.Literal('MIXED_CURRENCIES'), Type.Literal('OUT_OF_STOCK')], {
          description: `CART_FULL: the account cart holds ${MAX_CART_LINES} lines; MIXED_CURRENCIES: priced in another currency than the account cart; OUT_OF_STOCK: sold out, and new to the account cart`,
        }),
      }),
      { description: 'Guest cart lines that did not join: they stay in the guest cart' },
    ),
    capped: Type.Array(
      Type.Object({
        productId: Type.Integer(),
        quantity: Type.Integer({ description: 'The line\'s quantity now: its maximum, or the account\'s own quantity where that was above it already (kept as it is)' }),
        dropped: Type.Integer({ minimum: 1, description: 'The guest\'s units not kept' }),
      }),
      { description: `Lines that joined at less than the two carts' sum: no line holds more than ${MAX_LINE_QUANTITY} units, the product's per-customer cap or the units in stock` },
    ),
  },
  { $id: 'CartMerge', description: 'Present when the visitor came with a guest cart that held lines' },
);
export type CartMerge = Static<typeof CartMerge>;

export const CartItemParams = Type.Object({ productId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }, { additionalProperties: false });
export const CartItemBody = Type.Object({ quantity: Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY }) }, { additionalProperties: false });
export const AddCartItemBody = Type.Object(
  {
    productId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    quantity: Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY, description: 'Units added to what the line holds' }),
  },
  { additionalProperties: false },
);

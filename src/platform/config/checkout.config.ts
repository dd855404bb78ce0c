import { int } from './env-schema.ts';

const DAY_S = 86_400;

/** Carts, orders, idempotency and the stock design. */
export const checkoutEnv = {
  CART_TTL_S: int({ default: 7 * DAY_S, min: 60 }),
  CART_ABANDONED_AFTER_S: int({ default: 3600, min: 60 }),
  IDEMPOTENCY_RETENTION_S: int({ default: DAY_S, min: 60 }),
  ORDER_CANCEL_WINDOW_S: int({ default: 1800, min: 0 }),
  GUEST_ORDER_LINK_TTL_S: int({ default: 90 * DAY_S, min: 3600 }),
  STOCK_SHARDS: int({ default: 8, min: 1, max: 256 }),
  CHECKOUT_BATCH_MAX: int({ default: 32, min: 1, max: 60 }),
  STOCK_GATE_TTL_S: int({ default: 300, min: 1 }),
  STOCK_VIEW_REFRESH_MS: int({ default: 500, min: 0, max: 60_000 }),
};

type CheckoutEnv = { [K in keyof typeof checkoutEnv]: ReturnType<(typeof checkoutEnv)[K]['parse']> };

export interface CheckoutConfig {
  cart: { ttlS: number; abandonedAfterS: number };
  /** How long a completed `Idempotency-Key` is remembered (Stripe: 24 h). */
  idempotencyRetentionS: number;
  /** How long after placing it a customer may cancel an order (admins always may). */
  cancelWindowS: number;
  /** How long after placing it a guest order is served by its access token (GET /guest-orders/:token). */
  guestOrderLinkTtlS: number;
  /** Rows a product's stock is split into when it is set; 1 is the single-row design. */
  stockShards: number;
  /** Most concurrent orders placed in one statement and commit; 1 places each on its own. */
  batchMax: number;
  stockGateTtlS: number;
  /** How stale the stock a product reply shows may be. */
  stockViewRefreshMs: number;
}

export function checkoutConfigFrom(e: CheckoutEnv): CheckoutConfig {
  return {
    cart: { ttlS: e.CART_TTL_S, abandonedAfterS: e.CART_ABANDONED_AFTER_S },
    idempotencyRetentionS: e.IDEMPOTENCY_RETENTION_S,
    cancelWindowS: e.ORDER_CANCEL_WINDOW_S,
    guestOrderLinkTtlS: e.GUEST_ORDER_LINK_TTL_S,
    stockShards: e.STOCK_SHARDS,
    batchMax: e.CHECKOUT_BATCH_MAX,
    stockGateTtlS: e.STOCK_GATE_TTL_S,
    stockViewRefreshMs: e.STOCK_VIEW_REFRESH_MS,
  };
}

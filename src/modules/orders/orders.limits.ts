// Plain constants of orders, apart from their schemas (orders.schemas.ts loads typebox, which the worker role does not need).

/** Most lines in one order. */
export const MAX_ORDER_LINES = 50;

/** Most units of one product in one order: per line of `items`, and per product once repeated lines are merged. */
export const MAX_ORDER_LINE_QUANTITY = 1000;

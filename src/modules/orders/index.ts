export { createOrderBatcher, type OrderPlacer } from './order-batcher.ts';
export { orderFollowUps, type FollowUpDelays, type OrderPlaced } from './orders.follow-ups.ts';
export { checkoutMetricsFor, type CheckoutMetrics } from './orders.metrics.ts';
export { orderProcessors, type OrderPlacedJob } from './orders.processors.ts';
export { createOrdersRepository } from './orders.repository.ts';
export { orderAdminRoutes, orderRoutes, type CheckoutAdmission } from './orders.routes.ts';
export { Order } from './orders.schemas.ts';
export { createOrderService, normalizeLines, type OrderService, type StockHints } from './orders.service.ts';
export * from './orders.tables.ts';

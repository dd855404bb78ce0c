// Every table, for drizzle-kit and for typed queries. Modules own their tables; this file only gathers them.
export * from '../../modules/catalog/catalog.tables.ts';
export * from '../../modules/sale-events/sale-events.tables.ts';
export * from '../outbox/outbox.tables.ts';
export * from '../queue/queue.tables.ts';
export * from '../../modules/notifications/notifications.tables.ts';
export * from '../../modules/analytics/analytics.tables.ts';
export * from '../../modules/customers/customers.tables.ts';
export * from '../../modules/orders/orders.tables.ts';

// Every table, for drizzle-kit and for typed queries. Modules own their tables; this file only gathers them.
export * from '../../modules/catalog/catalog.tables.ts';
export * from '../../modules/sale-events/sale-events.tables.ts';

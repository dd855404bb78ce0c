export { saleEventAdminRoutes, saleEventSchemas } from './sale-events.routes.ts';
export { createSaleEventService, type SaleEventService } from './sale-events.service.ts';
export * from './sale-events.tables.ts';
export { createLiveSaleCheck, type LiveSaleCheck } from './sale-events.live.ts';
export { MAX_ADMISSION_PER_SECOND, MIN_ADMISSION_PER_SECOND, type SaleEvent } from './sale-events.schemas.ts';

export { createSaleEventService, type SaleEventService } from './sale-events.service.ts';
export * from './sale-events.tables.ts';
export { MAX_ADMISSION_PER_SECOND, MAX_TRAFFIC_MULTIPLIER, MIN_ADMISSION_PER_SECOND, MIN_TRAFFIC_MULTIPLIER } from './sale-events.limits.ts';
export type { SaleEvent } from './sale-events.schemas.ts';
export { createLiveSaleCheck, type LiveSaleCheck } from './sale-events.live.ts';

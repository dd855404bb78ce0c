export { createAnalyticsRepository, type AnalyticsRepository } from './analytics.repository.ts';
export { ANALYTICS_METRICS, createAnalyticsService, incrementsFor, isAnalyticsEvent, type AnalyticsEvent, type AnalyticsService } from './analytics.service.ts';
export * from './analytics.tables.ts';
export { requestCounter, routeGroupOf } from './request-counter.ts';

export { createCatalogRepository, type CatalogRepository } from './catalog.repository.ts';
export { CATALOG_TAGS, createCatalogService, type CatalogService, type CatalogTtls } from './catalog.service.ts';
export { seedCatalog, type SeedOptions } from './catalog.seed.ts';
export * from './catalog.tables.ts';
export type { Product } from './catalog.schemas.ts';

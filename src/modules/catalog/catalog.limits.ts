// Plain constants of the catalog, apart from its schemas (catalog.schemas.ts loads typebox, which the worker role does not need).

/** The most units a product's stock may hold. */
export const MAX_STOCK = 1_000_000_000;

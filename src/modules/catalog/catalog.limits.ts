// Plain constants of the catalog, apart from its schemas (catalog.schemas.ts loads typebox, which the worker role does not need).

/** The most units a product's stock may hold. */
export const MAX_STOCK = 1_000_000_000;

/** The most characters (code points) of a product's name, counted in the NFC form it is stored in. */
export const PRODUCT_NAME_MAX = 200;

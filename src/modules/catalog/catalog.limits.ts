// Plain constants of the catalog, apart from its schemas (catalog.schemas.ts loads typebox, which the worker role does not need).

/** The most units a product's stock may hold. */
export const MAX_STOCK = 1_000_000_000;

/** The most characters (code points) of a product's name, counted in the NFC form it is stored in. */
export const PRODUCT_NAME_MAX = 200;

/**
 * The most code points a product's name may be sent in: the schema counts the name as sent, `PRODUCT_NAME_MAX` holds
 * for its NFC form (checked by the service), and a name pasted decomposed (NFD: "e" + U+0301, from macOS or a PIM
 * export) is up to several times longer as sent than in NFC. As the password's input limit, 4× the limit.
 */
export const PRODUCT_NAME_INPUT_MAX = 4 * PRODUCT_NAME_MAX;

-- Product names are stored in Unicode NFC from this release on (the catalog service normalizes them on create and
-- update, and the name search its query), so that a name pasted decomposed (NFD) and a query typed composed find
-- each other. Names stored before are normalized here; only those not already NFC are rewritten (few, usually none).
-- The name's trigram index (products_name_trgm_idx) indexes the rewritten names as any update does.
UPDATE "products" SET "name" = normalize("name", NFC) WHERE "name" IS NOT NFC NORMALIZED;

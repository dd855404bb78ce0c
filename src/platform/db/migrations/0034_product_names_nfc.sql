-- Product names are stored in Unicode NFC from this release on (the catalog service normalizes them on create and
-- update, and the name search its query), so that a name pasted decomposed (NFD) and a query typed composed find
-- each other. Names stored before are normalized here; only those not already NFC are rewritten (few, usually none).
-- NFC is not always shorter (Devanagari U+0958 to U+095F and the other composition exclusions decompose, one
-- character becoming two): a name whose NFC form would pass the 200 characters a name may have is left as it is
-- (the name search finds it only by a query in its stored form; an update of its name stores it in NFC within the limit).
-- The name's trigram index (products_name_trgm_idx) indexes the rewritten names as any update does.
UPDATE "products" SET "name" = normalize("name", NFC) WHERE "name" IS NOT NFC NORMALIZED AND char_length(normalize("name", NFC)) <= 200;

-- SKUs become unique whatever their case. Products that already share a SKU in another case cannot be
-- merged or renamed here (which one is right is the shop's call, and a SKU is what other systems match on):
-- the migration stops, naming them, and nothing of this run is applied. Products are locked against writes
-- from the check to the end of the index build (SHARE: checkout and shoppers still read them).
LOCK TABLE "products" IN SHARE MODE;--> statement-breakpoint
DO $$
DECLARE
  v_groups integer;
  v_listed text;
BEGIN
  SELECT count(*), string_agg(format('%s (products %s)', d.skus, d.ids), '; ' ORDER BY d.first_id)
  INTO v_groups, v_listed
  FROM (
    SELECT string_agg(sku, ' / ' ORDER BY id) AS skus, string_agg(id::text, ', ' ORDER BY id) AS ids, min(id) AS first_id
    FROM products
    GROUP BY lower(sku)
    HAVING count(*) > 1
  ) d;
  IF v_groups > 0 THEN
    RAISE EXCEPTION USING MESSAGE = format(
        'SKUs are now unique whatever their case, and %s group(s) of products share a SKU that way: %s. '
        'Give each product its own SKU (e.g. UPDATE products SET sku = ''ABC-1-B'' WHERE id = 9), then run salescale migrate again; no migration of this run was applied.',
        v_groups, left(v_listed, 2000));
  END IF;
END
$$;--> statement-breakpoint
CREATE UNIQUE INDEX "products_sku_lower_idx" ON "products" USING btree (lower("sku"));

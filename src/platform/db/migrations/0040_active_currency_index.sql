-- The public listing filters by currency (GET /products?currency=), and a price range without one checks which
-- currencies active products use: both read this index instead of every product. Built without CONCURRENTLY (the
-- migration runs in a transaction), under a SHARE lock: writes to products wait for the build, reads and checkouts do not.
CREATE INDEX "products_active_currency_id_idx" ON "products" USING btree ("currency","id") WHERE "products"."status" = 'active';
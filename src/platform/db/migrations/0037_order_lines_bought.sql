-- An order line records what was bought: its product's name and SKU when the order was placed (place_order writes
-- them, orders.sql). Both are nullable, without a default and without a back-fill (expand/contract,
-- docs/deploying.md): adding them changes the catalog only, so the lock is brief and checkouts do not wait on a pass
-- over order_items, and the previous release's place_order, which still runs during a rolling update and inserts
-- lines without them, keeps working. A line without them (placed before this, or by the previous release) reads
-- its product's current name and SKU, as every line did before: each read shows COALESCE(line's, product's).
ALTER TABLE "order_items" ADD COLUMN "product_name" text;--> statement-breakpoint
ALTER TABLE "order_items" ADD COLUMN "product_sku" text;
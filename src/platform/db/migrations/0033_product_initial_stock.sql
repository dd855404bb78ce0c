CREATE TABLE "product_initial_stock" (
	"product_id" bigint PRIMARY KEY NOT NULL,
	"available" integer NOT NULL,
	CONSTRAINT "product_initial_stock_available_nonnegative" CHECK ("product_initial_stock"."available" >= 0)
);
--> statement-breakpoint
ALTER TABLE "product_initial_stock" ADD CONSTRAINT "product_initial_stock_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;
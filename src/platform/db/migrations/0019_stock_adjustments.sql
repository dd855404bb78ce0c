CREATE TABLE "stock_adjustments" (
	"product_id" bigint NOT NULL,
	"idempotency_key" text NOT NULL,
	"delta" integer NOT NULL,
	"available_before" integer NOT NULL,
	"available_after" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stock_adjustments_product_id_idempotency_key_pk" PRIMARY KEY("product_id","idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "stock_adjustments" ADD CONSTRAINT "stock_adjustments_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;
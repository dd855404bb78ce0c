CREATE TYPE "public"."product_status" AS ENUM('active', 'draft', 'archived');--> statement-breakpoint
CREATE TABLE "categories" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "categories_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"parent_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "categories_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "product_stock" (
	"product_id" bigint PRIMARY KEY NOT NULL,
	"available" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "product_stock_available_nonnegative" CHECK ("product_stock"."available" >= 0)
);
--> statement-breakpoint
CREATE TABLE "products" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "products_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"sku" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"price_cents" integer NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"category_id" bigint,
	"status" "product_status" DEFAULT 'active' NOT NULL,
	"popularity" integer DEFAULT 0 NOT NULL,
	"max_per_customer" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "products_sku_unique" UNIQUE("sku"),
	CONSTRAINT "products_price_nonnegative" CHECK ("products"."price_cents" >= 0),
	CONSTRAINT "products_currency_iso" CHECK ("products"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "products_max_per_customer_positive" CHECK ("products"."max_per_customer" IS NULL OR "products"."max_per_customer" > 0)
);
--> statement-breakpoint
CREATE TABLE "sale_event_products" (
	"sale_event_id" bigint NOT NULL,
	"product_id" bigint NOT NULL,
	CONSTRAINT "sale_event_products_sale_event_id_product_id_pk" PRIMARY KEY("sale_event_id","product_id")
);
--> statement-breakpoint
CREATE TABLE "sale_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "sale_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"traffic_multiplier" double precision DEFAULT 1 NOT NULL,
	"max_per_customer" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sale_events_window" CHECK ("sale_events"."ends_at" > "sale_events"."starts_at"),
	CONSTRAINT "sale_events_multiplier_positive" CHECK ("sale_events"."traffic_multiplier" > 0),
	CONSTRAINT "sale_events_max_per_customer_positive" CHECK ("sale_events"."max_per_customer" IS NULL OR "sale_events"."max_per_customer" > 0)
);
--> statement-breakpoint
ALTER TABLE "categories" ADD CONSTRAINT "categories_parent_id_categories_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."categories"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_stock" ADD CONSTRAINT "product_stock_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_category_id_categories_id_fk" FOREIGN KEY ("category_id") REFERENCES "public"."categories"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_event_products" ADD CONSTRAINT "sale_event_products_sale_event_id_sale_events_id_fk" FOREIGN KEY ("sale_event_id") REFERENCES "public"."sale_events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_event_products" ADD CONSTRAINT "sale_event_products_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "categories_parent_id_idx" ON "categories" USING btree ("parent_id");--> statement-breakpoint
CREATE INDEX "idx_product_price_category" ON "products" USING btree ("price_cents","category_id") WHERE "products"."status" = 'active';--> statement-breakpoint
CREATE INDEX "products_active_category_id_idx" ON "products" USING btree ("category_id","id") WHERE "products"."status" = 'active';--> statement-breakpoint
CREATE INDEX "products_active_popularity_idx" ON "products" USING btree ("popularity" DESC NULLS LAST,"id") WHERE "products"."status" = 'active';--> statement-breakpoint
CREATE INDEX "products_name_trgm_idx" ON "products" USING gin ("name" gin_trgm_ops) WHERE "products"."status" = 'active';--> statement-breakpoint
CREATE INDEX "sale_event_products_product_idx" ON "sale_event_products" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX "sale_events_window_idx" ON "sale_events" USING btree ("starts_at","ends_at");
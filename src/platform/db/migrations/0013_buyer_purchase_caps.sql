CREATE TABLE "buyer_purchases" (
	"buyer_email" text NOT NULL,
	"product_id" bigint NOT NULL,
	"quantity" integer NOT NULL,
	CONSTRAINT "buyer_purchases_buyer_email_product_id_pk" PRIMARY KEY("buyer_email","product_id"),
	CONSTRAINT "buyer_purchases_quantity_nonnegative" CHECK ("buyer_purchases"."quantity" >= 0),
	CONSTRAINT "buyer_purchases_email_lower" CHECK ("buyer_purchases"."buyer_email" = lower("buyer_purchases"."buyer_email"))
);
--> statement-breakpoint
CREATE TABLE "sale_event_buyer_purchases" (
	"sale_event_id" bigint NOT NULL,
	"buyer_email" text NOT NULL,
	"product_id" bigint NOT NULL,
	"quantity" integer NOT NULL,
	CONSTRAINT "sale_event_buyer_purchases_sale_event_id_buyer_email_product_id_pk" PRIMARY KEY("sale_event_id","buyer_email","product_id"),
	CONSTRAINT "sale_event_buyer_purchases_quantity_nonnegative" CHECK ("sale_event_buyer_purchases"."quantity" >= 0),
	CONSTRAINT "sale_event_buyer_purchases_email_lower" CHECK ("sale_event_buyer_purchases"."buyer_email" = lower("sale_event_buyer_purchases"."buyer_email"))
);
--> statement-breakpoint
ALTER TABLE "buyer_purchases" ADD CONSTRAINT "buyer_purchases_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_event_buyer_purchases" ADD CONSTRAINT "sale_event_buyer_purchases_sale_event_id_sale_events_id_fk" FOREIGN KEY ("sale_event_id") REFERENCES "public"."sale_events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_event_buyer_purchases" ADD CONSTRAINT "sale_event_buyer_purchases_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Purchase caps count per buyer (the email, lower-cased) instead of per customers row: an account and the
-- guest record of its email (two rows, two lifetime caps until now) become one buyer holding what both held.
-- The old counts stop moving while they are copied (checkouts of the previous release wait for this commit).
LOCK TABLE "customer_purchases", "sale_event_purchases" IN SHARE MODE;--> statement-breakpoint
INSERT INTO "buyer_purchases" ("buyer_email", "product_id", "quantity")
SELECT lower(c.email), p.product_id, sum(p.quantity)::integer
FROM "customer_purchases" p
JOIN "customers" c ON c.id = p.customer_id
GROUP BY 1, 2
HAVING sum(p.quantity) > 0;--> statement-breakpoint
INSERT INTO "sale_event_buyer_purchases" ("sale_event_id", "buyer_email", "product_id", "quantity")
SELECT s.sale_event_id, lower(c.email), s.product_id, sum(s.quantity)::integer
FROM "sale_event_purchases" s
JOIN "customers" c ON c.id = s.customer_id
GROUP BY 1, 2, 3
HAVING sum(s.quantity) > 0;

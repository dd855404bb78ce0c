CREATE TABLE "sale_event_purchases" (
	"sale_event_id" bigint NOT NULL,
	"customer_id" bigint NOT NULL,
	"product_id" bigint NOT NULL,
	"quantity" integer NOT NULL,
	CONSTRAINT "sale_event_purchases_sale_event_id_customer_id_product_id_pk" PRIMARY KEY("sale_event_id","customer_id","product_id"),
	CONSTRAINT "sale_event_purchases_quantity_nonnegative" CHECK ("sale_event_purchases"."quantity" >= 0)
);
--> statement-breakpoint
ALTER TABLE "order_items" ADD COLUMN "sale_event_ids" bigint[] DEFAULT '{}'::bigint[] NOT NULL;--> statement-breakpoint
ALTER TABLE "sale_event_purchases" ADD CONSTRAINT "sale_event_purchases_sale_event_id_sale_events_id_fk" FOREIGN KEY ("sale_event_id") REFERENCES "public"."sale_events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_event_purchases" ADD CONSTRAINT "sale_event_purchases_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_event_purchases" ADD CONSTRAINT "sale_event_purchases_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Orders placed during a sale event before per-sale counting: count what they still hold, so a sale that
-- is live while this migration runs keeps its cap (until now its cap was checked against lifetime counts).
UPDATE "order_items" i SET "sale_event_ids" = ev.ids
FROM (
  SELECT i2.order_id, i2.product_id, array_agg(e.id ORDER BY e.id) AS ids
  FROM "order_items" i2
  JOIN "orders" o ON o.id = i2.order_id
  JOIN "sale_event_products" sp ON sp.product_id = i2.product_id
  JOIN "sale_events" e ON e.id = sp.sale_event_id AND o.created_at >= e.starts_at AND o.created_at < e.ends_at
  WHERE o.status IN ('pending_payment', 'paid', 'fulfilled')
  GROUP BY i2.order_id, i2.product_id
) ev
WHERE i.order_id = ev.order_id AND i.product_id = ev.product_id;--> statement-breakpoint
INSERT INTO "sale_event_purchases" ("sale_event_id", "customer_id", "product_id", "quantity")
SELECT e.id, o.customer_id, i.product_id, sum(i.quantity)::integer
FROM "order_items" i
JOIN "orders" o ON o.id = i.order_id
CROSS JOIN LATERAL unnest(i.sale_event_ids) AS e(id)
GROUP BY e.id, o.customer_id, i.product_id;

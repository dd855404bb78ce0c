-- Purchase caps count per buyer without a +tag (buyer_of in modules/orders/orders.sql, applied after this
-- migration): the counts held under tagged emails ("ann+2@example.com") join their mailbox's
-- ("ann@example.com"), so a buyer already past a cap that way stays refused until orders are released. The
-- counts stop moving while they are moved (checkouts wait for this commit).
LOCK TABLE "buyer_purchases", "sale_event_buyer_purchases" IN SHARE ROW EXCLUSIVE MODE;--> statement-breakpoint
WITH "moved" AS (
  DELETE FROM "buyer_purchases"
  WHERE "buyer_email" <> regexp_replace("buyer_email", '^([^+@]+)\+[^@]*@', '\1@')
  RETURNING "buyer_email", "product_id", "quantity"
)
INSERT INTO "buyer_purchases" AS b ("buyer_email", "product_id", "quantity")
SELECT regexp_replace("buyer_email", '^([^+@]+)\+[^@]*@', '\1@'), "product_id", sum("quantity")::integer
FROM "moved"
GROUP BY 1, 2
ON CONFLICT ("buyer_email", "product_id") DO UPDATE SET "quantity" = b."quantity" + excluded."quantity";--> statement-breakpoint
WITH "moved" AS (
  DELETE FROM "sale_event_buyer_purchases"
  WHERE "buyer_email" <> regexp_replace("buyer_email", '^([^+@]+)\+[^@]*@', '\1@')
  RETURNING "sale_event_id", "buyer_email", "product_id", "quantity"
)
INSERT INTO "sale_event_buyer_purchases" AS s ("sale_event_id", "buyer_email", "product_id", "quantity")
SELECT "sale_event_id", regexp_replace("buyer_email", '^([^+@]+)\+[^@]*@', '\1@'), "product_id", sum("quantity")::integer
FROM "moved"
GROUP BY 1, 2, 3
ON CONFLICT ("sale_event_id", "buyer_email", "product_id") DO UPDATE SET "quantity" = s."quantity" + excluded."quantity";

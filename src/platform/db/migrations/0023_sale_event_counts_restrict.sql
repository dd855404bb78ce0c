ALTER TABLE "sale_event_buyer_purchases" DROP CONSTRAINT "sale_event_buyer_purchases_sale_event_id_sale_events_id_fk";
--> statement-breakpoint
ALTER TABLE "sale_event_buyer_purchases" ADD CONSTRAINT "sale_event_buyer_purchases_sale_event_id_sale_events_id_fk" FOREIGN KEY ("sale_event_id") REFERENCES "public"."sale_events"("id") ON DELETE restrict ON UPDATE no action;
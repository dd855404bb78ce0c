ALTER TABLE "payments" ADD COLUMN "give_back_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "give_back_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "orders_refund_requested_idx" ON "orders" USING btree ("refund_requested_at") WHERE "orders"."refund_requested_at" is not null and "orders"."status" = 'paid';--> statement-breakpoint
CREATE INDEX "payments_late_held_idx" ON "payments" USING btree ("updated_at") WHERE "payments"."late" and "payments"."status" in ('authorized', 'captured');--> statement-breakpoint
CREATE INDEX "payments_status_idx" ON "payments" USING btree ("status");
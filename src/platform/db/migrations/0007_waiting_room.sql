ALTER TABLE "sale_events" ADD COLUMN "waiting_room_enabled" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "sale_events" ADD COLUMN "admission_per_second" double precision;--> statement-breakpoint
ALTER TABLE "sale_events" ADD CONSTRAINT "sale_events_admission_rate_positive" CHECK ("sale_events"."admission_per_second" IS NULL OR "sale_events"."admission_per_second" > 0);
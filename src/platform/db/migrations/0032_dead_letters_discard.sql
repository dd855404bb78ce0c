ALTER TABLE "dead_letters" ADD COLUMN "job_created_at" bigint;--> statement-breakpoint
ALTER TABLE "dead_letters" ADD COLUMN "discarded_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "dead_letters" ADD COLUMN "discard_reason" text;--> statement-breakpoint
ALTER TABLE "dead_letters" ADD COLUMN "discarded_by" text;
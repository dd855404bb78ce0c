DROP INDEX "customers_email_lower_idx";--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "guest" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "customers_guest_email_lower_idx" ON "customers" USING btree (lower("email")) WHERE "customers"."guest";--> statement-breakpoint
CREATE UNIQUE INDEX "customers_email_lower_idx" ON "customers" USING btree (lower("email")) WHERE not "customers"."guest";
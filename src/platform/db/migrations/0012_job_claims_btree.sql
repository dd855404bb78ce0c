DROP INDEX "job_claims_claimed_at_idx";--> statement-breakpoint
CREATE INDEX "job_claims_claimed_at_btree_idx" ON "job_claims" USING btree ("claimed_at");
-- A sale event's traffic multiplier is 0.01 to 1000, as the API takes it; the check said only "above 0", so a row
-- written by SQL or another tool could hold 1e-320, 5000 or NaN (which PostgreSQL orders above every number). The
-- rows stored before are clamped into the range first (below 0.01: 0.01; above 1000, infinity included: 1000; NaN:
-- 1, the column's default), so that adding the check cannot fail; rows within it are not rewritten.
ALTER TABLE "sale_events" DROP CONSTRAINT "sale_events_multiplier_positive";--> statement-breakpoint
UPDATE "sale_events" SET "traffic_multiplier" = CASE WHEN "traffic_multiplier" = 'NaN' THEN 1 ELSE LEAST(GREATEST("traffic_multiplier", 0.01), 1000) END WHERE NOT ("traffic_multiplier" BETWEEN 0.01 AND 1000);--> statement-breakpoint
ALTER TABLE "sale_events" ADD CONSTRAINT "sale_events_multiplier_range" CHECK ("sale_events"."traffic_multiplier" BETWEEN 0.01 AND 1000);

CREATE TABLE "admin_actions" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "admin_actions_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text,
	"method" text NOT NULL,
	"route" text NOT NULL,
	"target" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"product_id" bigint,
	"status" integer NOT NULL,
	"request_id" text NOT NULL,
	"trace_id" text,
	"client" text NOT NULL,
	"change" jsonb
);
--> statement-breakpoint
CREATE INDEX "admin_actions_created_at_idx" ON "admin_actions" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "admin_actions_product_id_id_idx" ON "admin_actions" USING btree ("product_id","id");
CREATE TABLE "waiting_room_spent_passes" (
	"sale_event_id" bigint NOT NULL,
	"ticket_id" text NOT NULL,
	"order_ref" text NOT NULL,
	"spent_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "waiting_room_spent_passes_sale_event_id_ticket_id_pk" PRIMARY KEY("sale_event_id","ticket_id")
);
--> statement-breakpoint
ALTER TABLE "waiting_room_spent_passes" ADD CONSTRAINT "waiting_room_spent_passes_sale_event_id_sale_events_id_fk" FOREIGN KEY ("sale_event_id") REFERENCES "public"."sale_events"("id") ON DELETE cascade ON UPDATE no action;
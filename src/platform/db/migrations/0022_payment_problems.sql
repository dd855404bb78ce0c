ALTER TYPE "public"."payment_status" ADD VALUE 'refund_failed';--> statement-breakpoint
ALTER TYPE "public"."payment_status" ADD VALUE 'disputed';--> statement-breakpoint
ALTER TYPE "public"."payment_status" ADD VALUE 'dispute_won';--> statement-breakpoint
ALTER TYPE "public"."payment_status" ADD VALUE 'dispute_lost';
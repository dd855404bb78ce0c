ALTER TABLE "outbox" ADD COLUMN "trace_context" text DEFAULT nullif(current_setting('salescale.trace_context', true), '');
--> statement-breakpoint
-- Tracing: the trace an order was placed in rides along with its outbox row (trace_context, filled by the
-- column default from the transaction's salescale.trace_context setting), so that the worker's job
-- continues the request's trace. A single order sets it in the statement's own arguments
-- (salescale_with_trace_context runs before place_order does); a batch sets it before each order.
CREATE OR REPLACE FUNCTION salescale_with_trace_context(p_value text, p_trace_context text)
RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT p_value FROM (SELECT set_config('salescale.trace_context', coalesce(p_trace_context, ''), true)) AS s
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION place_orders(p_orders jsonb, p_outbox_queue text, p_outbox_job text)
RETURNS TABLE (
  idx integer,
  placed_order_id bigint,
  placed_at timestamptz,
  order_total_cents bigint,
  order_currency text,
  order_lines jsonb,
  error_state text,
  error_message text,
  error_detail text,
  error_constraint text
)
LANGUAGE plpgsql AS $$
DECLARE
  v_order jsonb;
  v_idx integer := 0;
  v_placed record;
  v_state text;
  v_message text;
  v_detail text;
  v_constraint text;
BEGIN
  PERFORM set_config('lock_timeout', '50ms', true);
  FOR v_order IN SELECT value FROM jsonb_array_elements(p_orders) LOOP
    PERFORM set_config('salescale.trace_context', coalesce(v_order->>'traceContext', ''), true);
    BEGIN
      SELECT * INTO v_placed FROM place_order(
        (v_order->>'customerId')::bigint, v_order->'items', v_order->>'idempotencyKey', v_order->>'reservation', p_outbox_queue, p_outbox_job);
      RETURN QUERY SELECT v_idx, v_placed.placed_order_id, v_placed.placed_at, v_placed.order_total_cents, v_placed.order_currency, v_placed.order_lines,
        NULL::text, NULL::text, NULL::text, NULL::text;
    EXCEPTION WHEN raise_exception OR unique_violation OR lock_not_available THEN
      GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL, v_constraint = CONSTRAINT_NAME;
      RETURN QUERY SELECT v_idx, NULL::bigint, NULL::timestamptz, NULL::bigint, NULL::text, NULL::jsonb, v_state, v_message, v_detail, v_constraint;
    END;
    v_idx := v_idx + 1;
  END LOOP;
END
$$;

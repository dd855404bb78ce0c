-- Placing orders. A definition file, not a migration: `salescale migrate` applies it (after the table
-- migrations and inventory.sql, whose take_stock it calls) on every run, so this file is the one current
-- text of these functions (migrations 0004 and 0005 hold their first versions).
--
-- buyer_of: who an email is for purchase caps (buyer_purchases, sale_event_buyer_purchases): lower-cased, and
-- without an RFC 5233 subaddress tag ("ann+sale2@example.com" is ann@example.com's mailbox at Gmail, Outlook,
-- iCloud, Fastmail, Proton and most others), so one mailbox cannot buy a cap per tag. Dots are kept: that
-- Gmail ignores them is Gmail's rule, and elsewhere "a.b" and "ab" are two people. Migration 0017 moved the
-- counts held under tagged emails to this key (the same expression: keep them in step).
CREATE OR REPLACE FUNCTION buyer_of(p_email text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_replace(lower(p_email), '^([^+@]+)\+[^@]*@', '\1@')
$$;

-- place_order: one order as one statement (one round trip, one commit). Row locks on stock are held
-- only while the server runs this function and commits, never across client round trips, which is
-- what keeps a hot product's lock queue short. Every refusal raises (the whole statement rolls back:
-- no order without stock taken, no stock taken without an order) with the error code as the message
-- and its data as JSON in DETAIL.
-- unpaid_guest_units: units of a product (in a sale event, or for life when p_sale_event_id is NULL) that unpaid
-- guest checkouts made with the buyer's own mailbox (the guest records whose buyer_of(email) is the buyer key,
-- tagged or not, found by customers_guest_buyer_idx) hold; 0 when the ordering customer is a guest. An account's checkout is not refused for
-- these: a guest checkout proves nothing about who owns the email, so counting them would let anyone who knows a
-- buyer's email hold that buyer's cap with orders never paid. Hoarding stays capped at payment: a guest order is
-- paid only while its buyer's counts stay within the caps (markPaid, order-lifecycle.repository.ts). Read after
-- place_order's upsert locked the buyer's count row, which markPaid locks too, so a guest order paid meanwhile is
-- seen as paid.
CREATE OR REPLACE FUNCTION unpaid_guest_units(p_customer_id bigint, p_buyer text, p_product_id bigint, p_sale_event_id bigint)
RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(i.quantity), 0)::integer
  FROM customers g
  JOIN orders o ON o.customer_id = g.id AND o.status = 'pending_payment'
  JOIN order_items i ON i.order_id = o.id AND i.product_id = p_product_id
  WHERE buyer_of(g.email) = p_buyer AND g.guest
    AND NOT (SELECT c.guest FROM customers c WHERE c.id = p_customer_id)
    AND (p_sale_event_id IS NULL OR p_sale_event_id = ANY (i.sale_event_ids))
$$;

-- p_expected_total_cents, p_expected_currency: what the buyer was shown (both NULL: not checked). The order's total and
-- currency, summed from the prices this function reads with each product's status (no other read), must be these, or
-- the order is refused PRICE_CHANGED with its current prices, after the loop, so the whole statement (stock, caps, a
-- guest's record) rolls back: a price changed between the buyer's last look and this statement is never charged unseen.
CREATE OR REPLACE FUNCTION place_order(
  p_customer_id bigint,
  p_items jsonb,
  p_idempotency_key text,
  p_reservation text,
  p_outbox_queue text,
  p_outbox_job text,
  p_expected_total_cents bigint,
  p_expected_currency text
) RETURNS TABLE (placed_order_id bigint, placed_at timestamptz, order_total_cents bigint, order_currency text, order_lines jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  v_line record;
  v_product record;
  v_held integer;
  v_total bigint := 0;
  v_currency text;
  v_product_ids bigint[] := '{}';
  v_quantities integer[] := '{}';
  v_prices integer[] := '{}';
  v_names text[] := '{}';
  v_skus text[] := '{}';
  v_event record;
  v_events bigint[];
  v_event_sets text[] := '{}';
  v_buyer text;
BEGIN
  -- No buyer (a caller's bug: `customerId` and `guestEmail` both absent, so guest_customer_id(NULL) gave NULL): said
  -- so, as a raise_exception without DETAIL (no refusal code: a 500), which place_orders rolls back for this order
  -- alone; the lookup below failed instead with no_data_found, which aborted every order of its batch.
  IF p_customer_id IS NULL THEN
    RAISE EXCEPTION 'place_order: the order names no buyer (neither customerId nor guestEmail)';
  END IF;
  -- Caps count per buyer: the customer's email, lower-cased and without a +tag (buyer_of), so an account and
  -- the guest checkouts made with its email, tagged or not, share their counts (buyer_purchases, orders.tables.ts).
  SELECT buyer_of(c.email) INTO STRICT v_buyer FROM customers c WHERE c.id = p_customer_id;

  -- An order already placed under this Idempotency-Key (a retry whose Redis record was lost): answered as the
  -- unique index would answer it (the caller replays that order), before the caps and the stock, which that
  -- order itself may have used up (a cap of one, the last units) and would refuse the retry of a placed order.
  IF p_idempotency_key IS NOT NULL AND EXISTS (
    SELECT 1 FROM orders o WHERE o.customer_id = p_customer_id AND o.idempotency_key = p_idempotency_key
  ) THEN
    RAISE unique_violation USING MESSAGE = 'IDEMPOTENCY_KEY_USED', CONSTRAINT = 'orders_customer_idempotency_key_idx';
  END IF;

  -- Lines in product order: every order locks rows in the same order, so orders never deadlock.
  FOR v_line IN
    SELECT (e->>'productId')::bigint AS product_id, (e->>'quantity')::integer AS quantity
    FROM jsonb_array_elements(p_items) AS e
    ORDER BY 1
  LOOP
    -- The name and SKU are kept on the line (order_items.product_name, product_sku): what was bought, whatever the
    -- catalog calls the product later. Read with the price, in this one lookup.
    SELECT p.status, p.price_cents, p.currency, p.max_per_customer, p.name, p.sku INTO v_product FROM products p WHERE p.id = v_line.product_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'UNKNOWN_PRODUCT' USING DETAIL = json_build_object('productId', v_line.product_id)::text;
    END IF;
    IF v_product.status <> 'active' THEN
      RAISE EXCEPTION 'PRODUCT_UNAVAILABLE' USING DETAIL = json_build_object('productId', v_line.product_id, 'status', v_product.status)::text;
    END IF;
    IF v_currency IS NULL THEN
      v_currency := v_product.currency;
    ELSIF v_currency <> v_product.currency THEN
      RAISE EXCEPTION 'MIXED_CURRENCIES' USING DETAIL = json_build_object('productId', v_line.product_id, 'currency', v_product.currency, 'orderCurrency', v_currency)::text;
    END IF;

    -- Per-buyer limits, each an upsert that locks this buyer's count row, so concurrent orders of one
    -- buyer (an account, guest checkouts with its email, on any instance) are counted one after the other.
    -- Counts hold the units of orders that still hold them: expiry, cancellation and refund take them off
    -- (releaseUnits, orders.repository.ts).
    -- An account's checkout does not count the unpaid guest checkouts of its email against it (anyone who knows
    -- the email can make those): see unpaid_guest_units. A guest's checkout counts everything.
    -- 1. The product's own cap counts over the buyer's whole life (buyer_purchases).
    INSERT INTO buyer_purchases AS c (buyer_email, product_id, quantity)
      VALUES (v_buyer, v_line.product_id, v_line.quantity)
      ON CONFLICT (buyer_email, product_id) DO UPDATE SET quantity = c.quantity + excluded.quantity
      RETURNING c.quantity INTO v_held;
    IF v_product.max_per_customer IS NOT NULL AND v_held > v_product.max_per_customer THEN
      v_held := v_held - unpaid_guest_units(p_customer_id, v_buyer, v_line.product_id, NULL);
    END IF;
    IF v_product.max_per_customer IS NOT NULL AND v_held > v_product.max_per_customer THEN
      RAISE EXCEPTION 'PURCHASE_LIMIT_EXCEEDED' USING DETAIL = json_build_object(
        'productId', v_line.product_id, 'limit', v_product.max_per_customer, 'alreadyPurchased', v_held - v_line.quantity,
        'requested', v_line.quantity, 'saleEventId', NULL)::text;
    END IF;
    -- 2. A sale event's cap counts per event (sale_event_buyer_purchases): every live event that lists the
    --    product counts the line, capped or not (a cap set mid-sale sees earlier purchases), in event order.
    v_events := '{}';
    FOR v_event IN
      SELECT e.id, e.max_per_customer
      FROM sale_events e JOIN sale_event_products sp ON sp.sale_event_id = e.id
      WHERE sp.product_id = v_line.product_id AND e.starts_at <= now() AND e.ends_at > now()
      ORDER BY e.id
      -- The lock the count row's foreign key takes anyway, taken here: an event deleted while this order reads it
      -- (only an event with no counts can be, the key restricts) is waited for and skipped once gone, where the
      -- count's insert would have failed on the key (a 500 to the buyer). Orders share it; an edit does not wait for it.
      FOR KEY SHARE OF e
    LOOP
      INSERT INTO sale_event_buyer_purchases AS s (sale_event_id, buyer_email, product_id, quantity)
        VALUES (v_event.id, v_buyer, v_line.product_id, v_line.quantity)
        ON CONFLICT (sale_event_id, buyer_email, product_id) DO UPDATE SET quantity = s.quantity + excluded.quantity
        RETURNING s.quantity INTO v_held;
      IF v_event.max_per_customer IS NOT NULL AND v_held > v_event.max_per_customer THEN
        v_held := v_held - unpaid_guest_units(p_customer_id, v_buyer, v_line.product_id, v_event.id);
      END IF;
      IF v_event.max_per_customer IS NOT NULL AND v_held > v_event.max_per_customer THEN
        RAISE EXCEPTION 'PURCHASE_LIMIT_EXCEEDED' USING DETAIL = json_build_object(
          'productId', v_line.product_id, 'limit', v_event.max_per_customer, 'alreadyPurchased', v_held - v_line.quantity,
          'requested', v_line.quantity, 'saleEventId', v_event.id)::text;
      END IF;
      v_events := v_events || v_event.id;
    END LOOP;

    PERFORM take_stock(v_line.product_id, v_line.quantity);

    v_product_ids := v_product_ids || v_line.product_id;
    v_quantities := v_quantities || v_line.quantity;
    v_prices := v_prices || v_product.price_cents;
    v_names := v_names || v_product.name;
    v_skus := v_skus || v_product.sku;
    v_event_sets := v_event_sets || v_events::text;
    v_total := v_total + v_product.price_cents::bigint * v_line.quantity;
  END LOOP;

  IF v_currency IS NULL THEN
    RAISE EXCEPTION 'EMPTY_ORDER' USING DETAIL = '{}';
  END IF;
  IF p_expected_total_cents IS NOT NULL AND (p_expected_total_cents <> v_total OR p_expected_currency IS DISTINCT FROM v_currency) THEN
    RAISE EXCEPTION 'PRICE_CHANGED' USING DETAIL = json_build_object(
      'expectedTotalCents', p_expected_total_cents, 'expectedCurrency', p_expected_currency, 'totalCents', v_total, 'currency', v_currency,
      'items', (SELECT json_agg(json_build_object('productId', l.product_id, 'quantity', l.quantity, 'priceCents', l.price_cents) ORDER BY l.product_id)
                FROM unnest(v_product_ids, v_quantities, v_prices) AS l(product_id, quantity, price_cents)))::text;
  END IF;

  INSERT INTO orders (customer_id, total_cents, currency, idempotency_key, reservation)
    VALUES (p_customer_id, v_total, v_currency, p_idempotency_key, p_reservation)
    RETURNING orders.id, orders.created_at INTO placed_order_id, placed_at;
  INSERT INTO order_items (order_id, product_id, quantity, price_cents, product_name, product_sku, sale_event_ids)
    SELECT placed_order_id, l.product_id, l.quantity, l.price_cents, l.name, l.sku, l.events::bigint[]
    FROM unnest(v_product_ids, v_quantities, v_prices, v_names, v_skus, v_event_sets) AS l(product_id, quantity, price_cents, name, sku, events);
  INSERT INTO outbox (queue, name, data) VALUES (p_outbox_queue, p_outbox_job, jsonb_build_object('orderId', placed_order_id));
  order_total_cents := v_total;
  order_currency := v_currency;
  SELECT jsonb_agg(jsonb_build_object('productId', l.product_id, 'name', l.name, 'quantity', l.quantity, 'priceCents', l.price_cents) ORDER BY l.product_id)
    INTO order_lines
    FROM unnest(v_product_ids, v_names, v_quantities, v_prices) AS l(product_id, name, quantity, price_cents);
  RETURN NEXT;
END
$$;

-- The previous release's place_order (no expected total), kept for its instances during a rolling update and for a
-- rollback: without defaults on the one above, so a call of six arguments is never ambiguous between the two.
CREATE OR REPLACE FUNCTION place_order(
  p_customer_id bigint,
  p_items jsonb,
  p_idempotency_key text,
  p_reservation text,
  p_outbox_queue text,
  p_outbox_job text
) RETURNS TABLE (placed_order_id bigint, placed_at timestamptz, order_total_cents bigint, order_currency text, order_lines jsonb)
LANGUAGE sql AS $$
  SELECT * FROM place_order(p_customer_id, p_items, p_idempotency_key, p_reservation, p_outbox_queue, p_outbox_job, NULL, NULL)
$$;

-- place_orders: several orders in one statement and one commit (a per-instance batch of concurrent
-- checkouts). An order is `customerId`, or `guestEmail` for a guest whose record its order writes. Each order runs place_order inside its own subtransaction, so a refused order rolls
-- back alone and the others commit; its refusal comes back as a row (SQLSTATE, message, DETAIL,
-- constraint) instead of an error. Lock waits are capped (lock_timeout): an order that would wait
-- for a row another batch holds comes back as 55P03 and is placed again on its own, which keeps
-- batches from waiting on each other in a cycle. Callers keep batches under 64 orders (PostgreSQL's
-- per-transaction cache of subtransaction ids).
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
    -- The order's trace rides along with its outbox row (the column's default reads this setting).
    PERFORM set_config('salescale.trace_context', coalesce(v_order->>'traceContext', ''), true);
    BEGIN
      -- A guest without a record yet (`guestEmail`, no `customerId`): the record is written here, inside the order's
      -- subtransaction, so a refused order rolls it back with everything else it wrote (customers.sql).
      SELECT * INTO v_placed FROM place_order(
        coalesce((v_order->>'customerId')::bigint, guest_customer_id(v_order->>'guestEmail')), v_order->'items', v_order->>'idempotencyKey', v_order->>'reservation', p_outbox_queue, p_outbox_job,
        (v_order->>'expectedTotalCents')::bigint, v_order->>'expectedCurrency');
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

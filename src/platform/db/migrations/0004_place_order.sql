-- place_order: one order as one statement (one round trip, one commit). Row locks on stock are held
-- only while the server runs this function and commits, never across client round trips, which is
-- what keeps a hot product's lock queue short. Every refusal raises (the whole statement rolls back:
-- no order without stock taken, no stock taken without an order) with the error code as the message
-- and its data as JSON in DETAIL.
CREATE OR REPLACE FUNCTION place_order(
  p_customer_id bigint,
  p_items jsonb,
  p_idempotency_key text,
  p_reservation text,
  p_outbox_queue text,
  p_outbox_job text
) RETURNS TABLE (placed_order_id bigint, placed_at timestamptz, order_total_cents bigint, order_currency text, order_lines jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  v_line record;
  v_product record;
  v_shard record;
  v_limit integer;
  v_held integer;
  v_shards integer;
  v_available bigint;
  v_need integer;
  v_take integer;
  v_total bigint := 0;
  v_currency text;
  v_product_ids bigint[] := '{}';
  v_quantities integer[] := '{}';
  v_prices integer[] := '{}';
BEGIN
  -- Lines in product order: every order locks rows in the same order, so orders never deadlock.
  FOR v_line IN
    SELECT (e->>'productId')::bigint AS product_id, (e->>'quantity')::integer AS quantity
    FROM jsonb_array_elements(p_items) AS e
    ORDER BY 1
  LOOP
    SELECT p.status, p.price_cents, p.currency, p.max_per_customer INTO v_product FROM products p WHERE p.id = v_line.product_id;
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

    -- Per-customer limit: the strictest of the product's and every live sale event's that lists it.
    -- The upsert locks this customer's row for this product, so concurrent orders of one account
    -- (on any instance) are counted one after the other.
    SELECT min(e.max_per_customer) INTO v_limit
      FROM sale_events e JOIN sale_event_products sp ON sp.sale_event_id = e.id
      WHERE sp.product_id = v_line.product_id AND e.starts_at <= now() AND e.ends_at > now();
    v_limit := least(v_limit, v_product.max_per_customer);
    INSERT INTO customer_purchases AS c (customer_id, product_id, quantity)
      VALUES (p_customer_id, v_line.product_id, v_line.quantity)
      ON CONFLICT (customer_id, product_id) DO UPDATE SET quantity = c.quantity + excluded.quantity
      RETURNING c.quantity INTO v_held;
    IF v_limit IS NOT NULL AND v_held > v_limit THEN
      RAISE EXCEPTION 'PURCHASE_LIMIT_EXCEEDED' USING DETAIL = json_build_object(
        'productId', v_line.product_id, 'limit', v_limit, 'alreadyPurchased', v_held - v_line.quantity, 'requested', v_line.quantity)::text;
    END IF;

    SELECT count(*) INTO v_shards FROM product_stock s WHERE s.product_id = v_line.product_id;
    IF v_shards <= 1 THEN
      -- The single-row design: one conditional update; every buyer queues on this row's lock.
      UPDATE product_stock s SET available = s.available - v_line.quantity, updated_at = now()
        WHERE s.product_id = v_line.product_id AND s.available >= v_line.quantity;
      IF NOT FOUND THEN
        SELECT coalesce(sum(s.available), 0) INTO v_available FROM product_stock s WHERE s.product_id = v_line.product_id;
        RAISE EXCEPTION 'OUT_OF_STOCK' USING DETAIL = json_build_object('productId', v_line.product_id, 'requested', v_line.quantity, 'available', v_available)::text;
      END IF;
    ELSE
      -- 1. Any shard that holds enough and that nobody else holds right now.
      UPDATE product_stock s SET available = s.available - v_line.quantity, updated_at = now()
        FROM (SELECT x.shard FROM product_stock x
              WHERE x.product_id = v_line.product_id AND x.available >= v_line.quantity
              ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED) pick
        WHERE s.product_id = v_line.product_id AND s.shard = pick.shard;
      IF NOT FOUND THEN
        -- 2. All such shards are busy: wait for a random one (waiters spread over the shards);
        --    after the wait PostgreSQL re-checks the condition and moves on if it no longer holds.
        UPDATE product_stock s SET available = s.available - v_line.quantity, updated_at = now()
          FROM (SELECT x.shard FROM product_stock x
                WHERE x.product_id = v_line.product_id AND x.available >= v_line.quantity
                ORDER BY random() LIMIT 1 FOR UPDATE) pick
          WHERE s.product_id = v_line.product_id AND s.shard = pick.shard;
      END IF;
      IF NOT FOUND THEN
        -- 3. No single shard holds enough (the tail of a sale): lock every shard in order and take
        --    the units across them, or refuse with the true total.
        SELECT coalesce(sum(x.available), 0) INTO v_available
          FROM (SELECT available FROM product_stock WHERE product_id = v_line.product_id ORDER BY shard FOR UPDATE) x;
        IF v_available < v_line.quantity THEN
          RAISE EXCEPTION 'OUT_OF_STOCK' USING DETAIL = json_build_object('productId', v_line.product_id, 'requested', v_line.quantity, 'available', v_available)::text;
        END IF;
        v_need := v_line.quantity;
        FOR v_shard IN SELECT x.shard, x.available FROM product_stock x WHERE x.product_id = v_line.product_id AND x.available > 0 ORDER BY x.shard LOOP
          v_take := least(v_need, v_shard.available);
          UPDATE product_stock s SET available = s.available - v_take, updated_at = now()
            WHERE s.product_id = v_line.product_id AND s.shard = v_shard.shard;
          v_need := v_need - v_take;
          EXIT WHEN v_need = 0;
        END LOOP;
      END IF;
    END IF;

    v_product_ids := v_product_ids || v_line.product_id;
    v_quantities := v_quantities || v_line.quantity;
    v_prices := v_prices || v_product.price_cents;
    v_total := v_total + v_product.price_cents::bigint * v_line.quantity;
  END LOOP;

  IF v_currency IS NULL THEN
    RAISE EXCEPTION 'EMPTY_ORDER' USING DETAIL = '{}';
  END IF;

  INSERT INTO orders (customer_id, total_cents, currency, idempotency_key, reservation)
    VALUES (p_customer_id, v_total, v_currency, p_idempotency_key, p_reservation)
    RETURNING orders.id, orders.created_at INTO placed_order_id, placed_at;
  INSERT INTO order_items (order_id, product_id, quantity, price_cents)
    SELECT placed_order_id, l.product_id, l.quantity, l.price_cents
    FROM unnest(v_product_ids, v_quantities, v_prices) AS l(product_id, quantity, price_cents);
  INSERT INTO outbox (queue, name, data) VALUES (p_outbox_queue, p_outbox_job, jsonb_build_object('orderId', placed_order_id));
  order_total_cents := v_total;
  order_currency := v_currency;
  SELECT jsonb_agg(jsonb_build_object('productId', l.product_id, 'quantity', l.quantity, 'priceCents', l.price_cents) ORDER BY l.product_id)
    INTO order_lines
    FROM unnest(v_product_ids, v_quantities, v_prices) AS l(product_id, quantity, price_cents);
  RETURN NEXT;
END
$$;

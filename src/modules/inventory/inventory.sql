-- Stock, taken at checkout. A definition file, not a migration: `salescale migrate` applies it (after
-- the table migrations) on every run, so this file is the one current text of the function. The
-- statements that set, create, give back and read stock are in inventory.repository.ts.
--
-- take_stock: takes p_quantity units of a product from its stock rows ("shards", see
-- inventory.tables.ts), or raises OUT_OF_STOCK (SQLSTATE P0001, data as JSON in DETAIL) with the true
-- total. Called by place_order inside the order's statement: the caller's transaction holds the row
-- locks until it commits, and the order's other statements roll back with it.
CREATE OR REPLACE FUNCTION take_stock(p_product_id bigint, p_quantity integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_shard record;
  v_shards integer;
  v_available bigint;
  v_need integer;
  v_take integer;
  v_pick smallint;
  v_held text;
BEGIN
  -- The shard this transaction took this product from last (a batch's earlier order; set below only
  -- for a sharded product), if it still holds enough: its row lock is already ours, the shards need
  -- no counting, and a batch keeps to one shard instead of spreading its locks over every shard while
  -- another batch runs.
  v_held := current_setting('salescale.held_shard', true);
  IF v_held LIKE p_product_id || ':%' THEN
    UPDATE product_stock s SET available = s.available - p_quantity, updated_at = now()
      WHERE s.product_id = p_product_id AND s.shard = split_part(v_held, ':', 2)::smallint AND s.available >= p_quantity;
    IF FOUND THEN
      RETURN;
    END IF;
  END IF;
  SELECT count(*), min(s.shard) INTO v_shards, v_pick FROM product_stock s WHERE s.product_id = p_product_id;
  IF v_shards <= 1 THEN
    -- The single-row design: one conditional update of the row counted, by primary key; every buyer
    -- queues on this row's lock.
    UPDATE product_stock s SET available = s.available - p_quantity, updated_at = now()
      WHERE s.product_id = p_product_id AND s.shard = v_pick AND s.available >= p_quantity;
    IF FOUND THEN
      RETURN;
    END IF;
    -- A set or an adjustment may have split the stock into more rows (a seeded product's one row into
    -- STOCK_SHARDS) after the count: committed while the update waited for the row, the update
    -- rechecked only this row, which now holds a share; committed between the count and the update,
    -- the update's own snapshot sees every shard, and without `shard = v_pick` it took the units from
    -- each shard that held enough (an order of 1 took 4 of 12). Either way the update touches at most
    -- the row counted; when it took nothing, count again in a new statement, which sees the committed
    -- split, and take from the shards if there are more rows now; refuse only if there are not.
    SELECT count(*) INTO v_shards FROM product_stock s WHERE s.product_id = p_product_id;
    IF v_shards <= 1 THEN
      SELECT coalesce(sum(s.available), 0) INTO v_available FROM product_stock s WHERE s.product_id = p_product_id;
      RAISE EXCEPTION 'OUT_OF_STOCK' USING DETAIL = json_build_object('productId', p_product_id, 'requested', p_quantity, 'available', v_available)::text;
    END IF;
  END IF;
  -- More than one row: the sharded design. The shard is picked by one statement and its units taken
  -- by a second, by primary key. Never as one
  -- `UPDATE … FROM (SELECT … LIMIT 1 FOR UPDATE SKIP LOCKED) pick`: for a product newer than the
  -- table's statistics (estimated at one row, as a sale's products are until autovacuum's next
  -- ANALYZE) the planner made that join a nested loop with the pick inside, re-ran the pick for each
  -- shard row, and each re-run skipped the shard the statement had just updated and locked another:
  -- one order of 1 unit took up to 5 (chaos suite: 907 units gone from stock for 745 in orders).
  -- 1. Any shard that holds enough and that nobody else holds right now.
  SELECT x.shard INTO v_pick FROM product_stock x
    WHERE x.product_id = p_product_id AND x.available >= p_quantity
    ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    -- 2. All such shards are busy: wait for a random one (waiters spread over the shards);
    --    after the wait PostgreSQL re-checks the condition and moves on if it no longer holds.
    SELECT x.shard INTO v_pick FROM product_stock x
      WHERE x.product_id = p_product_id AND x.available >= p_quantity
      ORDER BY random() LIMIT 1 FOR UPDATE;
  END IF;
  IF FOUND THEN
    -- This transaction holds the row's lock, so `available` is still what the pick saw.
    UPDATE product_stock s SET available = s.available - p_quantity, updated_at = now()
      WHERE s.product_id = p_product_id AND s.shard = v_pick;
    PERFORM set_config('salescale.held_shard', p_product_id || ':' || v_pick, true);
  END IF;
  IF NOT FOUND THEN
    -- 3. No single shard holds enough (the tail of a sale): lock every shard in order and take
    --    the units across them, or refuse with the true total. Two statements, as in
    --    inventory.repository.ts (`lockStockTotal`): the first waits for the locks but reads from
    --    the snapshot it started with, so it misses rows that a set or an adjustment it waited for
    --    added; the second starts after the wait, sees and locks every row (none can be added
    --    meanwhile: whoever adds rows holds the existing ones first) and sums them.
    PERFORM 1 FROM product_stock WHERE product_id = p_product_id ORDER BY shard FOR UPDATE;
    SELECT coalesce(sum(x.available), 0) INTO v_available
      FROM (SELECT available FROM product_stock WHERE product_id = p_product_id ORDER BY shard FOR UPDATE) x;
    IF v_available < p_quantity THEN
      RAISE EXCEPTION 'OUT_OF_STOCK' USING DETAIL = json_build_object('productId', p_product_id, 'requested', p_quantity, 'available', v_available)::text;
    END IF;
    v_need := p_quantity;
    FOR v_shard IN SELECT x.shard, x.available FROM product_stock x WHERE x.product_id = p_product_id AND x.available > 0 ORDER BY x.shard LOOP
      v_take := least(v_need, v_shard.available);
      UPDATE product_stock s SET available = s.available - v_take, updated_at = now()
        WHERE s.product_id = p_product_id AND s.shard = v_shard.shard;
      v_need := v_need - v_take;
      EXIT WHEN v_need = 0;
    END LOOP;
  END IF;
END
$$;

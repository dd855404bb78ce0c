import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/db.ts';

// Checkout's reads of the customers table that run on every capped order, checked with EXPLAIN on 50k guests.
let database: TestDatabase;
let pool: pg.Pool;
before(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 1 });
  await pool.query(`INSERT INTO customers (email, name, password_hash, guest)
                    SELECT 'buyer' || i || CASE WHEN i % 3 = 0 THEN '+tag' ELSE '' END || '@example.com', 'Guest', '', true FROM generate_series(1, 50000) i`);
  // And accounts, and 200k orders spread over every customer: the admin list's `email` filter must not scan them.
  await pool.query(`INSERT INTO customers (email, name, password_hash)
                    SELECT 'Account' || i || '@Example.com', 'Account', '' FROM generate_series(1, 20000) i`);
  await pool.query(`INSERT INTO orders (customer_id, status, total_cents, currency, reservation, created_at)
                    SELECT c.id, (ARRAY['pending_payment','paid','fulfilled','expired']::order_status[])[1 + i % 4], 100, 'USD', 'r-' || i, now() - i * interval '1 second'
                    FROM generate_series(1, 200000) i JOIN customers c ON c.id = 1 + (i * 7919) % 70000`);
  await pool.query('ANALYZE customers');
  await pool.query('ANALYZE orders');
});
after(async () => {
  await pool?.end();
  await database?.drop();
});

describe('checkout query plans at 50k guest records', () => {
  it("finds a buyer's guest records, tagged or not, by index (unpaid_guest_units)", async () => {
    const { rows } = await pool.query(`EXPLAIN SELECT g.id FROM customers g WHERE buyer_of(g.email) = $1 AND g.guest`, ['buyer4242@example.com']);
    const text = rows.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(text, /customers_guest_buyer_idx/, text);
    assert.doesNotMatch(text, /Seq Scan/, text);
  });
});

describe('admin order list query plans at 70k customers and 200k orders', () => {
  // The query listAdmin runs for `email` (with a status and the cursor, as an operator pages through).
  const byEmail = `EXPLAIN SELECT o.id FROM orders o
    WHERE o.id < $2 AND o.status = 'paid' AND o.customer_id IN (
      SELECT c.id FROM customers c WHERE lower(c.email) = $1 AND NOT c.guest
      UNION ALL
      SELECT c.id FROM customers c WHERE lower(c.email) = $1 AND c.guest)
    ORDER BY o.id DESC LIMIT 21`;

  it("finds a buyer's orders by their email through the customers' and the orders' indexes, scanning neither table", async () => {
    for (const email of ['account4242@example.com', 'buyer4242@example.com']) {
      const { rows } = await pool.query(byEmail, [email, 1_000_000]);
      const text = rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.match(text, /customers_email_lower_idx/, text);
      assert.match(text, /customers_guest_email_lower_idx/, text);
      assert.match(text, /orders_customer_id_idx/, text);
      assert.doesNotMatch(text, /Seq Scan/, text);
    }
  });
});

describe('units held by unpaid orders (getUnitsHeldByUnpaidOrders), at 300k orders with 1,500 awaiting payment', () => {
  // Its own database: a shop's history (most orders paid, fulfilled or expired) with a hot product in half of them.
  let history: TestDatabase;
  let shop: pg.Pool;
  let hot: number;
  before(async () => {
    history = await createTestDatabase();
    shop = new pg.Pool({ connectionString: history.url, max: 1 });
    await shop.query(`INSERT INTO customers (email, name, password_hash) SELECT 'held' || i || '@example.com', 'Buyer', '' FROM generate_series(1, 1000) i`);
    await shop.query(`INSERT INTO products (sku, name, price_cents) SELECT 'HELD-' || i, 'Product', 100 FROM generate_series(1, 2000) i`);
    await shop.query(`INSERT INTO orders (customer_id, status, total_cents, currency, reservation, created_at)
                      SELECT c.id, (CASE WHEN i % 200 = 0 THEN 'pending_payment' WHEN i % 3 = 0 THEN 'expired' WHEN i % 3 = 1 THEN 'fulfilled' ELSE 'paid' END)::order_status,
                             100, 'USD', 'held-' || i, now() - i * interval '1 second'
                      FROM generate_series(1, 300000) i JOIN customers c ON c.id = (SELECT min(id) FROM customers) + i % 1000`);
    hot = Number((await shop.query('SELECT min(id) AS id FROM products')).rows[0].id);
    await shop.query(`INSERT INTO order_items (order_id, product_id, quantity, price_cents)
                      SELECT o.id, CASE WHEN o.id % 2 = 0 THEN $1::bigint ELSE $1::bigint + 1 + o.id % 1999 END, 1 + o.id % 3, 100 FROM orders o`, [hot]);
    await shop.query('ANALYZE');
  });
  after(async () => {
    await shop?.end();
    await history?.drop();
  });

  // Mirrors held-units.ts.
  const held = `EXPLAIN SELECT oi.product_id, sum(oi.quantity) FROM order_items oi
    WHERE oi.order_id = any(array(SELECT o.id FROM orders o WHERE o.status = 'pending_payment')) AND oi.product_id = any($1::bigint[])
    GROUP BY oi.product_id`;

  it("reads the orders awaiting payment and probes their lines, never every line a product sold, for one product or a page", async () => {
    const page = Array.from({ length: 200 }, (_, i) => hot + i);
    for (const ids of [[hot], [hot + 1500], page]) {
      const { rows } = await shop.query(held, [ids]);
      const text = rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.match(text, /orders_pending_payment_idx/, text);
      assert.match(text, /order_items_order_id_product_id_pk/, text);
      assert.doesNotMatch(text, /order_items_product_id_idx/, text);
      assert.doesNotMatch(text, /Seq Scan/, text);
    }
  });
});

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
  await pool.query('ANALYZE customers');
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

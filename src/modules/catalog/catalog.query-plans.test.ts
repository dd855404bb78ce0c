import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/db.ts';
import { seedCatalog } from './catalog.seed.ts';

// The hot catalog queries (mirroring catalog.repository.ts), checked with EXPLAIN on 100k seeded products.
let database: TestDatabase;
let pool: pg.Pool;
let categoryId: number;
before(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  await seedCatalog(pool, { products: 100_000, categories: 40 });
  categoryId = (await pool.query('SELECT id FROM categories ORDER BY id DESC LIMIT 1')).rows[0].id;
});
after(async () => {
  await pool?.end();
  await database?.drop();
});

const SELECT = `SELECT p.id, p.sku, p.name, p.description, p.price_cents, p.currency, p.category_id, p.status, coalesce(s.available, 0)
                FROM products p LEFT JOIN product_stock s ON s.product_id = p.id`;

async function plan(sql: string, params: unknown[]): Promise<string> {
  const { rows } = await pool.query(`EXPLAIN ${sql}`, params);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

describe('catalog query plans at 100k products', () => {
  const cases: Array<[string, () => [string, unknown[]]]> = [
    ['product by id', () => [`${SELECT} WHERE p.id = $1`, [4242]]],
    ['first page', () => [`${SELECT} WHERE p.status = 'active' ORDER BY p.id LIMIT 21`, []]],
    ['a later page (keyset)', () => [`${SELECT} WHERE p.status = 'active' AND p.id > $1 ORDER BY p.id LIMIT 21`, [90_000]]],
    ['a category page', () => [`${SELECT} WHERE p.status = 'active' AND p.category_id IN ($1) ORDER BY p.id LIMIT 21`, [categoryId]]],
    ['a price range', () => [`${SELECT} WHERE p.status = 'active' AND p.price_cents >= $1 AND p.price_cents <= $2 ORDER BY p.id LIMIT 21`, [1000, 1100]]],
    ['a name search', () => [`${SELECT} WHERE p.status = 'active' AND p.name ILIKE $1 ORDER BY p.id LIMIT 21`, ['%drone 4242%']]],
    ['popular products', () => [`${SELECT} WHERE p.status = 'active' ORDER BY p.popularity DESC NULLS LAST, p.id LIMIT 100`, []]],
  ];
  for (const [name, query] of cases) {
    it(`uses an index for ${name}`, async () => {
      const [sql, params] = query();
      const text = await plan(sql, params);
      assert.doesNotMatch(text, /Seq Scan on products/, text);
      assert.doesNotMatch(text, /Seq Scan on product_stock/, text);
    });
  }
});

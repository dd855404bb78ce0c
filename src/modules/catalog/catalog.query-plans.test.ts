import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/db.ts';
import { seedCatalog } from './catalog.seed.ts';

// The hot catalog queries (mirroring catalog.repository.ts), checked with EXPLAIN on 100k seeded products.
// Seeded as the CLI seeds, with STOCK_SHARDS=4.
const SEEDED = { products: 100_000, categories: 40, stockShards: 4 };
let database: TestDatabase;
let pool: pg.Pool;
let categoryId: number;
before(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  await seedCatalog(pool, SEEDED);
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
    ['a currency page', () => [`${SELECT} WHERE p.status = 'active' AND p.currency = $1 ORDER BY p.id LIMIT 21`, ['JPY']]],
    ['a price range in one currency', () => [`${SELECT} WHERE p.status = 'active' AND p.currency = $1 AND p.price_cents >= $2 AND p.price_cents <= $3 ORDER BY p.id LIMIT 21`, ['JPY', 1000, 1100]]],
    ['a name search', () => [`${SELECT} WHERE p.status = 'active' AND p.name ILIKE $1 ORDER BY p.id LIMIT 21`, ['%drone 4242%']]],
    ['popular products', () => [`${SELECT} WHERE p.status = 'active' ORDER BY p.popularity DESC NULLS LAST, p.id LIMIT 100`, []]],
  ];
  // The admin list (listForAdmin): every status, newest first; `q` within the SKU or the name.
  const ADMIN = 'SELECT p.id FROM products p';
  const Q = `(p.sku ILIKE $1 OR (p.status = 'active' AND p.name ILIKE $1) OR (p.status <> 'active' AND p.name ILIKE $1))`;
  cases.push(
    ['an admin search by name or SKU', () => [`${ADMIN} WHERE ${Q} ORDER BY p.id DESC LIMIT 51`, ['%drone 4242%']]],
    ['an admin search by SKU', () => [`${ADMIN} WHERE ${Q} ORDER BY p.id DESC LIMIT 51`, ['%SKU-0004242%']]],
    ['an admin list of one status', () => [`${ADMIN} WHERE p.status = $1 ORDER BY p.id DESC LIMIT 51`, ['archived']]],
    ['an admin search within one status', () => [`${ADMIN} WHERE p.status = $2 AND ${Q} ORDER BY p.id DESC LIMIT 51`, ['%drone%', 'draft']]],
  );
  // The currencies active products use (listActiveCurrencies): one index probe per currency, not a read of every product.
  cases.push([
    'the currencies in use',
    () => [
      `WITH RECURSIVE c AS (
         (SELECT currency FROM products WHERE status = 'active' ORDER BY currency LIMIT 1)
         UNION ALL
         SELECT (SELECT p.currency FROM products p WHERE p.status = 'active' AND p.currency > c.currency ORDER BY p.currency LIMIT 1) FROM c WHERE c.currency IS NOT NULL
       ) SELECT currency FROM c WHERE currency IS NOT NULL`,
      [],
    ],
  ]);
  for (const [name, query] of cases) {
    it(`uses an index for ${name}`, async () => {
      const [sql, params] = query();
      const text = await plan(sql, params);
      assert.doesNotMatch(text, /Seq Scan on products/, text);
      assert.doesNotMatch(text, /Seq Scan on product_stock/, text);
    });
  }
});

describe('seeded stock', () => {
  // As product creation writes it (inventory's `create`), so that a seeded product is not split at its first stock
  // change, often during a sale.
  it('writes each product\'s stock as STOCK_SHARDS rows, split as evenly as creation splits it, and records it as the initial stock', async () => {
    const { rows } = await pool.query<{ products: number; misfits: number }>(`
      SELECT count(*)::int AS products,
             count(*) FILTER (WHERE s.rows IS DISTINCT FROM $1 OR s.most - s.least > 1 OR i.available IS DISTINCT FROM s.total)::int AS misfits
        FROM products p
        LEFT JOIN (SELECT product_id, count(*)::int AS rows, max(available) AS most, min(available) AS least, sum(available)::int AS total
                     FROM product_stock GROUP BY product_id) s ON s.product_id = p.id
        LEFT JOIN product_initial_stock i ON i.product_id = p.id`, [SEEDED.stockShards]);
    assert.deepEqual(rows[0], { products: SEEDED.products, misfits: 0 });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { TEST_PG_ADMIN_URL } from '../../../test/helpers/db.ts';
import { databaseBefore } from '../../../test/helpers/migrations.ts';

const SKU_ANY_CASE = '0014_sku_unique_any_case';

/**
 * The migration that makes SKUs unique whatever their case: it cannot know which of two products sharing
 * a SKU that way is right, so it stops and names them, and applies nothing, until the shop has told them apart.
 */
describe('SKUs unique in any case: the migration', () => {
  it('stops on products that share a SKU in another case, naming them, and applies nothing; once they differ it applies', async () => {
    const upgrade = await databaseBefore(SKU_ANY_CASE);
    const { q } = upgrade;
    try {
      const [mug, mugLower, plate, plateUpper, cup] = await q(`insert into products (sku, name, price_cents) values
        ('MUG-1', 'Mug', 100), ('mug-1', 'Mug too', 100), ('plate-2', 'Plate', 100), ('PLATE-2', 'Plate too', 100), ('Cup-3', 'Cup', 100) returning id`);
      const applied = async () => Number((await q('select count(*)::int as n from drizzle.__drizzle_migrations'))[0].n);
      const before = await applied();
      await assert.rejects(upgrade.upgrade(), (error: Error & { cause?: Error }) => {
        const message = `${error.message} ${error.cause?.message ?? ''}`;
        assert.match(message, /2 group\(s\) of products share a SKU/);
        assert.match(message, new RegExp(`MUG-1 / mug-1 \\(products ${mug.id}, ${mugLower.id}\\)`));
        assert.match(message, new RegExp(`plate-2 / PLATE-2 \\(products ${plate.id}, ${plateUpper.id}\\)`));
        assert.match(message, /no migration of this run was applied/);
        return true;
      });
      assert.equal(await applied(), before, 'nothing applied');
      assert.deepEqual(await q(`select to_regclass('products_sku_lower_idx') as index`), [{ index: null }]);

      await q(`update products set sku = 'mug-1-b' where id = $1`, [mugLower.id]);
      await q(`update products set sku = 'PLATE-2-B' where id = $1`, [plateUpper.id]);
      assert.equal(await upgrade.upgrade(), upgrade.upgrades);
      await assert.rejects(q(`insert into products (sku, name, price_cents) values ('CUP-3', 'Cup again', 100)`), /products_sku_lower_idx/);
      assert.deepEqual(await q('select sku from products where id = $1', [cup.id]), [{ sku: 'Cup-3' }], 'SKUs stay as typed');
    } finally {
      await upgrade.drop();
    }
  });
});

describe('product names in NFC: the migration', () => {
  it('normalizes the names stored before it to NFC, so the name search finds them, and leaves the others as they are (those whose NFC would pass 200 characters too)', async () => {
    const upgrade = await databaseBefore('0034_product_names_nfc');
    const { q } = upgrade;
    try {
      const [nfd, plain] = await q(`insert into products (sku, name, price_cents) values ('NFD-OLD', $1, 100), ('PLAIN-OLD', 'Plain mug', 100) returning id`, ['Cre\u0300me bru\u0302le\u0301e']);
      // 200 characters whose NFC is 400 (U+0958 decomposes): left as stored rather than grown past the name's limit.
      const long = '\u0958'.repeat(200);
      const [growing] = await q(`insert into products (sku, name, price_cents) values ('NFC-GROWS', $1, 100) returning id`, [long]);
      assert.equal(await upgrade.upgrade(), upgrade.upgrades);
      assert.deepEqual(await q('select name from products where id = $1', [growing.id]), [{ name: long }]);
      assert.deepEqual(await q('select name from products where id = $1', [nfd.id]), [{ name: 'Cr\u00e8me br\u00fbl\u00e9e' }]);
      assert.deepEqual(await q('select name from products where id = $1', [plain.id]), [{ name: 'Plain mug' }]);
    } finally {
      await upgrade.drop();
    }
  });
});

/**
 * The admin product search's indexes: built while the shop runs, they may make writes to products wait (SHARE, as
 * the README says) but not reads: the storefront, the catalog API and `place_order` read products on every request.
 */
describe('admin product search indexes: the migration', () => {
  it('never asks for a lock that makes reads of products wait', async () => {
    const upgrade = await databaseBefore('0038_admin_product_search');
    const { q } = upgrade;
    const url = new URL(TEST_PG_ADMIN_URL);
    url.pathname = `/${(await q('select current_database() as name'))[0].name}`;
    const reader = new pg.Client({ connectionString: url.toString() });
    await reader.connect();
    let watching = true;
    try {
      await q(`insert into products (sku, name, price_cents) select 'SKU-' || i, 'Product ' || i, 100 from generate_series(1, 1000) i`);
      // A shopper's read under way: a lock that conflicts with it queues, and every later read queues behind it.
      await reader.query('begin');
      await reader.query('select count(*) from products');
      const upgrading = upgrade.upgrade().then(() => 'applied');
      const waiting = (async () => {
        while (watching) {
          const rows = await q(`select mode from pg_locks where relation = 'products'::regclass and not granted`);
          if (rows.length > 0) return rows.map((row) => String(row.mode)).join(', ');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return 'applied';
      })();
      const first = await Promise.race([upgrading, waiting]);
      watching = false;
      await waiting;
      await reader.query('commit');
      await upgrading;
      assert.equal(first, 'applied', `the migration waited for a shopper's read with ${first}: every later read of products waits behind it until the migration commits`);
    } finally {
      watching = false;
      await reader.end().catch(() => undefined);
      await upgrade.drop();
    }
  });
});

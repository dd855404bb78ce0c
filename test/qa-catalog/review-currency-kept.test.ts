import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// The branch refuses withdrawn currencies (HRK, BGN, …) with 422 UNKNOWN_CURRENCY on create *and* on update. A
// product created in one before this release (a Croatian shop's catalog, priced in HRK) stays in it; an update that
// sends the whole product back (an admin form, a PIM sync) names the currency the product already has, changes
// nothing of it, and is now refused, so neither its name nor its price can be edited. The check must refuse
// setting a product to such a currency, not a product keeping the one it has.
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

it('lets an update resend the withdrawn currency a product already has', async () => {
  const client = new pg.Client({ connectionString: t.database.url });
  await client.connect();
  let id: number;
  try {
    // As created before this release, when HRK was accepted.
    const { rows } = await client.query(`insert into products (sku, name, price_cents, currency) values ('LEGACY-HRK', 'Kuna mug', 1500, 'HRK') returning id`);
    id = Number(rows[0].id);
    await client.query('insert into product_stock (product_id, shard, available) values ($1, 0, 3)', [id]);
  } finally {
    await client.end();
  }
  const reply = await t.app.inject({
    method: 'PATCH',
    url: `/api/v1/admin/products/${id}`,
    headers: t.admin,
    payload: { name: 'Kuna mug (renamed)', priceCents: 1500, currency: 'HRK' },
  });
  assert.equal(reply.statusCode, 200, `resending the product's own currency was answered ${reply.statusCode}: ${reply.body}`);
  assert.equal(reply.json().name, 'Kuna mug (renamed)');
});

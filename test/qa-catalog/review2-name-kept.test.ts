import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// Migration 0034 leaves a name whose NFC would pass 200 characters as it is stored (200 x U+0958, NFC 400). An
// update that sends the whole product back (an admin form, a PIM sync) names that name unchanged; the service now
// normalizes and length-checks every name sent, so it answers 400 VALIDATION_FAILED at /name and the product's price
// cannot be edited: the very case the branch fixed for a withdrawn currency a product keeps (an update resending the
// product's own currency passes). Resending the name the product already has must pass, as resending its currency does.
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

it('lets an update resend the name a product already has, a name migration 0034 left outside NFC', async () => {
  const name = '\u0958'.repeat(200);
  const client = new pg.Client({ connectionString: t.database.url });
  await client.connect();
  let id: number;
  try {
    // As stored before this release and left as it is by migration 0034 (its NFC form would be 400 characters).
    const { rows } = await client.query(`insert into products (sku, name, price_cents) values ('LEGACY-NFC', $1, 1500) returning id`, [name]);
    id = Number(rows[0].id);
    await client.query('insert into product_stock (product_id, shard, available) values ($1, 0, 3)', [id]);
  } finally {
    await client.end();
  }
  const reply = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${id}`, headers: t.admin, payload: { name, priceCents: 1200 } });
  assert.equal(reply.statusCode, 200, `resending the product's own name was answered ${reply.statusCode}: ${reply.body}`);
  assert.equal(reply.json().priceCents, 1200);
});

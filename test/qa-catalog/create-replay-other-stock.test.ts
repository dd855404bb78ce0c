import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// README: "the same create sent again, every field as first sent, answers the product it made, 201 with
// Idempotent-Replayed: true"; another create under the SKU is 409 SKU_TAKEN. A create that differs in `available`
// is not the same create: answering it as a replay tells the admin (or an import script) the product now has the
// stock it asked for, while it keeps the first one.
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

it('refuses a second create of a SKU with another initial stock instead of answering it as a replay', async () => {
  const body = { sku: 'REPLAY-STOCK-1', name: 'Replay stock', priceCents: 1500 };
  const first = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { ...body, available: 5 } });
  assert.equal(first.statusCode, 201, first.body);
  assert.equal(first.json().available, 5);

  const second = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { ...body, available: 50 } });
  assert.equal(second.statusCode, 409, `a create with available 50 was answered ${second.statusCode} (idempotent-replayed: ${second.headers['idempotent-replayed']}) with available ${second.json().available}`);
  assert.equal(second.json().error.code, 'SKU_TAKEN');
  assert.equal(second.json().error.details.productId, first.json().id);
});

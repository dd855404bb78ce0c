import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../helpers/commerce.ts';

// An add (POST /cart/items) whose sum with the line passes the 1,000 units a line holds is answered 400
// VALIDATION_FAILED with a made-up schema issue at /quantity, though the body matches the schema (quantity 1 to 1,000):
// what is refused is the line's state, not the request. 400 VALIDATION_FAILED tells a client to fix its request, never
// to resend it; and the details name neither the product nor the sum, unlike OUT_OF_STOCK and PURCHASE_LIMIT_EXCEEDED
// on the same sum (details.requested). The project already has the code for this very refusal: an order whose lines of
// one product add up past 1,000 is 422 LINE_QUANTITY_TOO_LARGE, details { productId, quantity, maxQuantity }.
let t: TestApp;
let cookie: string;
let productId: number;
before(async () => {
  t = await createTestApp();
  const [id] = await insertCustomers(t.platform.db.primary, 1);
  [cookie] = (await mintSessionCookies(t.env, [id!])) as [string];
  productId = (await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'ADD-SUM-1', name: 'Mug', priceCents: 900, available: 5000 } })).json().id;
});
after(async () => {
  await t?.close();
});

it('refuses an add whose sum passes a line maximum as a state conflict naming the product and the sum, not as an invalid body', async () => {
  const put = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, headers: { cookie }, payload: { quantity: 999 } });
  assert.equal(put.statusCode, 200, put.body);
  const reply = await t.app.inject({ method: 'POST', url: '/api/v1/cart/items', headers: { cookie }, payload: { productId, quantity: 5 } });
  assert.equal(reply.statusCode, 422, reply.body);
  assert.equal(reply.json().error.code, 'LINE_QUANTITY_TOO_LARGE');
  assert.deepEqual({ ...reply.json().error.details, held: undefined }, { productId, quantity: 1004, maxQuantity: 1000, held: undefined });
});

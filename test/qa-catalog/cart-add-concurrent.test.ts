import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../helpers/commerce.ts';

// The cart API only sets a line (PUT /cart/items/:id): a client that adds (the storefront's Add to cart) reads the
// line and sets the sum, so two tabs adding at once both read the same line and one add is lost. An add must be one
// step on the server: POST /cart/items { productId, quantity } adds to the line, with PUT's checks on the sum.
let t: TestApp;
let cookie: string;
let productId: number;
before(async () => {
  t = await createTestApp();
  const [id] = await insertCustomers(t.platform.db.primary, 1);
  [cookie] = (await mintSessionCookies(t.env, [id!])) as [string];
  const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'ADD-RACE-1', name: 'Mug', priceCents: 900, available: 20 } });
  productId = product.json().id;
});
after(async () => {
  await t?.close();
});

const add = (quantity: number) => t.app.inject({ method: 'POST', url: '/api/v1/cart/items', headers: { cookie }, payload: { productId, quantity } });
const held = async () => (await t.app.inject({ url: '/api/v1/cart', headers: { cookie } })).json().items.find((item: { productId: number }) => item.productId === productId)?.quantity;

it('adds to a cart line in one step: two adds of 1 at once to an empty line leave 2', async () => {
  const replies = await Promise.all([add(1), add(1)]);
  for (const reply of replies) assert.equal(reply.statusCode, 200, reply.body);
  assert.equal(await held(), 2, 'an add was lost');
  const more = await Promise.all(Array.from({ length: 6 }, () => add(1)));
  for (const reply of more) assert.equal(reply.statusCode, 200, reply.body);
  assert.equal(await held(), 8);
});

it('checks the sum as PUT checks a quantity: past the stock is 409 OUT_OF_STOCK and the line is kept', async () => {
  const before = await held();
  const reply = await add(20);
  assert.equal(reply.statusCode, 409, reply.body);
  assert.equal(reply.json().error.code, 'OUT_OF_STOCK');
  assert.equal(reply.json().error.details.requested, before + 20);
  assert.equal(await held(), before);
});

it('counts a burst of adds to one line without CART_BUSY, and refuses those past the stock as the line reaches it', async () => {
  const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'ADD-RACE-2', name: 'Cup', priceCents: 900, available: 150 } });
  const id = created.json().id as number;
  const put = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${id}`, headers: { cookie }, payload: { quantity: 1 } });
  assert.equal(put.statusCode, 200, put.body);
  // The sum is made in the Redis script that writes it: adds to a line the cart already holds never try again.
  const replies = await Promise.all(Array.from({ length: 200 }, () => t.app.inject({ method: 'POST', url: '/api/v1/cart/items', headers: { cookie }, payload: { productId: id, quantity: 1 } })));
  const codes = replies.map((reply) => (reply.statusCode === 200 ? 'ok' : `${reply.statusCode} ${reply.json().error.code}`));
  assert.equal(codes.filter((code) => code === 'ok').length, 149, codes.filter((code) => code !== 'ok').slice(0, 3).join(', '));
  assert.equal(codes.filter((code) => code === '409 OUT_OF_STOCK').length, 51);
  const line = (await t.app.inject({ url: '/api/v1/cart', headers: { cookie } })).json().items.find((item: { productId: number }) => item.productId === id);
  assert.equal(line?.quantity, 150);
});

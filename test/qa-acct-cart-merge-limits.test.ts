import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';

// README, Cart: the guest cart "joins the account's cart at sign-in ... by the rules of adding a product: the account's
// cart stays as it is; quantities of a product in both are added (up to 1,000 and the product's maxPerCustomer)", and
// `capped` names "each line that joined at its maximum ... with the units of the two carts' sum it did not keep".
// Adding a line above the units in stock is 409 OUT_OF_STOCK, so a merge must not reach such a line either.

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

const cookieOf = (reply: { headers: Record<string, unknown> }, name: string) =>
  ([] as string[])
    .concat((reply.headers['set-cookie'] as string[] | string | undefined) ?? [])
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0];

async function accountWithLine(email: string, productId: number, quantity: number) {
  const register = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email, password: 'a long password', name: 'Merge' } });
  assert.equal(register.statusCode, 201, register.body);
  const own = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, headers: { cookie: cookieOf(register, 'salescale_sid')! }, payload: { quantity } });
  assert.equal(own.statusCode, 200, own.body);
}

async function signInWithGuestLine(email: string, productId: number, quantity: number) {
  const guestPut = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, payload: { quantity } });
  assert.equal(guestPut.statusCode, 200, guestPut.body);
  const login = await t.app.inject({ method: 'POST', url: '/api/v1/sessions', headers: { cookie: cookieOf(guestPut, 'salescale_guest')! }, payload: { email, password: 'a long password' } });
  assert.equal(login.statusCode, 200, login.body);
  const cart = (await t.app.inject({ method: 'GET', url: '/api/v1/cart', headers: { cookie: cookieOf(login, 'salescale_sid')! } })).json();
  return { cartMerge: login.json().cartMerge, lines: cart.items.map((item: { productId: number; quantity: number }) => [item.productId, item.quantity]) };
}

it('merges a product in both carts at sign-in up to the units in stock, as adding it would, and reports the units it did not keep', async () => {
  const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'merge-stock', name: 'Stock', priceCents: 100, available: 5 } });
  const id = product.json().id as number;
  const tooMany = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${id}`, payload: { quantity: 7 } });
  assert.equal(tooMany.statusCode, 409, tooMany.body);
  await accountWithLine('merge-stock@example.com', id, 3);
  const { cartMerge, lines } = await signInWithGuestLine('merge-stock@example.com', id, 4);
  assert.deepEqual({ cartMerge, lines }, { cartMerge: { merged: 1, left: [], capped: [{ productId: id, quantity: 5, dropped: 2 }] }, lines: [[id, 5]] });
});

it("keeps the account's own line as it is when a per-customer cap was lowered below it, capping only the guest's units", async () => {
  const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'merge-lowered', name: 'Lowered', priceCents: 100, available: 50 } });
  const id = product.json().id as number;
  await accountWithLine('merge-lowered@example.com', id, 4);
  const lowered = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${id}`, headers: t.admin, payload: { maxPerCustomer: 2 } });
  assert.equal(lowered.statusCode, 200, lowered.body);
  const { cartMerge, lines } = await signInWithGuestLine('merge-lowered@example.com', id, 1);
  assert.deepEqual(
    { cartMerge, lines },
    { cartMerge: { merged: 1, left: [], capped: [{ productId: id, quantity: 4, dropped: 1 }] }, lines: [[id, 4]] },
    "the account's 4 units stay; only the guest's 1 unit is not kept",
  );
});

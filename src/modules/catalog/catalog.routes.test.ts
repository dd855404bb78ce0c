import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

async function createProduct(body: Record<string, unknown>) {
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: body });
  assert.equal(response.statusCode, 201, response.body);
  return response.json();
}

describe('catalog API', () => {
  it('creates a product and serves it publicly with its stock', async () => {
    const created = await createProduct({ sku: 'TSHIRT-1', name: 'Sale T-shirt', priceCents: 1999, available: 7 });
    assert.deepEqual(created, {
      id: created.id,
      sku: 'TSHIRT-1',
      name: 'Sale T-shirt',
      description: '',
      priceCents: 1999,
      currency: 'USD',
      categoryId: null,
      status: 'active',
      available: 7,
    });
    const read = await t.app.inject({ method: 'GET', url: `/api/v1/products/${created.id}` });
    assert.equal(read.statusCode, 200);
    assert.deepEqual(read.json(), created);
  });

  it('serves an admin update at once, without waiting for the cache TTL', async () => {
    const product = await createProduct({ sku: 'MUG-1', name: 'Mug', priceCents: 500 });
    assert.equal((await t.app.inject({ url: `/api/v1/products/${product.id}` })).json().priceCents, 500); // now cached
    const patch = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${product.id}`, headers: t.admin, payload: { priceCents: 450 } });
    assert.equal(patch.statusCode, 200);
    assert.equal((await t.app.inject({ url: `/api/v1/products/${product.id}` })).json().priceCents, 450);
    const stock = await t.app.inject({ method: 'PUT', url: `/api/v1/admin/products/${product.id}/stock`, headers: t.admin, payload: { available: 3 } });
    assert.equal(stock.json().available, 3);
    assert.equal((await t.app.inject({ url: `/api/v1/products/${product.id}` })).json().available, 3);
  });

  it('hides archived and draft products from shoppers but not from admins', async () => {
    const product = await createProduct({ sku: 'OLD-1', name: 'Old', priceCents: 100 });
    const archived = await t.app.inject({ method: 'POST', url: `/api/v1/admin/products/${product.id}/archive`, headers: t.admin });
    assert.equal(archived.json().status, 'archived');
    const publicRead = await t.app.inject({ url: `/api/v1/products/${product.id}` });
    assert.equal(publicRead.statusCode, 404);
    assert.equal(publicRead.json().error.code, 'PRODUCT_NOT_FOUND');
    const draft = await createProduct({ sku: 'NEW-1', name: 'Soon', priceCents: 100, status: 'draft' });
    assert.equal((await t.app.inject({ url: `/api/v1/products/${draft.id}` })).statusCode, 404);
    assert.equal((await t.app.inject({ url: `/api/v1/admin/products/${draft.id}`, headers: t.admin })).json().status, 'draft');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { request, type Json } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';

// Two `salescale serve` processes on their own ports, one database and one Redis.
let t: TestApp;
let a: Instance;
let b: Instance;
before(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([startInstance({ env: t.env }), startInstance({ env: t.env })]);
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await t?.close();
});

const admin = () => ({ authorization: t.admin.authorization });
const priceIn = (listing: Json, id: number) => listing.items.find((p: Json) => p.id === id)?.priceCents;

describe('two web instances', () => {
  it('serve an update made through A from B at once, although B had it cached', async () => {
    const created = await request(`${a.url}/api/v1/admin/products`, { method: 'POST', headers: admin(), body: { sku: 'SHARED-1', name: 'Shared', priceCents: 1000, available: 5 } });
    assert.equal(created.status, 201);
    const { id } = created.body;

    // Warm B's view (cache) of the product and of the listing.
    assert.equal((await request(`${b.url}/api/v1/products/${id}`)).body.priceCents, 1000);
    assert.equal(priceIn((await request(`${b.url}/api/v1/products?limit=100`)).body, id), 1000);

    for (const price of [900, 800, 700]) {
      const patched = await request(`${a.url}/api/v1/admin/products/${id}`, { method: 'PATCH', headers: admin(), body: { priceCents: price } });
      assert.equal(patched.status, 200);
      assert.equal((await request(`${b.url}/api/v1/products/${id}`)).body.priceCents, price);
      assert.equal(priceIn((await request(`${b.url}/api/v1/products?limit=100`)).body, id), price);
    }

    const stock = await request(`${b.url}/api/v1/admin/products/${id}/stock`, { method: 'PUT', headers: admin(), body: { available: 0 } });
    assert.equal(stock.status, 200);
    assert.equal((await request(`${a.url}/api/v1/products/${id}`)).body.available, 0);

    const archived = await request(`${a.url}/api/v1/admin/products/${id}/archive`, { method: 'POST', headers: admin() });
    assert.equal(archived.status, 200);
    assert.equal((await request(`${b.url}/api/v1/products/${id}`)).status, 404);
  });

  it('share category changes: a category created on B filters listings on A', async () => {
    const category = await request(`${b.url}/api/v1/admin/categories`, { method: 'POST', headers: admin(), body: { slug: 'flash', name: 'Flash deals' } });
    assert.equal(category.status, 201);
    assert.deepEqual((await request(`${a.url}/api/v1/products?category=flash`)).body.items, []); // now cached as empty on A
    const product = await request(`${b.url}/api/v1/admin/products`, { method: 'POST', headers: admin(), body: { sku: 'FLASH-1', name: 'Deal', priceCents: 1, categoryId: category.body.id } });
    assert.equal(product.status, 201);
    const listing = await request(`${a.url}/api/v1/products?category=flash`);
    assert.deepEqual(listing.body.items.map((p: Json) => p.sku), ['FLASH-1']);
  });

  it('run their migrations concurrently without conflict', async () => {
    const { runMigrations } = await import('../src/platform/db/migrate.ts');
    const applied = await Promise.all([runMigrations(t.database.url), runMigrations(t.database.url), runMigrations(t.database.url)]);
    assert.deepEqual(applied, [0, 0, 0]);
  });
});

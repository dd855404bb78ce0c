import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// The branch normalizes `q` (NFC) so that text pasted in another form still finds the name, but does not trim it:
// a query pasted with the blank around it (" crème " copied from a page or a spreadsheet cell) searches for
// "% crème %" and misses "Crème brûlée", and a `q` of only a space passes minLength and matches every name with a
// space. The storefront trims its `q` (storefront.routes.ts) before calling the same service; the API does not.
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

it('finds a product by a name search pasted with blanks around it, as the storefront does', async () => {
  const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'TRIM-Q-1', name: 'Cr\u00e8me br\u00fbl\u00e9e', priceCents: 900, available: 3 } });
  assert.equal(created.statusCode, 201, created.body);
  const reply = await t.app.inject({ url: `/api/v1/products?q=${encodeURIComponent(' cr\u00e8me ')}` });
  assert.equal(reply.statusCode, 200, reply.body);
  assert.deepEqual(
    reply.json().items.map((p: { id: number }) => p.id),
    [created.json().id],
    'a q with blanks around it misses the product its words name',
  );
});

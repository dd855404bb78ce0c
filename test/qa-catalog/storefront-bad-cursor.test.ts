import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// README ("Input"): the storefront's pages check the parameters they read, and "a query string they cannot read" is
// answered with the shop's 400 page. The catalog page reads `cursor`; one that is not a cursor of ours (a link cut
// short, edited) is refused by the API (400 INVALID_CURSOR), but the page swallows the error and answers 200
// "No products found", as if the shop were empty.
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

it('answers a catalog page whose cursor it cannot read with the 400 page, not an empty shop', async () => {
  for (let i = 1; i <= 3; i++) {
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `CUR-${i}`, name: `Cursor ${i}`, priceCents: 100, available: 1 } });
    assert.equal(reply.statusCode, 201, reply.body);
  }
  assert.equal((await t.app.inject({ url: '/api/v1/products?cursor=not-a-cursor' })).statusCode, 400);
  const page = await t.app.inject({ url: '/?cursor=not-a-cursor' });
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.equal(page.statusCode, 400, `the page answered ${page.statusCode}: ${page.body.match(/<h1[^>]*>[^<]*<\/h1>\s*<p>[^<]*/)?.[0]}`);
});

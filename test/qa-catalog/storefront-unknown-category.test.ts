import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// A storefront link to a category that does not exist (a slug mistyped, a category renamed or deleted since the link
// was shared) names nothing the shop has: like /products/<id that does not exist>, it is the 404 page, not a 200
// "No products found" that tells the shopper (and a search engine) the category exists and is empty.
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

it('answers a catalog page for a category slug that does not exist with the 404 page, and an empty existing one with 200', async () => {
  const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/categories', headers: t.admin, payload: { slug: 'empty-shelf', name: 'Empty shelf' } });
  assert.equal(created.statusCode, 201, created.body);
  const empty = await t.app.inject({ url: '/?category=empty-shelf' });
  assert.equal(empty.statusCode, 200, empty.body.slice(0, 200));
  assert.match(empty.body, /No products found/);

  const unknown = await t.app.inject({ url: '/?category=no-such-shelf' });
  assert.match(String(unknown.headers['content-type']), /^text\/html/);
  assert.equal(unknown.statusCode, 404, `the page answered ${unknown.statusCode}: ${unknown.body.match(/<h1[^>]*>[^<]*<\/h1>\s*<p>[^<]*/)?.[0]}`);
});

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// GET /products and /products/popular take `limit` as optional (default 20): a request without it is answered.
// The OpenAPI document must say so, or every client generated from /docs/json forces callers to pass it.
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

it('documents the optional `limit` of the product listings as not required, as the routes take it', async () => {
  const docs = (await t.app.inject({ url: '/docs/json' })).json();
  for (const path of ['/api/v1/products', '/api/v1/products/popular']) {
    const reply = await t.app.inject({ url: path });
    assert.equal(reply.statusCode, 200, `${path} without limit: ${reply.body}`);
    const limit = docs.paths[path].get.parameters.find((p: { name: string }) => p.name === 'limit');
    assert.ok(limit, `${path} documents limit`);
    assert.equal(limit.schema.default, 20);
    assert.notEqual(limit.required, true, `${path}: /docs/json marks limit as required, yet the route answers without it`);
  }
});

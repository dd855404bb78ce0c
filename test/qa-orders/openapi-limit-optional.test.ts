import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../helpers/commerce.ts';
import type { Json } from '../helpers/http.ts';

/**
 * README "API overview": `GET /orders` (`limit`, `cursor`) and `GET /admin/orders` (`status`, …, `limit`, `cursor`)
 * page with an optional `limit` (default 20), and the server answers a request without it. The OpenAPI document at
 * /docs/json must say the same: a parameter marked `required: true` makes generated clients demand it, and OpenAPI
 * says a `default` is only meaningful for an optional parameter.
 */
describe('OpenAPI: the orders lists take an optional limit', () => {
  let t: TestApp;
  let cookie: string;

  before(async () => {
    t = await createTestApp();
    const [id] = await insertCustomers(t.platform.db.primary, 1, 'qa-limit');
    [cookie] = (await mintSessionCookies(t.env, [id!])) as [string];
  });
  after(() => t.close());

  for (const { path, headers } of [
    { path: '/api/v1/orders', headers: () => ({ cookie }) },
    { path: '/api/v1/admin/orders', headers: () => t.admin },
  ]) {
    it(`GET ${path} is served without limit, and /docs/json does not mark limit required`, async () => {
      const served = await t.app.inject({ method: 'GET', url: path, headers: headers() });
      assert.equal(served.statusCode, 200, served.body);

      const doc: Json = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
      const limit = (doc.paths[path].get.parameters as Json[]).find((p) => p.in === 'query' && p.name === 'limit');
      assert.ok(limit, `${path} documents a limit parameter`);
      assert.equal(limit.schema?.default, 20);
      assert.notEqual(limit.required, true, `${path}: limit has a default and is not required by the server, yet /docs/json marks it required`);
    });
  }
});

/**
 * The same for every route: a query parameter with a `default` is one the server fills in when the request leaves it
 * out, so /docs/json must not mark it required. Each list documents its `limit` so (products, popular products,
 * orders, admin orders, admin actions, admin sale events).
 */
describe('OpenAPI: no defaulted query parameter is required', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('marks no query parameter with a default required, and the lists all have one', async () => {
    const doc: Json = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const defaulted: string[] = [];
    const wronglyRequired: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const p of (operation.parameters ?? []) as Json[]) {
          if (p.in !== 'query' || p.schema?.default === undefined) continue;
          defaulted.push(`${method.toUpperCase()} ${path} ${p.name}`);
          if (p.required === true) wronglyRequired.push(`${method.toUpperCase()} ${path} ${p.name}`);
        }
      }
    }
    for (const list of ['/api/v1/products', '/api/v1/products/popular', '/api/v1/orders', '/api/v1/admin/orders', '/api/v1/admin/actions', '/api/v1/admin/sale-events']) {
      assert.ok(defaulted.includes(`GET ${list} limit`), `${list} documents a defaulted limit; found: ${defaulted.join(', ')}`);
    }
    assert.deepEqual(wronglyRequired, [], 'query parameters with a default marked required in /docs/json');
  });

  it('serves each list without a limit', async () => {
    for (const url of ['/api/v1/products', '/api/v1/products/popular', '/api/v1/admin/actions', '/api/v1/admin/sale-events']) {
      const reply = await t.app.inject({ method: 'GET', url, headers: t.admin });
      assert.equal(reply.statusCode, 200, `${url}: ${reply.body}`);
    }
  });
});

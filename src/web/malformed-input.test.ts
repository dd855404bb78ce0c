import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { sendRaw } from '../../test/helpers/sockets.ts';

let t: TestApp;
let productId: number;
before(async () => {
  t = await createTestApp({ BODY_LIMIT_BYTES: '4096' });
  const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'BASE-1', name: 'Base', priceCents: 100 } });
  productId = created.json().id;
});
after(async () => {
  await t?.close();
});

type Case = { name: string; method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'; url: string; payload?: unknown; headers?: Record<string, string>; status: number; code: string };

function cases(): Case[] {
  const admin = t.admin;
  const json = { ...admin, 'content-type': 'application/json' };
  return [
    { name: 'wrong type in a body', method: 'POST', url: '/api/v1/admin/products', headers: admin, payload: { sku: 'A-1', name: 'A', priceCents: '100' }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'negative price', method: 'POST', url: '/api/v1/admin/products', headers: admin, payload: { sku: 'A-2', name: 'A', priceCents: -1 }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'fractional price', method: 'POST', url: '/api/v1/admin/products', headers: admin, payload: { sku: 'A-3', name: 'A', priceCents: 1.5 }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'unknown field (mass assignment)', method: 'POST', url: '/api/v1/admin/products', headers: admin, payload: { sku: 'A-4', name: 'A', priceCents: 1, id: 99, popularity: 1e6 }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'missing required field', method: 'POST', url: '/api/v1/admin/products', headers: admin, payload: { sku: 'A-5' }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'empty patch', method: 'PATCH', url: `/api/v1/admin/products/${productId}`, headers: admin, payload: {}, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'unknown field in a patch', method: 'PATCH', url: `/api/v1/admin/products/${productId}`, headers: admin, payload: { sku: 'CHANGED' }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'negative stock', method: 'PUT', url: `/api/v1/admin/products/${productId}/stock`, headers: admin, payload: { available: -3 }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'invalid JSON', method: 'POST', url: '/api/v1/admin/products', headers: json, payload: '{"sku": "A-6",', status: 400, code: 'INVALID_JSON' },
    { name: 'huge body', method: 'POST', url: '/api/v1/admin/products', headers: json, payload: JSON.stringify({ sku: 'A-7', name: 'x'.repeat(10_000), priceCents: 1 }), status: 413, code: 'PAYLOAD_TOO_LARGE' },
    { name: 'unsupported content type', method: 'POST', url: '/api/v1/admin/products', headers: { ...admin, 'content-type': 'text/xml' }, payload: '<p/>', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'non-numeric id', url: '/api/v1/products/abc', status: 400, code: 'VALIDATION_FAILED' },
    { name: 'id out of range', url: '/api/v1/products/0', status: 400, code: 'VALIDATION_FAILED' },
    { name: 'limit above 100', url: '/api/v1/products?limit=101', status: 400, code: 'VALIDATION_FAILED' },
    { name: 'limit not a number', url: '/api/v1/products?limit=ten', status: 400, code: 'VALIDATION_FAILED' },
    { name: 'negative price filter', url: '/api/v1/products?minPrice=-5', status: 400, code: 'VALIDATION_FAILED' },
    { name: 'unknown query parameter', url: '/api/v1/products?sort=evil', status: 400, code: 'VALIDATION_FAILED' },
    { name: 'garbage cursor', url: '/api/v1/products?cursor=not-a-cursor', status: 400, code: 'INVALID_CURSOR' },
    { name: 'forged cursor', url: `/api/v1/products?cursor=${Buffer.from('{"after":-1}').toString('base64url')}`, status: 400, code: 'INVALID_CURSOR' },
    { name: 'inverted price range', url: '/api/v1/products?minPrice=500&maxPrice=100', status: 422, code: 'INVALID_PRICE_RANGE' },
    { name: 'unknown category filter', url: '/api/v1/products?category=nope', status: 422, code: 'UNKNOWN_CATEGORY' },
    { name: 'unknown product', url: '/api/v1/products/999999', status: 404, code: 'PRODUCT_NOT_FOUND' },
    { name: 'unknown route', url: '/api/v1/nothing-here', status: 404, code: 'ROUTE_NOT_FOUND' },
    { name: 'NUL byte in a search', url: '/api/v1/products?q=%00', status: 400, code: 'VALIDATION_FAILED' },
    { name: 'NUL byte in a body string', method: 'POST', url: '/api/v1/customers', payload: { email: 'nul@example.com', password: 'a-long-password-1', name: 'a\u0000b' }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'unpaired surrogate in a body string', method: 'POST', url: '/api/v1/admin/products', headers: admin, payload: { sku: 'A-10', name: 'a\ud800', priceCents: 1 }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'NUL byte in a JSON key', method: 'POST', url: '/api/v1/admin/products', headers: json, payload: '{"sku":"A-11","name":"A","priceCents":1,"x\\u0000":1}', status: 400, code: 'VALIDATION_FAILED' },
    { name: 'query on a route that takes none', url: '/api/v1/categories?debug=1', status: 400, code: 'VALIDATION_FAILED' },
    { name: 'prototype key in a query', url: '/api/v1/categories?__proto__[x]=1', status: 400, code: 'VALIDATION_FAILED' },
    { name: 'prototype key in a query with a schema', url: '/api/v1/products?__proto__[limit]=1', status: 400, code: 'VALIDATION_FAILED' },
    { name: 'prototype key in a JSON body', method: 'POST', url: '/api/v1/admin/products', headers: json, payload: '{"sku":"A-12","name":"A","priceCents":1,"__proto__":{"admin":true}}', status: 400, code: 'INVALID_JSON' },
    { name: 'over-long path parameter', url: `/api/v1/products/${'9'.repeat(500)}`, status: 414, code: 'URI_TOO_LONG' },
    { name: 'malformed percent-encoding in the path', url: '/api/v1/products/%E0%A4%A', status: 400, code: 'BAD_URL' },
    // The route exists for GET; the static files plugin found no such file (was a 405 saying GET is not allowed).
    { name: 'a missing file of the API docs', url: '/docs/static/no-such-file.js', status: 404, code: 'ROUTE_NOT_FOUND' },
    { name: 'method the route does not have', method: 'DELETE', url: '/api/v1/categories', status: 405, code: 'METHOD_NOT_ALLOWED' },
    { name: 'admin without token', method: 'POST', url: '/api/v1/admin/products', payload: { sku: 'A-8', name: 'A', priceCents: 1 }, status: 401, code: 'UNAUTHENTICATED' },
    { name: 'admin with a wrong token', method: 'GET', url: '/api/v1/admin/categories', headers: { authorization: 'Bearer wrong-token' }, status: 401, code: 'INVALID_TOKEN' },
    // A Bearer credential that is malformed is an invalid token (RFC 6750 3.1), the right token followed by more words included.
    { name: 'admin with the token and a trailing word', method: 'GET', url: '/api/v1/admin/categories', headers: { authorization: `${admin.authorization} extra` }, status: 401, code: 'INVALID_TOKEN' },
    { name: 'admin with the Bearer scheme and no token', method: 'GET', url: '/api/v1/admin/categories', headers: { authorization: 'Bearer ' }, status: 401, code: 'INVALID_TOKEN' },
    { name: 'category referencing a missing parent', method: 'POST', url: '/api/v1/admin/categories', headers: admin, payload: { slug: 'orphan', name: 'Orphan', parentId: 424242 }, status: 422, code: 'UNKNOWN_CATEGORY' },
    { name: 'bad category slug', method: 'POST', url: '/api/v1/admin/categories', headers: admin, payload: { slug: 'Not A Slug', name: 'x' }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'product in a missing category', method: 'POST', url: '/api/v1/admin/products', headers: admin, payload: { sku: 'A-9', name: 'A', priceCents: 1, categoryId: 424242 }, status: 422, code: 'UNKNOWN_CATEGORY' },
    { name: 'sale event that ends before it starts', method: 'POST', url: '/api/v1/admin/sale-events', headers: admin, payload: { name: 'BF', startsAt: '2026-11-27T10:00:00Z', endsAt: '2026-11-27T09:00:00Z' }, status: 422, code: 'INVALID_SALE_WINDOW' },
    { name: 'sale event with a bad date', method: 'POST', url: '/api/v1/admin/sale-events', headers: admin, payload: { name: 'BF', startsAt: 'friday', endsAt: '2026-11-27T09:00:00Z' }, status: 400, code: 'VALIDATION_FAILED' },
    // RFC 3339 admits these, JavaScript's Date cannot read them (they were a 500).
    { name: 'sale event starting on a leap second', method: 'POST', url: '/api/v1/admin/sale-events', headers: admin, payload: { name: 'BF', startsAt: '2030-06-30T23:59:60Z', endsAt: '2030-07-01T01:00:00Z' }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'sale event ending at an hour-only offset', method: 'POST', url: '/api/v1/admin/sale-events', headers: admin, payload: { name: 'BF', startsAt: '2030-06-30T00:00:00Z', endsAt: '2030-07-01T00:00:00+01' }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'sale events live at a leap second', url: '/api/v1/admin/sale-events?activeAt=2016-12-31T23:59:60Z', headers: admin, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'orders created from a leap second', url: '/api/v1/admin/orders?from=2016-12-31T23:59:60Z', headers: admin, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'orders created before an hour-only offset', url: '/api/v1/admin/orders?to=2030-01-01T00:00:00%2B01', headers: admin, status: 400, code: 'VALIDATION_FAILED' },
    // Years PostgreSQL refuses, or that Drizzle reads back as another year (0001 → 2001).
    { name: 'sale event in year 1', method: 'POST', url: '/api/v1/admin/sale-events', headers: admin, payload: { name: 'BF', startsAt: '0001-01-01T00:00:00Z', endsAt: '0001-01-02T00:00:00Z' }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'sale event ending in year 10000 (by its offset)', method: 'POST', url: '/api/v1/admin/sale-events', headers: admin, payload: { name: 'BF', startsAt: '2030-01-01T00:00:00Z', endsAt: '9999-12-31T23:59:59-01:00' }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'orders created from year 0', url: '/api/v1/admin/orders?from=0000-01-01T00:00:00Z', headers: admin, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'sale event with a zero multiplier', method: 'POST', url: '/api/v1/admin/sale-events', headers: admin, payload: { name: 'BF', startsAt: '2026-11-27T00:00:00Z', endsAt: '2026-11-28T00:00:00Z', trafficMultiplier: 0 }, status: 400, code: 'VALIDATION_FAILED' },
    { name: 'sale event with unknown products', method: 'POST', url: '/api/v1/admin/sale-events', headers: admin, payload: { name: 'BF', startsAt: '2026-11-27T00:00:00Z', endsAt: '2026-11-28T00:00:00Z', productIds: [424242] }, status: 422, code: 'UNKNOWN_PRODUCT' },
  ];
}

/**
 * The routes of `printRoutes({ commonPrefix: false })`, one per method: each line of its tree is a path piece
 * appended to its parent's, followed by the methods it serves.
 */
function listRoutes(tree: string): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([ \u2502]*)[\u251c\u2514]\u2500\u2500 (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = (stack[depth - 1] ?? '') + match[2]!;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, path });
  }
  return routes;
}

describe('malformed input', () => {
  it('refuses a JSON body sent as text/plain with 415 UNSUPPORTED_MEDIA_TYPE, as text/xml is (not 400 "must be object")', async () => {
    const reply = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/cart/items/${productId}`,
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ quantity: 1 }),
    });
    assert.equal(reply.statusCode, 415, `a body of the wrong media type was answered ${reply.statusCode}: ${reply.body}`);
    assert.equal(reply.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  // RFC 9110 §8.4.1, §15.5.16: a body in a content coding the server does not decode is a 415. It was read as if not
  // encoded: a real gzip body was 400 INVALID_JSON, and plain JSON labelled gzip was taken.
  it('refuses a body in any content coding but identity with 415 UNSUPPORTED_CONTENT_ENCODING, on every route, before reading it', async () => {
    const { gzipSync } = await import('node:zlib');
    const product = JSON.stringify({ sku: 'GZ-1', name: 'Zipped', priceCents: 100 });
    const requests = [
      { url: '/api/v1/admin/products', headers: { ...t.admin, 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipSync(product) },
      ...['gzip', 'deflate', 'br', 'zstd', 'x-custom', 'GZIP', 'identity, gzip'].map((coding) => ({
        url: '/api/v1/admin/products',
        headers: { ...t.admin, 'content-type': 'application/json', 'content-encoding': coding },
        payload: product,
      })),
      { url: '/api/v1/payments/webhooks/test', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipSync('{"id":"evt_1"}') },
    ];
    for (const request of requests) {
      const reply = await t.app.inject({ method: 'POST', ...request });
      const label = `${request.url} ${request.headers['content-encoding']}`;
      assert.equal(reply.statusCode, 415, `${label}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'UNSUPPORTED_CONTENT_ENCODING', label);
      assert.equal(reply.headers['accept-encoding'], 'identity', label);
      assert.equal(reply.json().error.requestId, reply.headers['x-request-id'], label);
    }
    assert.equal((await t.app.inject({ url: '/api/v1/products?q=zipped' })).json().items.length, 0);
    // identity is no coding; a request without a body has nothing encoded.
    const plain = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: { ...t.admin, 'content-type': 'application/json', 'content-encoding': 'identity' }, payload: product });
    assert.equal(plain.statusCode, 201, plain.body);
    // Codings are case-insensitive, and identity listed twice is still no coding.
    for (const [i, coding] of ['Identity', 'identity, identity'].entries()) {
      const payload = JSON.stringify({ sku: `ID-${i}`, name: 'Identity', priceCents: 100 });
      const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: { ...t.admin, 'content-type': 'application/json', 'content-encoding': coding }, payload });
      assert.equal(reply.statusCode, 201, `${coding}: ${reply.body}`);
    }
    const read = await t.app.inject({ url: `/api/v1/products/${productId}`, headers: { 'content-encoding': 'gzip' } });
    assert.equal(read.statusCode, 200, read.body);
  });

  // RFC 8259 §8.1: JSON exchanged between systems is UTF-8, and a charset parameter has no effect. A body that is not
  // UTF-8 (a legacy system's Latin-1 or Windows-1252) was decoded with U+FFFD for each byte it could not read, and a
  // product named "José" was stored as "Jos\uFFFD", answered 201.
  it('refuses a JSON body that is not UTF-8 with 400 BODY_NOT_UTF8 and writes nothing; a UTF-8 one is read whatever charset it names', async () => {
    const latin1 = Buffer.concat([Buffer.from('{"sku":"UTF-1","name":"Jos'), Buffer.from([0xe9]), Buffer.from('","priceCents":100}')]);
    for (const contentType of ['application/json', 'application/json; charset=iso-8859-1']) {
      const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: { ...t.admin, 'content-type': contentType }, payload: latin1 });
      assert.equal(reply.statusCode, 400, `${contentType}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'BODY_NOT_UTF8', contentType);
    }
    const listed = await t.app.inject({ url: '/api/v1/admin/products?q=UTF-1', headers: t.admin });
    assert.deepEqual(listed.json().items, [], 'nothing written');
    const utf8 = JSON.stringify({ sku: 'UTF-2', name: 'José', priceCents: 100 });
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: { ...t.admin, 'content-type': 'application/json; charset=latin1' }, payload: utf8 });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().name, 'José');
  });

  it('is refused with the documented error shape and a stable code, for every kind', async () => {
    for (const c of cases()) {
      const response = await t.app.inject({ method: c.method ?? 'GET', url: c.url, headers: c.headers, payload: c.payload as string | object | undefined });
      assert.equal(response.statusCode, c.status, `${c.name}: ${response.body}`);
      const body = response.json();
      assert.equal(body.error.code, c.code, `${c.name}: ${response.body}`);
      assert.equal(typeof body.error.message, 'string', c.name);
      assert.equal(body.error.requestId, response.headers['x-request-id'], c.name);
      assert.doesNotMatch(response.body, /\bat \S+ \(|node_modules|stack/i, `${c.name} leaks internals`);
    }
  });

  it('refuses every admin route and the queue dashboard without the admin token or with a wrong one, as the route table lists them', async () => {
    const routes = listRoutes(t.app.printRoutes({ commonPrefix: false })).filter((r) => r.path.startsWith('/api/v1/admin') || r.path.startsWith('/admin'));
    const apiPaths = new Set(routes.map((r) => r.path).filter((path) => path.startsWith('/api/v1/admin')));
    assert.ok(apiPaths.size >= 15, `the admin API's routes were found in the route table (${[...apiPaths].join(', ')})`);
    assert.ok(routes.some((r) => r.path.startsWith('/admin/queues')), 'the queue dashboard was found in the route table');
    // The OpenAPI document names no admin path the route table parsed here missed.
    const document = (await t.app.inject({ url: '/docs/json' })).json() as { paths: Record<string, unknown> };
    for (const template of Object.keys(document.paths).filter((path) => path.startsWith('/api/v1/admin'))) {
      assert.ok(apiPaths.has(template.replace(/\{(\w+)\}/g, ':$1')), `${template} is in the route table`);
    }
    const placeholders: Record<string, string> = { queueName: 'email', jobId: '1', '*': 'api/queues' };
    let checked = 0;
    for (const { method, path } of routes) {
      const url = path.replace(/:(\w+)|\*/g, (whole, name?: string) => placeholders[name ?? whole] ?? '1');
      const payload = ['POST', 'PUT', 'PATCH'].includes(method) ? { payload: {} } : {};
      for (const [headers, code] of [
        [{}, 'UNAUTHENTICATED'],
        [{ authorization: 'Bearer not-the-admin-token' }, 'INVALID_TOKEN'],
        [{ authorization: `Basic ${Buffer.from(`admin:${t.admin.authorization.slice('Bearer '.length)}`).toString('base64')}` }, 'UNAUTHENTICATED'],
      ] as const) {
        const reply = await t.app.inject({ method: method as 'GET', url, headers, ...payload });
        assert.equal(reply.statusCode, 401, `${method} ${url} (${code}): ${reply.statusCode} ${reply.body}`);
        assert.match(String(reply.headers['www-authenticate']), /^Bearer /, `${method} ${url}`);
        if (method !== 'HEAD') assert.equal(reply.json().error.code, code, `${method} ${url}`);
        checked++;
      }
    }
    assert.ok(checked >= 3 * 40, `every admin route and method was checked (${checked} requests)`);
  });

  it('refuses every spelling of an integer path parameter but plain decimal digits, on every route that has one', async () => {
    const document = (await t.app.inject({ url: '/docs/json' })).json() as {
      paths: Record<string, Record<string, { parameters?: { in: string; name: string; schema: { type?: string } }[] }>>;
    };
    const placeholders: Record<string, string> = { ticket: 'ticket', token: '1.abc', provider: 'test' };
    let checked = 0;
    for (const [template, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const integers = (operation.parameters ?? []).filter((p) => p.in === 'path' && p.schema.type === 'integer').map((p) => p.name);
        if (integers.length === 0) continue;
        for (const spelling of ['0x1', '+1', '01', '1e0', '1.0', '%201']) {
          const url = template.replace(/\{(\w+)\}/g, (_, name: string) => (integers.includes(name) ? spelling : (placeholders[name] ?? 'x')));
          const reply = await t.app.inject({
            method: method.toUpperCase() as 'GET',
            url,
            headers: { ...t.admin },
            ...(['post', 'put', 'patch'].includes(method) ? { payload: {} } : {}),
          });
          assert.equal(reply.statusCode, 400, `${method} ${url}: ${reply.body}`);
          assert.equal(reply.json().error.code, 'VALIDATION_FAILED', `${method} ${url}`);
          assert.equal(reply.json().error.details.in, 'params', `${method} ${url}`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 6 * 20, `every :id route was checked (${checked} requests)`);
    // The storefront's pages (not in the API document) parse their ids the same way, and answer a shopper's page:
    // such an id names nothing, a 404 (see storefront.routes.test.ts).
    for (const url of ['/products/0x1', '/orders/+1', '/sale/01/queue']) assert.equal((await t.app.inject({ url })).statusCode, 404, url);
  });

  it('writes nothing when a request is refused', async () => {
    const before = await t.platform.db.primary.execute('SELECT count(*)::int AS n FROM products');
    for (const c of cases()) await t.app.inject({ method: c.method ?? 'GET', url: c.url, headers: c.headers, payload: c.payload as string | object | undefined });
    const afterCount = await t.platform.db.primary.execute('SELECT count(*)::int AS n FROM products');
    assert.deepEqual(afterCount.rows, before.rows);
    const events = await t.platform.db.primary.execute('SELECT count(*)::int AS n FROM sale_events');
    assert.deepEqual(events.rows, [{ n: 0 }]);
  });

  it('rejects a duplicate SKU with 409 and keeps the first product', async () => {
    const first = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'DUP-1', name: 'First', priceCents: 1 } });
    assert.equal(first.statusCode, 201);
    const second = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'DUP-1', name: 'Second', priceCents: 2 } });
    assert.equal(second.statusCode, 409);
    assert.equal(second.json().error.code, 'SKU_TAKEN');
    assert.equal((await t.app.inject({ url: `/api/v1/products/${first.json().id}` })).json().name, 'First');
  });

  it('refuses a category whose parent would be itself (its own next id), and lists categories afterwards', async () => {
    const first = await t.app.inject({ method: 'POST', url: '/api/v1/admin/categories', headers: t.admin, payload: { slug: 'self-0', name: 'Self 0' } });
    assert.equal(first.statusCode, 201, first.body);
    const selfParent = await t.app.inject({ method: 'POST', url: '/api/v1/admin/categories', headers: t.admin, payload: { slug: 'self-1', name: 'Self 1', parentId: first.json().id + 1 } });
    assert.equal(selfParent.statusCode, 422, selfParent.body);
    assert.equal(selfParent.json().error.code, 'CATEGORY_CYCLE');
    assert.equal((await t.app.inject({ url: '/api/v1/products?category=self-0' })).statusCode, 200);
  });

  it('refuses a malformed percent-encoding in the query string with 400 BAD_URL, as in the path (not searched as literal text)', async () => {
    // README, Router: "a malformed percent-encoding, 400 BAD_URL". The path gets it; the query string is taken as is.
    for (const url of ['/api/v1/products?q=%E0%A4%A', '/api/v1/products?q=%ZZ', '/api/v1/admin/sale-events?cursor=%E0%A4%A']) {
      const reply = await t.app.inject({ url, headers: t.admin });
      assert.equal(reply.statusCode, 400, `${url} was answered ${reply.statusCode}: ${reply.body.slice(0, 200)}`);
      assert.equal(reply.json().error.code, 'BAD_URL', url);
    }
  });

  it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
    const given = await t.app.inject({ url: '/api/v1/products/999999', headers: { 'x-request-id': 'lb-abc-123' } });
    assert.equal(given.headers['x-request-id'], 'lb-abc-123');
    assert.equal(given.json().error.requestId, 'lb-abc-123');
    const unsafe = await t.app.inject({ url: '/api/v1/products/999999', headers: { 'x-request-id': 'a b\u0000<script>' } });
    assert.match(String(unsafe.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });
});

describe('requests Node refuses before routing (real sockets)', () => {
  let s: TestApp;
  let port: number;
  before(async () => {
    s = await createTestApp({ REQUEST_TIMEOUT_MS: '1000' }, (app) => {
      app.get('/test/slow-reply', { schema: { hide: true } }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        return { ok: true };
      });
    });
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    port = (s.app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await s?.close();
  });

  it('looks for overdue requests at least ten times per REQUEST_TIMEOUT_MS, so a stalled client gets its 408 near the limit (Node looks every 30 s by default)', () => {
    const interval = (s.app.server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval;
    assert.ok(interval <= 1000 / 10, `overdue requests are looked for every ${interval} ms with REQUEST_TIMEOUT_MS=1000`);
  });

  it('answers malformed HTTP in the documented error shape, with a stable code, and closes the connection', async () => {
    const post = (headers: string, body = '{}') => `POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n${body}`;
    const rawCases: { name: string; bytes: string; status: number; code: string }[] = [
      { name: 'non-numeric Content-Length', bytes: post('Content-Length: abc\r\n'), status: 400, code: 'MALFORMED_REQUEST' },
      { name: 'two Content-Lengths', bytes: post('Content-Length: 2\r\nContent-Length: 3\r\n'), status: 400, code: 'MALFORMED_REQUEST' },
      { name: 'Content-Length with Transfer-Encoding', bytes: post('Content-Length: 2\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), status: 400, code: 'MALFORMED_REQUEST' },
      { name: 'a malformed chunk', bytes: post('Transfer-Encoding: chunked\r\n', 'zz\r\n{}\r\n0\r\n\r\n'), status: 400, code: 'MALFORMED_REQUEST' },
      { name: 'a control character in a header name', bytes: 'GET /api/v1/products HTTP/1.1\r\nHost: x\r\nX\u0001: a\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST' },
      { name: 'an unknown method', bytes: 'BREW /api/v1/products HTTP/1.1\r\nHost: x\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST' },
      { name: 'headers over the limit', bytes: `GET /api/v1/products HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'HEADERS_TOO_LARGE' },
      { name: 'a body that stops halfway', bytes: post('Content-Length: 100\r\n'), status: 408, code: 'REQUEST_TIMEOUT' },
    ];
    for (const c of rawCases) {
      const reply = await sendRaw(port, c.bytes);
      const [head = '', body = ''] = reply.split('\r\n\r\n', 2);
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${c.status} `), `${c.name}: ${reply.slice(0, 200)}`);
      assert.match(head, /^content-type: application\/json/im, c.name);
      const parsed = JSON.parse(body);
      assert.equal(parsed.error.code, c.code, c.name);
      assert.equal(typeof parsed.error.message, 'string', c.name);
      assert.equal(parsed.error.requestId, /^x-request-id: (.+)$/im.exec(head)?.[1], c.name);
    }
  });

  it('does not refuse a POST without a body (Content-Length 0, however written) for its Content-Encoding: there is nothing encoded', async () => {
    const post = (length: string) => sendRaw(port, `POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`);
    const answer = (reply: string) => {
      const [head = '', body = ''] = reply.split('\r\n\r\n', 2);
      return { status: /^HTTP\/1\.1 (\d+) /.exec(head)?.[1], code: JSON.parse(body).error?.code };
    };
    const zero = answer(await post('0'));
    assert.notEqual(zero.status, '415', JSON.stringify(zero));
    assert.notEqual(zero.code, 'UNSUPPORTED_CONTENT_ENCODING');
    // Node's parser passes "00" through as written: the same empty body, answered as "0" is.
    assert.deepEqual(answer(await post('00')), zero, 'Content-Length: 00');
  });

  it('answers an Expect other than 100-continue with 417 in the documented error shape (Node\'s was a bare 417), and still continues 100-continue', async () => {
    const reply = await sendRaw(port, 'GET /api/v1/categories HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nX-Request-Id: expect-test-1\r\nConnection: close\r\n\r\n');
    const [head = '', body = ''] = reply.split('\r\n\r\n', 2);
    assert.match(head, /^HTTP\/1\.1 417 Expectation Failed\r\n/, reply.slice(0, 200));
    assert.match(head, /^content-type: application\/json; charset=utf-8\r?$/im);
    assert.match(head, /^x-request-id: expect-test-1\r?$/im);
    assert.deepEqual(JSON.parse(body), { error: { code: 'EXPECTATION_FAILED', message: 'the server meets no expectation but "Expect: 100-continue"', requestId: 'expect-test-1' } });
    // An unsafe request id is replaced, as on every other reply.
    const unsafe = await sendRaw(port, 'GET /api/v1/categories HTTP/1.1\r\nHost: x\r\nExpect: x\r\nX-Request-Id: a b<\r\nConnection: close\r\n\r\n');
    assert.match(JSON.parse(unsafe.split('\r\n\r\n', 2)[1] ?? '').error.requestId, /^[0-9a-f-]{36}$/);
    const continued = await sendRaw(port, 'POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n{}');
    assert.match(continued, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 400 /, continued.slice(0, 200));
  });

  it('answers an HTTP/1.1 request without a Host header with 400 MALFORMED_REQUEST in the documented error shape (Node answers a bare 400)', async () => {
    // RFC 9112 3.2: a request without Host is not valid HTTP/1.1; README: Node's refusals come in the error shape.
    const reply = await sendRaw(port, 'GET /api/v1/categories HTTP/1.1\r\n\r\n');
    const [head = '', body = ''] = reply.split('\r\n\r\n', 2);
    assert.match(head, /^HTTP\/1\.1 400 /, reply.slice(0, 200));
    assert.match(head, /^content-type: application\/json/im, `no JSON error body: ${JSON.stringify(reply.slice(0, 300))}`);
    const parsed = JSON.parse(body);
    assert.equal(parsed.error.code, 'MALFORMED_REQUEST');
    assert.equal(parsed.error.requestId, /^x-request-id: (.+)$/im.exec(head)?.[1]);
  });

  it('serves an HTTP/1.0 request without a Host header, as Node does (Host is HTTP/1.1\'s requirement)', async () => {
    const reply = await sendRaw(port, 'GET /api/v1/categories HTTP/1.0\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200 /, reply.slice(0, 200));
  });

  it('refuses an HTTP/1.1 request with two Host headers with 400 MALFORMED_REQUEST (it was served)', async () => {
    // RFC 9112 3.2: "more than one Host header field line" is a 400, as the doubled Content-Length already is.
    const reply = await sendRaw(port, 'GET /api/v1/categories HTTP/1.1\r\nHost: shop.example\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    const [head = '', body = ''] = reply.split('\r\n\r\n', 2);
    assert.match(head, /^HTTP\/1\.1 400 /, `two Host headers were answered: ${reply.slice(0, 120)}`);
    assert.equal(JSON.parse(body).error.code, 'MALFORMED_REQUEST');
  });

  it('answers an asterisk-form target (RFC 9112 §3.2.4, server-wide OPTIONS only) with 400 BAD_URL for any other method (GET * was the storefront home page)', async () => {
    for (const method of ['GET', 'HEAD', 'POST', 'DELETE']) {
      const body = method === 'POST' ? 'Content-Length: 0\r\n' : '';
      const reply = await sendRaw(port, `${method} * HTTP/1.1\r\nHost: x\r\nX-Request-Id: asterisk-${method}\r\n${body}Connection: close\r\n\r\n`);
      const [head = '', text = ''] = reply.split('\r\n\r\n', 2);
      assert.match(head, /^HTTP\/1\.1 400 /, `${method} *: ${reply.slice(0, 300)}`);
      assert.match(head, /^content-type: application\/json/im, method);
      if (method === 'HEAD') continue; // no body
      const parsed = JSON.parse(text);
      assert.equal(parsed.error.code, 'BAD_URL', method);
      assert.equal(parsed.error.requestId, `asterisk-${method}`, method);
    }
  });

  it('answers OPTIONS * (about the server as a whole) with 204 and the methods it serves in Allow', async () => {
    const reply = await sendRaw(port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const [head = ''] = reply.split('\r\n\r\n', 2);
    assert.match(head, /^HTTP\/1\.1 204 /, reply.slice(0, 300));
    assert.equal(/^allow: (.+)$/im.exec(head)?.[1], 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  });

  it('gives the refusals answered before routing or in the first hooks no-store and the security headers, as every reply', async () => {
    // README: every reply is `Cache-Control: no-store` unless its route says otherwise; these came before the hook
    // that sets it (and helmet's headers), so a cache in front kept them for its default TTL.
    const cases = [
      { name: 'no Host', bytes: 'GET /api/v1/categories HTTP/1.1\r\nConnection: close\r\n\r\n', code: 'MALFORMED_REQUEST' },
      { name: 'two Hosts', bytes: 'GET /api/v1/categories HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n', code: 'MALFORMED_REQUEST' },
      { name: 'a malformed query', bytes: 'GET /api/v1/products?q=%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', code: 'BAD_URL' },
      { name: 'a malformed path', bytes: 'GET /api/v1/products/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', code: 'BAD_URL' },
      // Node's own refusals, written to the socket before there is a request (createClientErrorAnswer, the Expect check).
      { name: 'a doubled Content-Length', bytes: 'POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', code: 'MALFORMED_REQUEST' },
      { name: 'an unmet Expect', bytes: 'GET /api/v1/categories HTTP/1.1\r\nHost: x\r\nExpect: x\r\nConnection: close\r\n\r\n', code: 'EXPECTATION_FAILED', status: 417 },
    ];
    for (const c of cases) {
      const reply = await sendRaw(port, c.bytes);
      const [head = '', body = ''] = reply.split('\r\n\r\n', 2);
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${c.status ?? 400} `), `${c.name}: ${reply.slice(0, 200)}`);
      assert.equal(JSON.parse(body).error.code, c.code, c.name);
      for (const header of [/^cache-control: no-store\r?$/im, /^x-content-type-options: nosniff\r?$/im, /^content-security-policy: default-src 'self'/im, /^x-frame-options: /im]) {
        assert.match(head, header, `${c.name} was answered without ${header.source}: ${JSON.stringify(head)}`);
      }
    }
  });

  it('gives a slow reply all the time it needs: the timeout is for receiving the request only', async () => {
    const reply = await sendRaw(port, 'GET /test/slow-reply HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200 /, reply.slice(0, 200));
  });
});

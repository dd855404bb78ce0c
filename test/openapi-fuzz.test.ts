import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createLogger } from '../src/platform/logger/logger.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import type { Json } from './helpers/http.ts';

/**
 * Property-based fuzzing of every operation in the OpenAPI document, through `app.inject()` against
 * the real PostgreSQL and Redis: hostile path parameters, query strings, bodies and headers, with and
 * without credentials. Every reply must be below 500, carry a status the document lists for that
 * operation, and — for 4xx — have the one error shape with the request id.
 *
 * Deterministic by default (a fixed seed, so CI is repeatable); `FUZZ_SEED=<n>` or `FUZZ_SEED=random`
 * explores further, `FUZZ_RUNS` sets the runs per operation.
 */
const SEED = process.env.FUZZ_SEED === 'random' ? Date.now() : Number(process.env.FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[]; minimum?: number; maximum?: number; minLength?: number; maxLength?: number; pattern?: string; anyOf?: Schema[]; oneOf?: Schema[]; format?: string };
type Operation = { method: string; path: string; params: { in: string; name: string; schema: Schema }[]; body?: Schema; statuses: Set<number> };

// ---- hostile values ---------------------------------------------------------------------------
const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom('\u0000', '\ud800', '\udfff'), fc.string({ maxLength: 10 })).map(([a, x, b]) => a + x + b) },
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfff', '%00', "'; DROP TABLE products; --", '../../etc/passwd', '<script>alert(1)</script>', '\u202e\u0041', '🛒🔥', ' ', '', 'null', 'NaN', '-0', '1e309', '__proto__', 'constructor'),
  fc.string({ minLength: 1000, maxLength: 5000 }),
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1.5, 1e308, -1e308, 5e-324),
);
const protoKey = fc.constantFrom('__proto__', 'constructor', 'prototype', '__defineGetter__', 'hasOwnProperty', 'toString');
/** Deeply nested arrays and objects. */
const deep = fc.integer({ min: 50, max: 3000 }).map((depth) => (depth % 2 === 0 ? JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) : JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)));
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 4 }), deep, fc.dictionary(protoKey, fc.jsonValue({ maxDepth: 2 })));

/** A value for `schema`: often right or at a boundary, often wrong. */
function valueFor(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const wrong = fc.oneof(hostileText, hostileNumber, fc.boolean(), fc.constant(null), depth < 2 ? anyJson : fc.constant({}));
  if (!schema) return wrong;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => valueFor(s, depth)), wrong);
  if (schema.enum) return fc.oneof(fc.constantFrom(...schema.enum), wrong);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const min = schema.minimum ?? -(2 ** 31);
  const max = schema.maximum ?? 2 ** 31;
  switch (type) {
    case 'integer':
      return fc.oneof(fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }), fc.constantFrom(min - 1, min, max, max + 1, 1, 2, 3), wrong);
    case 'number':
      return fc.oneof(fc.double({ min, max, noNaN: true }), fc.constantFrom(min - 1, max + 1), wrong);
    case 'boolean':
      return fc.oneof(fc.boolean(), wrong);
    case 'string': {
      const lengthEdges = [schema.minLength, schema.maxLength].filter((n): n is number => n !== undefined).flatMap((n) => [n - 1, n, n + 1]).filter((n) => n >= 0);
      const formatted = schema.format === 'email' ? fc.emailAddress() : schema.format === 'date-time' ? fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) : fc.string({ maxLength: schema.maxLength ?? 40 });
      return fc.oneof(formatted, ...lengthEdges.map((n) => fc.constant('x'.repeat(n))), { weight: 4, arbitrary: hostileText }, wrong);
    }
    case 'array':
      return fc.oneof(fc.array(valueFor(schema.items, depth + 1), { maxLength: 5 }), fc.array(fc.constant(1), { minLength: 100, maxLength: 200 }), wrong);
    case 'object':
      return depth > 3 ? wrong : objectFor(schema, depth + 1);
    default:
      return wrong;
  }
}

/** A value `schema` accepts (as far as its keywords say). */
function validFor(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema) return fc.constant(1);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.filter((s) => s.type !== 'null').map((s) => validFor(s, depth)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? 1, 1), max: Math.min(schema.maximum ?? 5, 5) }).filter((n) => n >= (schema.minimum ?? -Infinity));
    case 'number':
      return fc.double({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 100, 100), noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'string': {
      if (schema.format === 'email') return fc.emailAddress();
      if (schema.format === 'date-time') return fc.date({ min: new Date('2026-01-01'), max: new Date('2028-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
      const pattern = (schema as { pattern?: string }).pattern;
      const text = pattern ? fc.stringMatching(new RegExp(pattern)) : fc.string({ unit: 'grapheme-ascii', minLength: Math.max(schema.minLength ?? 1, 1), maxLength: Math.min(schema.maxLength ?? 20, 20) });
      return text.filter((v) => v.length >= (schema.minLength ?? 0) && v.length <= (schema.maxLength ?? Infinity));
    }
    case 'array':
      return fc.array(validFor(schema.items, depth + 1), { minLength: 1, maxLength: 3 });
    case 'object': {
      const required = new Set(schema.required ?? []);
      const properties = Object.entries(schema.properties ?? {});
      return fc.record(Object.fromEntries(properties.map(([name, s]) => [name, validFor(s, depth + 1)])), { requiredKeys: properties.map(([name]) => name).filter((name) => required.has(name)) });
    }
    default:
      return fc.constant(null);
  }
}

/** A valid value with exactly one place (a property, an item, a nested property) replaced by a hostile one. */
function mutatedFor(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const type = Array.isArray(schema?.type) ? schema?.type[0] : schema?.type;
  if (schema && type === 'object' && depth < 4 && Object.keys(schema.properties ?? {}).length > 0) {
    const names = Object.keys(schema.properties ?? {});
    return fc.tuple(validFor(schema, depth) as fc.Arbitrary<Record<string, unknown>>, fc.constantFrom(...names)).chain(([value, name]) =>
      fc.oneof(valueFor(schema.properties?.[name], depth + 1), mutatedFor(schema.properties?.[name], depth + 1)).map((bad) => ({ ...value, [name]: bad })),
    );
  }
  if (schema && type === 'array' && depth < 4) {
    return fc.tuple(fc.array(validFor(schema.items, depth + 1), { maxLength: 2 }), mutatedFor(schema.items, depth + 1)).map(([items, bad]) => [...items, bad]);
  }
  return valueFor(schema, depth);
}

function objectFor(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  const properties = Object.entries(schema.properties ?? {});
  const fields = fc.record(Object.fromEntries(properties.map(([name, s]) => [name, valueFor(s, depth)])), { requiredKeys: [] });
  const extra = fc.dictionary(fc.oneof(protoKey, fc.string({ maxLength: 10 }), fc.constantFrom('id', 'isAdmin', 'a\u0000')), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
  return fc.oneof({ weight: 4, arbitrary: fields }, { weight: 1, arbitrary: fc.tuple(fields, extra).map(([a, b]) => ({ ...b, ...(a as object) })) }, { weight: 1, arbitrary: anyJson });
}

/** A raw body: JSON text from the schema, or text no JSON parser accepts, or prototype pollution. */
function bodyFor(schema: Schema | undefined): fc.Arbitrary<{ payload: string; contentType: string }> {
  const asJson = (value: unknown) => ({ payload: JSON.stringify(value) ?? 'null', contentType: 'application/json' });
  const json = (schema ? valueFor(schema) : anyJson).map(asJson);
  return fc.oneof(
    { weight: 3, arbitrary: validFor(schema).map(asJson) },
    { weight: 6, arbitrary: mutatedFor(schema).map(asJson) },
    { weight: 3, arbitrary: json },
    { weight: 1, arbitrary: fc.constantFrom('{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"isAdmin":true}}}', '{"a":', '', '[]', 'null', '"x"', '{"a":"\\u0000"}', '{"a":"\\ud800"}').map((payload) => ({ payload, contentType: 'application/json' })) },
    { weight: 1, arbitrary: fc.string().map((payload) => ({ payload, contentType: fc.sample(fc.constantFrom('text/plain', 'application/xml', 'application/json; charset=utf-16', 'multipart/form-data'), 1)[0]! })) },
    { weight: 1, arbitrary: fc.constant({ payload: JSON.stringify({ name: 'x'.repeat(2_000_000) }), contentType: 'application/json' }) },
  );
}

function encodeSegment(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? 'null';
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80'; // an unpaired surrogate, as its raw UTF-8 bytes
  }
}

// ---- the document ------------------------------------------------------------------------------
/** A value a path parameter's schema accepts: a small integer, or the first of a few shapes its pattern and bounds allow. */
function validPathValue(schema: Schema | undefined): string {
  if (schema?.type !== 'string') return '1';
  const fits = (value: string) =>
    (!schema.pattern || new RegExp(schema.pattern).test(value)) && value.length >= (schema.minLength ?? 0) && value.length <= (schema.maxLength ?? Infinity);
  const value = ['1', '1.abc', 'abc', 'abc-1'].find(fits);
  assert.ok(value, `no sample fits the path parameter schema ${JSON.stringify(schema)}`);
  return value;
}

function operationsOf(doc: { paths: Record<string, Record<string, { parameters?: Operation['params']; requestBody?: { content: Record<string, { schema: Schema }> }; responses: Record<string, { description?: string }> }>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      // A server-sent event stream stays open by design: not a request/reply to fuzz here.
      if (op.responses['200']?.description === 'text/event-stream') continue;
      operations.push({
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: op.requestBody?.content['application/json']?.schema,
        statuses: new Set(Object.keys(op.responses).map(Number)),
      });
    }
  }
  return operations;
}

let t: TestApp;
let operations: Operation[] = [];
let cookie = '';
const errorLines: string[] = [];
before(async () => {
  t = await createTestApp({ RATE_LIMIT_GENERAL_MAX: '1000000', RATE_LIMIT_CUSTOMER_MAX: '1000000', BODY_LIMIT_BYTES: '1048576' }, undefined, {
    // Errors the app logs, to show with a failing case.
    logger: createLogger({ level: 'error', destination: { write: (line: string) => void errorLines.push(line) } }),
  });
  // Something to find: a category, products, a signed-in customer with an order.
  await t.app.inject({ method: 'POST', url: '/api/v1/admin/categories', headers: t.admin, payload: { slug: 'fuzz', name: 'Fuzz' } });
  for (let i = 1; i <= 3; i++) await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `FUZZ-${i}`, name: `Fuzz ${i}`, priceCents: 100 * i, available: 1000 } });
  const registered = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'fuzz@example.com', password: 'fuzz-password-123', name: 'Fuzz' } });
  assert.equal(registered.statusCode, 201, registered.body);
  cookie = String(registered.headers['set-cookie']).split(';')[0]!;
  await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': 'fuzz-order-1' }, payload: { items: [{ productId: 1, quantity: 1 }] } });
  const doc = (await t.app.inject({ url: '/docs/json' })).json();
  operations = operationsOf(doc);
});
after(async () => {
  await t?.close();
});

/**
 * What /docs/json says of a route is what the route does: generated clients follow it. A query parameter with a
 * `default` is one the server fills in when the request leaves it out (OpenAPI: a default is only meaningful for an
 * optional parameter), and a status the route cannot answer is not listed.
 */
describe('the OpenAPI document', () => {
  // README "API overview": the lists page with an optional `limit` (default 20), and the server answers without it.
  it('documents the optional `limit` of the product and order lists as not required, as the routes take it', async () => {
    const doc: Json = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    for (const { path, headers } of [
      { path: '/api/v1/products', headers: {} },
      { path: '/api/v1/products/popular', headers: {} },
      { path: '/api/v1/orders', headers: { cookie } },
      { path: '/api/v1/admin/orders', headers: t.admin },
    ]) {
      const served = await t.app.inject({ method: 'GET', url: path, headers });
      assert.equal(served.statusCode, 200, `${path} without limit: ${served.body}`);
      const limit = (doc.paths[path].get.parameters as Json[]).find((p) => p.in === 'query' && p.name === 'limit');
      assert.ok(limit, `${path} documents a limit parameter`);
      assert.equal(limit.schema?.default, 20);
      assert.notEqual(limit.required, true, `${path}: limit has a default and is not required by the server, yet /docs/json marks it required`);
    }
  });

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

  // README "Waiting room and storefront", *Live updates*: the ticket's events are a Server-Sent-Events stream. A client
  // generated from the document (a mobile app) reads the 200 by its media type: JSON would be parsed and fail.
  it("documents the waiting room's event stream as the text/event-stream it serves, not as JSON", async () => {
    const doc: Json = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const ok = doc.paths['/api/v1/sale-events/{id}/queue/{ticket}/events'].get.responses['200'];
    assert.deepEqual(Object.keys(ok.content ?? {}), ['text/event-stream'], `the stream's 200 is documented as ${JSON.stringify(ok)}`);
    // Its refusals stay JSON errors.
    assert.ok(doc.paths['/api/v1/sale-events/{id}/queue/{ticket}/events'].get.responses['404'].content['application/json']);
  });

  it('serves each list without a limit', async () => {
    for (const url of ['/api/v1/products', '/api/v1/products/popular', '/api/v1/admin/actions', '/api/v1/admin/sale-events']) {
      const reply = await t.app.inject({ method: 'GET', url, headers: t.admin });
      assert.equal(reply.statusCode, 200, `${url}: ${reply.body}`);
    }
  });

  // Fulfilling an order never calls the payment provider: no 502 (PAYMENT_PROVIDER_ERROR) for it, as for refund. 503
  // stays (the database unavailable), as do its refusals.
  it('lists no 502 for POST /admin/orders/:id/fulfill, only what it answers', async () => {
    const doc: Json = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const responses = Object.keys(doc.paths['/api/v1/admin/orders/{id}/fulfill'].post.responses);
    for (const status of ['200', '404', '409', '503']) assert.ok(responses.includes(status), `fulfill documents ${status}`);
    assert.ok(!responses.includes('502'), `fulfill never calls the payment provider, yet documents 502: ${responses.join(', ')}`);
    // Refund does call it: its 502 stays.
    assert.ok(Object.keys(doc.paths['/api/v1/admin/orders/{id}/refund'].post.responses).includes('502'));
  });
});

describe('fuzzing every operation of the OpenAPI document', () => {
  it('finds the operations', () => {
    assert.ok(operations.length >= 30, `${operations.length} operations`);
  });

  it('refuses unknown query parameters, prototype keys included, on every operation', async () => {
    for (const op of operations) {
      // Path parameters get a value their own schema accepts, so that the query is what the route refuses.
      const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => validPathValue(op.params.find((p) => p.in === 'path' && p.name === name)?.schema));
      const headers = op.path.startsWith('/api/v1/admin') ? t.admin : { cookie };
      for (const query of ['unknownParam=1', '__proto__[x]=1', 'constructor[prototype][x]=1']) {
        const reply = await t.app.inject({ method: op.method as 'GET', url: `${path}?${query}`, headers });
        assert.equal(reply.statusCode, 400, `${op.method} ${path}?${query}: ${reply.body}`);
        assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
        if (!op.body) assert.equal(reply.json().error.details.in, 'querystring', `${op.method} ${path}`);
      }
    }
  });

  it('answers every hostile request below 500, with a documented status and the error shape', async () => {
    const auth = fc.constantFrom<Record<string, string>>({}, t.admin, { cookie }, { authorization: 'Bearer wrong-token-0123456789' }, { cookie: 'salescale_sid=forged' }, { authorization: 'Basic Zm9vOmJhcg==' });
    const statuses = new Map<number, number>();
    for (const op of operations) {
      const pathParams = op.params.filter((p) => p.in === 'path');
      const queryParams = op.params.filter((p) => p.in === 'query');
      const request = fc.record({
        path: fc.tuple(...pathParams.map((p) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(1, 2, 3) }, { weight: 2, arbitrary: valueFor(p.schema) }, { weight: 1, arbitrary: fc.constant('9'.repeat(300)) }))),
        query: fc.tuple(
          fc.tuple(...queryParams.map((p) => fc.option(validFor(p.schema).map((v) => [p.name, v] as [string, unknown]), { nil: undefined }))),
          fc.array(
            fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...(queryParams.length > 0 ? queryParams.map((p) => p.name) : ['x'])) }, protoKey, fc.constantFrom('__proto__[x]', 'constructor[prototype][x]', 'limit[]', 'a\u0000'), fc.string({ maxLength: 8 })), fc.oneof(hostileText, hostileNumber)),
            { maxLength: 2 },
          ),
        ).map(([valid, hostile]) => [...valid.filter((pair): pair is [string, unknown] => pair !== undefined), ...hostile]),
        body: op.body ? bodyFor(op.body) : fc.constant(undefined),
        // Credentials that fit the route most of the time, so most requests get past authentication.
        auth: fc.oneof({ weight: 3, arbitrary: fc.constant(op.path.startsWith('/api/v1/admin') ? t.admin : { cookie }) }, { weight: 2, arbitrary: auth }),
        idempotencyKey: fc.oneof(fc.constant(undefined), fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 })),
      });
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          let i = 0;
          const path = op.path.replace(/\{[^}]+\}/g, () => encodeSegment(r.path[i++]));
          const query = r.query.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`).join('&');
          const headers: Record<string, string> = { ...r.auth };
          if (r.body) headers['content-type'] = r.body.contentType;
          if (r.idempotencyKey !== undefined) headers['idempotency-key'] = r.idempotencyKey;
          const reply = await t.app.inject({ method: op.method as 'GET', url: query ? `${path}?${query}` : path, headers, payload: r.body?.payload });
          statuses.set(reply.statusCode, (statuses.get(reply.statusCode) ?? 0) + 1);
          const where = `${op.method} ${op.path} → ${reply.statusCode} ${reply.body.slice(0, 300)}`;
          assert.ok(reply.statusCode < 500, `${where}\n${errorLines.at(-1)?.slice(0, 2000) ?? ''}`);
          assert.ok(op.statuses.has(reply.statusCode), `undocumented status: ${where} (documented: ${[...op.statuses].join(', ')})`);
          if (reply.statusCode >= 400) {
            const body = reply.json();
            assert.match(body.error?.code ?? '', /^[A-Z][A-Z0-9_]+$/, where);
            assert.equal(typeof body.error.message, 'string', where);
            assert.equal(body.error.requestId, reply.headers['x-request-id'], where);
            assert.doesNotMatch(reply.body, /\bat \S+ \(|node_modules/, where);
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    }
    // Every request was answered, and the fuzzing reached past validation into the services.
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, operations.length * RUNS);
    assert.ok([...statuses.keys()].some((status) => status < 300), `some requests succeeded: ${JSON.stringify([...statuses])}`);
    console.log(`fuzz seed ${SEED}: ${total} requests over ${operations.length} operations, by status ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
  });
});

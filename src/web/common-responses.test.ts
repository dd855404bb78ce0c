import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { Type } from 'typebox';
import { installErrorHandling } from './error-handler.ts';
import { browserSecurity } from './plugins/browser-security.ts';
import { addCommonResponses } from '../platform/http/common-responses.ts';
import { refuseContentEncoding } from '../platform/http/content-encoding.ts';
import { ErrorResponse } from '../platform/http/schemas.ts';

/** Each route's documented statuses, once `addCommonResponses` ran on it (as the web role's onRoute hook does). */
const documentedStatuses = new Map<string, string[]>();
function documented(method: string, url: string): string[] {
  const statuses = documentedStatuses.get(`${method} ${url}`);
  assert.ok(statuses, `${method} ${url}`);
  return statuses;
}

describe('addCommonResponses', () => {
  it('documents 413 and 415 on every route Fastify reads a body for, a body schema or not, as it answers them', async () => {
    const app = Fastify({ bodyLimit: 100 });
    app.addSchema(ErrorResponse);
    installErrorHandling(app);
    refuseContentEncoding(app);
    app.addHook('onRoute', (route) => {
      addCommonResponses(route, '/admin');
      const response = (route.schema as { response: Record<string, unknown> }).response;
      for (const method of [route.method].flat()) documentedStatuses.set(`${method} ${route.url}`, Object.keys(response).sort());
    });
    const ok = { 200: Type.Object({ ok: Type.Boolean() }) };
    app.post('/with-body', { schema: { body: Type.Object({ a: Type.Optional(Type.String()) }), response: ok } }, async () => ({ ok: true }));
    app.post('/orders/:id/cancel', { schema: { response: ok } }, async () => ({ ok: true }));
    app.delete('/cart/items', { schema: { response: ok } }, async () => ({ ok: true }));
    app.get('/cart', { schema: { response: ok } }, async () => ({ ok: true }));
    await app.register(async (raw) => {
      raw.removeAllContentTypeParsers();
      raw.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
      raw.post('/webhooks', { config: { anyContentType: true }, schema: { response: ok } }, async () => ({ ok: true }));
    });
    await app.ready();

    for (const [method, url] of [['POST', '/with-body'], ['POST', '/orders/1/cancel'], ['DELETE', '/cart/items'], ['POST', '/webhooks']] as const) {
      const statuses = documented(method, url.replace('/1/', '/:id/'));
      const tooLarge = await app.inject({ method, url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ a: 'x'.repeat(500) }) });
      assert.equal(tooLarge.statusCode, 413, `${method} ${url}`);
      assert.ok(statuses.includes('413'), `${method} ${url} answers 413, documents ${statuses.join(', ')}`);
      const xml = await app.inject({ method, url, headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
      // Every route reading a body answers 415 to one in a content coding; the others, to a type they do not parse.
      const zipped = await app.inject({ method, url, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: '{}' });
      assert.equal(zipped.statusCode, 415, `${method} ${url}`);
      assert.ok(statuses.includes('415'), `${method} ${url} answers 415, documents ${statuses.join(', ')}`);
      assert.equal(xml.statusCode, url === '/webhooks' ? 200 : 415, `${method} ${url}: the raw parser takes every type`);
    }
    const get = documented('GET', '/cart');
    assert.ok(!get.includes('413') && !get.includes('415'), `GET documents ${get.join(', ')}`);
    await app.close();
  });

  it('documents 403 CROSS_SITE_REQUEST on every state-changing route, as the browser-security hook answers it', async () => {
    const app = Fastify();
    app.addSchema(ErrorResponse);
    installErrorHandling(app);
    await app.register(browserSecurity({ corsOrigins: [], production: false }));
    const statusesOf = new Map<string, string[]>();
    app.addHook('onRoute', (route) => {
      addCommonResponses(route, '/admin');
      const response = (route.schema as { response: Record<string, unknown> }).response;
      for (const method of [route.method].flat()) statusesOf.set(`${method} ${route.url}`, Object.keys(response).sort());
    });
    const ok = { 200: Type.Object({ ok: Type.Boolean() }) };
    app.post('/orders/:id/cancel', { schema: { response: ok } }, async () => ({ ok: true }));
    app.delete('/cart/items', { schema: { response: ok } }, async () => ({ ok: true }));
    app.get('/cart', { schema: { response: ok } }, async () => ({ ok: true }));
    await app.ready();

    for (const [method, url, route] of [['POST', '/orders/1/cancel', '/orders/:id/cancel'], ['DELETE', '/cart/items', '/cart/items']] as const) {
      const crossSite = await app.inject({ method, url, headers: { 'sec-fetch-site': 'cross-site' } });
      assert.equal(crossSite.statusCode, 403, `${method} ${url}`);
      assert.equal(crossSite.json().error.code, 'CROSS_SITE_REQUEST');
      const statuses = statusesOf.get(`${method} ${route}`) ?? [];
      assert.ok(statuses.includes('403'), `${method} ${route} answers 403, documents ${statuses.join(', ')}`);
    }
    const read = await app.inject({ method: 'GET', url: '/cart', headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(read.statusCode, 200, 'a read is not refused');
    assert.ok(!(statusesOf.get('GET /cart') ?? []).includes('403'), 'no 403 documented on a read');
    await app.close();
  });
});

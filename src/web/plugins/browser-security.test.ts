import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fastifyHelmet from '@fastify/helmet';
import Fastify from 'fastify';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { browserSecurity, securityHeaderOptions } from './browser-security.ts';

/** Every response header but the ones Fastify itself sets per reply. */
function securityHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const { date: _date, connection: _connection, 'content-length': _length, 'content-type': _type, 'keep-alive': _keepAlive, 'cache-control': _cache, ...rest } = headers;
  return rest;
}

describe('browser security headers', () => {
  for (const production of [false, true]) {
    it(`are exactly what @fastify/helmet sets with the same options (${production ? 'production' : 'development'})`, async () => {
      const ours = Fastify();
      await ours.register(browserSecurity({ corsOrigins: [], production }));
      ours.get('/x', async () => ({ ok: true }));
      // The reference: @fastify/helmet, which builds helmet's middleware per request, with the options we pass helmet.
      const reference = Fastify();
      // The same options object (helmet's own option type is a union that @fastify/helmet's typings do not accept as is).
      await reference.register(fastifyHelmet, { global: true, ...securityHeaderOptions(production) } as never);
      reference.get('/x', async () => ({ ok: true }));
      const [a, b] = await Promise.all([ours.inject('/x'), reference.inject('/x')]);
      assert.deepEqual(securityHeaders(a.headers), securityHeaders(b.headers));
      assert.match(String(a.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(a.headers['cache-control'], 'no-store');
      assert.equal(a.headers['strict-transport-security'] !== undefined, production);
      await Promise.all([ours.close(), reference.close()]);
    });
  }

  it('relaxes the CSP for the listed third-party pages only', async () => {
    const app = Fastify();
    await app.register(browserSecurity({ corsOrigins: [], production: false, inlineStylePaths: ['/admin/queues'] }));
    app.get('/admin/queues', async () => 'board');
    app.get('/api', async () => 'api');
    assert.match(String((await app.inject('/admin/queues')).headers['content-security-policy']), /style-src 'self' 'unsafe-inline'/);
    assert.doesNotMatch(String((await app.inject('/api')).headers['content-security-policy']), /unsafe-inline/);
    await app.close();
  });
});

// /docs (Swagger UI) had X-Frame-Options: DENY from the global headers while its own CSP said frame-ancestors 'self':
// a browser reading CSP let a same-origin page frame it, one reading only X-Frame-Options did not. Nothing of the app
// frames /docs: neither may.
describe('security headers of the API docs', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('say the same thing about framing on /docs, /docs/json and a file of Swagger UI: not framed at all', async () => {
    for (const url of ['/docs', '/docs/', '/docs/json', '/docs/static/index.css', '/docs/static/swagger-ui-bundle.js']) {
      const reply = await t.app.inject({ url });
      assert.equal(reply.statusCode, 200, `${url}: ${reply.statusCode}`);
      assert.equal(reply.headers['x-frame-options'], 'DENY', url);
      const csp = String(reply.headers['content-security-policy']);
      assert.match(csp, /frame-ancestors 'none'/, `${url}: ${csp}`);
      assert.doesNotMatch(csp, /frame-ancestors 'self'/, `${url}: ${csp}`);
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/**
 * README ("Waiting room and storefront"): every reply is `Cache-Control: no-store` unless its route says otherwise
 * (the storefront's own static assets). The queue dashboard's files are only served behind the admin bearer token,
 * yet the board's `@fastify/static` headers are forwarded as they are and replace the no-store with
 * `public, max-age=0`: `public` explicitly lets a shared cache (a CDN put in front for a sale) store a reply to a
 * request that carried `Authorization` (RFC 9111 §3.5), so admin-only replies end up in a shared cache.
 */
describe('the queue dashboard, behind the admin token, is never marked publicly cacheable', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('its static files keep Cache-Control: no-store (at least: not public)', async () => {
    const page = await t.app.inject({ url: '/admin/queues', headers: t.admin });
    assert.equal(page.statusCode, 200, page.body);
    const scripts = page.body.match(/static\/js\/[^"]+\.js/g) ?? [];
    assert.ok(scripts.length > 0, 'the dashboard page names its scripts');
    for (const script of scripts) {
      const reply = await t.app.inject({ url: `/admin/queues/${script}`, headers: t.admin });
      assert.equal(reply.statusCode, 200, `${script}: ${reply.statusCode}`);
      const cacheControl = String(reply.headers['cache-control']);
      assert.doesNotMatch(cacheControl, /\bpublic\b/, `${script} (served only with the admin token) is Cache-Control: ${cacheControl}`);
    }
  });
});

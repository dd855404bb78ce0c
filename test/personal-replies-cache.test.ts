import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';

/**
 * A shared cache in front of the shop (a CDN put there for the sale) must never keep one shopper's reply for
 * the next: without Cache-Control, CloudFront's default TTL caches a reply, and a cache key without the cookie
 * hands it to everyone. API replies say `no-store` unless a route says otherwise.
 */
describe('replies a shared cache must not keep', () => {
  let t: TestApp;
  let cookie: string;
  before(async () => {
    t = await createTestApp();
    const [id] = await insertCustomers(t.platform.db.primary, 1);
    [cookie] = (await mintSessionCookies(t.env, [id!])) as [string];
  });
  after(() => t.close());

  it('marks a signed-in shopper\'s replies, and every API reply, no-store; the storefront\'s static assets keep their caching', async () => {
    for (const url of ['/api/v1/me', '/api/v1/cart', '/api/v1/orders', '/api/v1/products']) {
      const reply = await t.app.inject({ method: 'GET', url, headers: { cookie } });
      assert.equal(reply.statusCode, 200, `${url}: ${reply.body}`);
      assert.equal(reply.headers['cache-control'], 'no-store', url);
    }
    const refused = await t.app.inject({ method: 'GET', url: '/api/v1/me' });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.headers['cache-control'], 'no-store');
    const asset = await t.app.inject({ method: 'GET', url: '/assets/storefront.js' });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers['cache-control'], 'public, max-age=300');
  });
});

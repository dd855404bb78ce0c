import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/**
 * `securityHeaderOptions` says "pages are not embeddable" and sets CSP `frame-ancestors 'none'`, but helmet's
 * default `X-Frame-Options: SAMEORIGIN` is left on every reply: a browser that honours X-Frame-Options and not CSP
 * Level 2 (older embedded WebViews, IE 11) lets any page of the same origin frame the account, cart and guest-order
 * pages. The two headers should say the same thing: DENY.
 */
describe('storefront pages refuse every framing, in X-Frame-Options as in the CSP', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  for (const url of ['/', '/account', '/cart', '/orders/1', '/guest-orders/1.abc']) {
    it(`GET ${url}`, async () => {
      const reply = await t.app.inject({ url });
      assert.equal(reply.statusCode, 200, reply.body);
      assert.match(String(reply.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(reply.headers['x-frame-options'], 'DENY', `X-Frame-Options is ${reply.headers['x-frame-options']} while the CSP says frame-ancestors 'none'`);
    });
  }
});

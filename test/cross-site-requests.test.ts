import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { sessionCookieOf } from './helpers/commerce.ts';

/**
 * What a page on another origin can make a signed-in shopper's browser send: a form POST (text/plain or
 * application/x-www-form-urlencoded, no custom header) or a no-cors fetch. SameSite=Lax keeps the cookies off
 * such requests from another *site*, but not from another origin of the same site (a sibling subdomain), nor
 * in browsers without SameSite: the server must refuse them itself.
 */
describe('cross-site requests', () => {
  let t: TestApp;
  let cookie: string;
  let productId: number;

  before(async () => {
    t = await createTestApp();
    const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'XS-1', name: 'Widget', priceCents: 500 } });
    assert.equal(product.statusCode, 201, product.body);
    productId = product.json().id;
    const stocked = await t.app.inject({ method: 'PUT', url: `/api/v1/admin/products/${productId}/stock`, headers: t.admin, payload: { available: 10 } });
    assert.equal(stocked.statusCode, 200, stocked.body);
    const registered = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'victim@example.com', password: 'a long password', name: 'Victim' } });
    assert.equal(registered.statusCode, 201, registered.body);
    cookie = sessionCookieOf(registered.headers['set-cookie'])!;
  });
  after(() => t.close());

  const placeOrder = async () => {
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': `k-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    return placed.json().id as number;
  };

  const cancel = (id: number, headers: Record<string, string>) =>
    t.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/cancel`, headers: { cookie, 'content-type': 'text/plain', ...headers }, payload: 'x=1' });
  /** The shop's own cancel button (storefront.js): a POST without a body. The route reads none and refuses one. */
  const cancelAsTheShop = (id: number, headers: Record<string, string>) => t.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/cancel`, headers: { cookie, ...headers } });
  const statusOf = async (id: number) => (await t.app.inject({ url: `/api/v1/orders/${id}`, headers: { cookie } })).json().status as string;

  it('refuses a form POST from another origin of the same site, and it changes nothing', async () => {
    const id = await placeOrder();
    for (const headers of [
      // A modern browser: Sec-Fetch-Site says where the request comes from.
      { origin: 'https://blog.example.com', 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      // A browser without Fetch Metadata: the Origin names another host.
      { origin: 'https://blog.example.com' },
      // A sandboxed frame or a redirect chain: an opaque origin.
      { origin: 'null' },
    ] as Record<string, string>[]) {
      const reply = await cancel(id, headers);
      assert.equal(reply.statusCode, 403, `${JSON.stringify(headers)}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'CROSS_SITE_REQUEST');
    }
    assert.equal(await statusOf(id), 'pending_payment', 'the order is still waiting for payment');
  });

  it('refuses a cross-site sign-out and a cross-site cart change', async () => {
    const hostile = { origin: 'https://blog.example.com', 'sec-fetch-site': 'same-site' };
    const signOut = await t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers: { cookie, ...hostile } });
    assert.equal(signOut.statusCode, 403, signOut.body);
    const cart = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, headers: { cookie, ...hostile }, payload: { quantity: 2 } });
    assert.equal(cart.statusCode, 403, cart.body);
    assert.equal((await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode, 200, 'still signed in');
  });

  it('accepts the shop\'s own pages, requests without browser headers (API clients, tests), and reads from anywhere', async () => {
    const host = 'shop.example.com';
    for (const headers of [{ origin: `https://${host}`, 'sec-fetch-site': 'same-origin' }, { origin: `http://${host}`, host }, { 'sec-fetch-site': 'none' }, {}] as Record<string, string>[]) {
      const id = await placeOrder();
      const reply = await cancelAsTheShop(id, headers);
      assert.equal(reply.statusCode, 200, `${JSON.stringify(headers)}: ${reply.body}`);
    }
    // The same form post from the shop's own origin passes the cross-site check; its text/plain body is then no
    // media type the API reads (a hostile one above gets the 403 first). An empty text/plain body is no body.
    const form = await cancel(await placeOrder(), { origin: 'https://shop.example.com', 'sec-fetch-site': 'same-origin' });
    assert.equal(form.statusCode, 415, form.body);
    assert.equal(form.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
    const empty = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${await placeOrder()}/cancel`, headers: { cookie, 'content-type': 'text/plain;charset=UTF-8' }, payload: '' });
    assert.equal(empty.statusCode, 200, empty.body);
    const read = await t.app.inject({ url: '/api/v1/me', headers: { cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    assert.equal(read.statusCode, 200);
  });

  it('refuses a page on another port of the same host (another origin), and takes default ports as none', async () => {
    const signOut = await t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers: { cookie, host: 'localhost:3000', origin: 'http://localhost:4000' } });
    assert.equal(signOut.statusCode, 403, signOut.body);
    assert.equal(signOut.json().error.code, 'CROSS_SITE_REQUEST');
    assert.equal((await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode, 200, 'still signed in');
    for (const [host, origin] of [
      ['localhost:3000', 'http://localhost:3000'],
      ['shop.example.com:443', 'https://shop.example.com'],
      ['shop.example.com', 'https://shop.example.com:443'],
    ]) {
      const reply = await cancelAsTheShop(await placeOrder(), { host: host!, origin: origin! });
      assert.equal(reply.statusCode, 200, `${host} ← ${origin}: ${reply.body}`);
    }
  });
});

describe('cross-site requests behind a proxy', () => {
  const signedIn = async (t: TestApp) => {
    const registered = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: `proxied-${Math.random().toString(36).slice(2)}@example.com`, password: 'a long password', name: 'P' } });
    assert.equal(registered.statusCode, 201, registered.body);
    return sessionCookieOf(registered.headers['set-cookie'])!;
  };
  const signOut = (t: TestApp, headers: Record<string, string>) => t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers, remoteAddress: '127.0.0.1' });

  it('compares with the forwarded host when TRUST_PROXY trusts the proxy, which rewrote Host', async () => {
    const t = await createTestApp({ TRUST_PROXY: '127.0.0.1' });
    try {
      const proxied = { host: 'app:3000', 'x-forwarded-host': 'shop.example.com', 'x-forwarded-proto': 'https' };
      const hostile = await signOut(t, { cookie: await signedIn(t), ...proxied, origin: 'https://shop.example.com:8443' });
      assert.equal(hostile.statusCode, 403, hostile.body);
      const own = await signOut(t, { cookie: await signedIn(t), ...proxied, origin: 'https://shop.example.com' });
      assert.equal(own.statusCode, 204, own.body);
    } finally {
      await t.close();
    }
  });

  it('compares with SHOP_URL when a proxy rewrites Host, and believes no X-Forwarded-Host from an untrusted peer', async () => {
    const t = await createTestApp({ SHOP_URL: 'https://shop.example.com/' });
    try {
      const own = await signOut(t, { cookie: await signedIn(t), host: 'app:3000', origin: 'https://shop.example.com' });
      assert.equal(own.statusCode, 204, own.body);
      const forged = await signOut(t, { cookie: await signedIn(t), host: 'app:3000', 'x-forwarded-host': 'evil.example', origin: 'https://evil.example' });
      assert.equal(forged.statusCode, 403, forged.body);
    } finally {
      await t.close();
    }
  });
});

describe('cross-site requests from a listed CORS origin', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ CORS_ORIGINS: 'https://shop.example.com' });
  });
  after(() => t.close());

  it('are let through (the storefront on another origin of the same site)', async () => {
    const reply = await t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers: { origin: 'https://shop.example.com', 'sec-fetch-site': 'same-site' } });
    assert.equal(reply.statusCode, 204, reply.body);
    assert.equal(reply.headers['access-control-allow-origin'], 'https://shop.example.com');
    const other = await t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers: { origin: 'https://blog.example.com', 'sec-fetch-site': 'same-site' } });
    assert.equal(other.statusCode, 403, other.body);
  });
});

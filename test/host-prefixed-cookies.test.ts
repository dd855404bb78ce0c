import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { waitFor } from './helpers/queues.ts';

/**
 * In production every cookie is `__Host-` prefixed: a browser stores it only when Secure, `Path=/` and without
 * `Domain`, so a sibling subdomain cannot plant a session (fixation) or a guest cart in a shopper's browser.
 * Production still reads the old plain names during the upgrade and moves them; development keeps plain names.
 */
const setCookiesOf = (header: string | string[] | undefined): string[] => ([] as string[]).concat(header ?? []);
const find = (header: string | string[] | undefined, name: string) => setCookiesOf(header).find((c) => c.startsWith(`${name}=`));
const pair = (header: string | string[] | undefined, name: string) => find(header, name)?.split(';')[0];

function assertHostCookie(header: string | string[] | undefined, name: string): void {
  const cookie = find(header, `__Host-${name}`);
  assert.ok(cookie, `sets __Host-${name}: ${JSON.stringify(header)}`);
  assert.match(cookie, /; Secure/);
  assert.match(cookie, /; Path=\/(;|$)/);
  assert.match(cookie, /; HttpOnly/);
  assert.doesNotMatch(cookie, /Domain=/i);
  assert.ok(!setCookiesOf(header).some((c) => c.startsWith(`${name}=`) && !c.startsWith(`${name}=;`)), `no plain ${name} cookie is set (only cleared)`);
}

describe('cookies in production', () => {
  let t: TestApp;
  let productId: number;

  before(async () => {
    t = await createTestApp({ NODE_ENV: 'production', HOST: '127.0.0.1' });
    const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'HC-1', name: 'Widget', priceCents: 500, available: 10 } });
    assert.equal(product.statusCode, 201, product.body);
    productId = product.json().id;
  });
  after(() => t.close());

  const register = (email: string) => t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email, password: 'a long password', name: 'Ada' } });

  it('names the session, device and guest cart cookies __Host-, Secure, Path=/ and without Domain', async () => {
    const registered = await register('host@example.com');
    assert.equal(registered.statusCode, 201, registered.body);
    assertHostCookie(registered.headers['set-cookie'], 'salescale_sid');
    assertHostCookie(registered.headers['set-cookie'], 'salescale_device');
    const session = pair(registered.headers['set-cookie'], '__Host-salescale_sid');
    assert.equal((await t.app.inject({ url: '/api/v1/me', headers: { cookie: session } })).statusCode, 200);
    // A session cookie under the plain name set by a sibling subdomain is not the session when ours is there.
    const both = await t.app.inject({ url: '/api/v1/me', headers: { cookie: `salescale_sid=planted; ${session}` } });
    assert.equal(both.statusCode, 200, both.body);

    const cart = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, payload: { quantity: 1 } });
    assert.equal(cart.statusCode, 200, cart.body);
    assertHostCookie(cart.headers['set-cookie'], 'salescale_guest');
  });

  it('still signs in with a session cookie under the old plain name, and moves it to the __Host- name', async () => {
    const registered = await register('legacy@example.com');
    const id = pair(registered.headers['set-cookie'], '__Host-salescale_sid')?.split('=')[1];
    assert.ok(id);
    const me = await t.app.inject({ url: '/api/v1/me', headers: { cookie: `salescale_sid=${id}` } });
    assert.equal(me.statusCode, 200, me.body);
    assert.equal(me.json().email, 'legacy@example.com');
    assertHostCookie(me.headers['set-cookie'], 'salescale_sid');
    assert.equal(pair(me.headers['set-cookie'], '__Host-salescale_sid'), `__Host-salescale_sid=${id}`, 'the same session');
    assert.match(setCookiesOf(me.headers['set-cookie']).find((c) => c.startsWith('salescale_sid=;')) ?? '', /Max-Age=0|Expires=Thu, 01 Jan 1970/, 'the old cookie is cleared');
    // Signing out with the old cookie ends the session.
    const out = await t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers: { cookie: `salescale_sid=${id}` } });
    assert.equal(out.statusCode, 204, out.body);
    assert.equal((await t.app.inject({ url: '/api/v1/me', headers: { cookie: `__Host-salescale_sid=${id}` } })).statusCode, 401);
  });

  it('moves an old plain session cookie only on API replies, never on a publicly cacheable asset', async () => {
    const registered = await register('legacy-asset@example.com');
    const id = pair(registered.headers['set-cookie'], '__Host-salescale_sid')?.split('=')[1];
    assert.ok(id);
    // A shared cache may keep a `public` reply with its Set-Cookie and hand this session to every later visitor.
    const asset = await t.app.inject({ url: '/assets/storefront.js', headers: { cookie: `salescale_sid=${id}` } });
    assert.equal(asset.statusCode, 200);
    assert.match(String(asset.headers['cache-control']), /public/);
    assert.equal(asset.headers['set-cookie'], undefined, 'no cookie on a publicly cacheable reply');
    const me = await t.app.inject({ url: '/api/v1/me', headers: { cookie: `salescale_sid=${id}` } });
    assert.equal(me.statusCode, 200, me.body);
    assert.equal(pair(me.headers['set-cookie'], '__Host-salescale_sid'), `__Host-salescale_sid=${id}`, 'the API moves it');
  });

  it('keeps a guest cart under the old plain cookie name, and moves the cookie at the next change', async () => {
    const first = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, payload: { quantity: 2 } });
    const value = pair(first.headers['set-cookie'], '__Host-salescale_guest')?.slice('__Host-salescale_guest='.length);
    assert.ok(value);
    const cart = await t.app.inject({ url: '/api/v1/cart', headers: { cookie: `salescale_guest=${value}` } });
    assert.equal(cart.json().items[0]?.quantity, 2, cart.body);
    const changed = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, headers: { cookie: `salescale_guest=${value}` }, payload: { quantity: 3 } });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal(pair(changed.headers['set-cookie'], '__Host-salescale_guest'), `__Host-salescale_guest=${value}`, 'the same guest cart');
    assert.ok(setCookiesOf(changed.headers['set-cookie']).some((c) => c.startsWith('salescale_guest=;')), 'the old cookie is cleared');
  });

  it('names the waiting-room visitor cookie __Host-, and moves an old one keeping the visitor', async () => {
    const now = Date.now();
    const sale = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/sale-events',
      headers: t.admin,
      payload: { name: 'Drop', startsAt: new Date(now + 3_600_000).toISOString(), endsAt: new Date(now + 7_200_000).toISOString(), productIds: [productId], waitingRoom: { enabled: true, admissionPerSecond: 5 } },
    });
    assert.equal(sale.statusCode, 201, sale.body);
    // The instance re-reads its waiting rooms every WAITING_ROOM_EVENTS_REFRESH_MS (1 s), later on a loaded machine.
    await waitFor('the instance to see the waiting room', async () => (await t.app.inject({ url: `/api/v1/sale-events/${sale.json().id}/queue` })).statusCode === 200);
    const join = () => t.app.inject({ method: 'POST', url: `/api/v1/sale-events/${sale.json().id}/queue`, headers: { cookie: `salescale_visitor=${'v'.repeat(22)}` } });
    const first = await join();
    assert.equal(first.statusCode, 201, first.body);
    assertHostCookie(first.headers['set-cookie'], 'salescale_visitor');
    assert.equal(pair(first.headers['set-cookie'], '__Host-salescale_visitor'), `__Host-salescale_visitor=${'v'.repeat(22)}`, 'the same visitor');
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/sale-events/${sale.json().id}/queue`, headers: { cookie: `__Host-salescale_visitor=${'v'.repeat(22)}` } });
    assert.equal(again.json().ticket, first.json().ticket, 'the same ticket');
  });
});

describe('cookies in development', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ NODE_ENV: 'development' });
  });
  after(() => t.close());

  it('keeps the plain names, not Secure (plain http), and ignores __Host- ones', async () => {
    const registered = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'dev@example.com', password: 'a long password', name: 'Dev' } });
    assert.equal(registered.statusCode, 201, registered.body);
    const session = find(registered.headers['set-cookie'], 'salescale_sid');
    assert.ok(session);
    assert.doesNotMatch(session, /Secure/);
    assert.ok(find(registered.headers['set-cookie'], 'salescale_device'));
    assert.ok(!setCookiesOf(registered.headers['set-cookie']).some((c) => c.startsWith('__Host-')));
    assert.equal((await t.app.inject({ url: '/api/v1/me', headers: { cookie: session.split(';')[0] } })).statusCode, 200);
  });
});

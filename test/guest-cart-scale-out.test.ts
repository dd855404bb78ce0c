import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { GUEST_COOKIE } from '../src/modules/cart/index.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { sessionCookieOf } from './helpers/commerce.ts';
import { request, type Json, type JsonReply } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';

/**
 * Guest carts and guest orders across two `salescale serve` processes (real sockets, one PostgreSQL,
 * one Redis): a cart built on one instance is merged at a sign-in on the other, once, however many
 * sign-ins race; a guest's order link works on every instance and nobody else's does.
 */
describe('guest carts and orders on two instances', () => {
  let t: TestApp;
  let a: Instance;
  let b: Instance;
  const password = 'a long enough password';

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '100000', RATE_LIMIT_LOGIN_MAX: '100000', RATE_LIMIT_GENERAL_MAX: '100000' });
    const env = { ...t.env, RATE_LIMIT_CHECKOUT_MAX: '100000', RATE_LIMIT_LOGIN_MAX: '100000', RATE_LIMIT_GENERAL_MAX: '100000', LOG_LEVEL: process.env.DEBUG_INSTANCES ? 'warn' : 'silent' };
    [a, b] = await Promise.all([startInstance({ env, timeoutMs: 90_000 }), startInstance({ env, timeoutMs: 90_000 })]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    if (process.env.DEBUG_INSTANCES) console.log(a?.output(), b?.output());
    await t?.close();
  });

  const guestCookieOf = (reply: JsonReply) =>
    reply.headers
      .getSetCookie()
      .find((c) => c.startsWith(`${GUEST_COOKIE}=`))
      ?.split(';')[0];

  async function createProduct(available = 50): Promise<number> {
    const reply = await request(`${a.url}/api/v1/admin/products`, {
      method: 'POST',
      headers: t.admin,
      body: { sku: `gc-${Math.random().toString(36).slice(2)}`, name: 'Cart item', priceCents: 700, available },
    });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return reply.body.id;
  }

  function put(instance: Instance, productId: number, quantity: number, cookie?: string): Promise<JsonReply> {
    return request(`${instance.url}/api/v1/cart/items/${productId}`, { method: 'PUT', headers: cookie ? { cookie } : {}, body: { quantity } });
  }

  async function cartOf(instance: Instance, cookie: string): Promise<Record<number, number>> {
    const reply = await request(`${instance.url}/api/v1/cart`, { headers: { cookie } });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return Object.fromEntries(reply.body.items.map((item: Json) => [item.productId, item.quantity]));
  }

  async function register(instance: Instance, email: string): Promise<string> {
    const reply = await request(`${instance.url}/api/v1/customers`, { method: 'POST', body: { email, password, name: 'Shopper' } });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return sessionCookieOf(reply.headers.getSetCookie())!;
  }

  function signIn(instance: Instance, email: string, guest: string): Promise<JsonReply> {
    return request(`${instance.url}/api/v1/sessions`, { method: 'POST', headers: { cookie: guest }, body: { email, password } });
  }

  /** A guest cart built on A with the given lines; returns its cookie. */
  async function guestCartOnA(lines: [number, number][]): Promise<string> {
    const first = await put(a, lines[0]![0], lines[0]![1]);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const guest = guestCookieOf(first)!;
    assert.ok(guest, 'the first guest change sets the guest cookie');
    for (const [productId, quantity] of lines.slice(1)) assert.equal((await put(a, productId, quantity, guest)).status, 200);
    return guest;
  }

  it('merges a guest cart built on A at a sign-in on B: quantities of a product in both carts are added, nothing lost', async () => {
    const mug = await createProduct();
    const plate = await createProduct();
    const email = 'merge-ab@example.com';
    const account = await register(b, email);
    assert.equal((await put(b, mug, 1, account)).status, 200, 'the account already holds one mug');
    const guest = await guestCartOnA([
      [mug, 2],
      [plate, 3],
    ]);
    assert.deepEqual(await cartOf(b, guest), { [mug]: 2, [plate]: 3 }, 'B serves the guest cart A built');

    const login = await signIn(b, email, guest);
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.ok(
      login.headers.getSetCookie().some((c) => c.startsWith(`${GUEST_COOKIE}=;`)),
      'the guest cookie is cleared',
    );
    const session = sessionCookieOf(login.headers.getSetCookie())!;
    const expected = { [mug]: 3, [plate]: 3 };
    assert.deepEqual(await cartOf(a, session), expected);
    assert.deepEqual(await cartOf(b, session), expected);
    assert.deepEqual(await cartOf(a, guest), {}, 'the guest cart is gone on A too');

    // Signing in again with the old guest cookie (a retry, a back button) adds nothing.
    const retry = await signIn(a, email, guest);
    assert.equal(retry.status, 200);
    assert.deepEqual(await cartOf(a, sessionCookieOf(retry.headers.getSetCookie())!), expected);
  });

  it('merges once when several sign-ins race on both instances with one guest cookie', async () => {
    const mug = await createProduct();
    const plate = await createProduct();
    const email = 'merge-race@example.com';
    const account = await register(a, email);
    assert.equal((await put(a, plate, 4, account)).status, 200);
    const guest = await guestCartOnA([
      [mug, 1],
      [plate, 2],
    ]);
    const logins = await Promise.all(Array.from({ length: 6 }, (_, i) => signIn(i % 2 ? a : b, email, guest)));
    for (const login of logins) assert.equal(login.status, 200, JSON.stringify(login.body));
    const expected = { [mug]: 1, [plate]: 6 };
    // Every sign-in opened a session of its own; each sees the guest lines added once, not six times.
    for (const [i, login] of logins.entries()) assert.deepEqual(await cartOf(i % 2 ? b : a, sessionCookieOf(login.headers.getSetCookie())!), expected);
    assert.deepEqual(await cartOf(b, guest), {});
  });

  it('orders a cart once when its checkouts race on both instances with their own keys: one 201, the others CART_BUSY or EMPTY_CART', async () => {
    const ordersOf = async (productId: number) =>
      Number((await t.platform.db.primary.execute<{ n: string }>(sql`select count(distinct order_id) as n from order_items where product_id = ${productId}`)).rows[0]!.n);
    const account = await register(a, 'cart-once@example.com');
    for (const [who, body] of [
      ['customer', {}],
      ['guest', { email: 'cart-once.guest@example.com' }],
    ] as const) {
      const productId = await createProduct(50);
      const cookie = who === 'customer' ? account : await guestCartOnA([[productId, 2]]);
      if (who === 'customer') assert.equal((await put(a, productId, 2, cookie)).status, 200);
      const replies = await Promise.all(
        Array.from({ length: 8 }, (_, i) => request(`${(i % 2 ? b : a).url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': `cart-once-${who}-${i}` }, body })),
      );
      const outcomes = replies.map((reply) => (reply.status === 201 ? '201' : `${reply.status} ${reply.body?.error?.code}`));
      assert.equal(outcomes.filter((outcome) => outcome === '201').length, 1, `${who}: ${outcomes.join(', ')}`);
      for (const outcome of outcomes.filter((outcome) => outcome !== '201')) assert.match(outcome, /^(409 CART_BUSY|422 EMPTY_CART)$/, `${who}: ${outcomes.join(', ')}`);
      const placed = replies.find((reply) => reply.status === 201)!;
      assert.deepEqual(placed.body.items.map((item: Json) => [item.productId, item.quantity]), [[productId, 2]]);
      assert.deepEqual(await cartOf(a, cookie), {}, `${who}: the ordered cart is empty on A`);
      assert.deepEqual(await cartOf(b, cookie), {}, `${who}: and on B`);
      assert.equal(await ordersOf(productId), 1, `${who}: one order in PostgreSQL`);
    }
  });

  it('lets a guest see and pay only their own order, on either instance; another guest gets 404 and nothing changes', async () => {
    const productId = await createProduct(10);
    const checkout = async (instance: Instance, email: string) => {
      const guest = await guestCartOnA([[productId, 1]]);
      const reply = await request(`${instance.url}/api/v1/orders`, { method: 'POST', headers: { cookie: guest, 'idempotency-key': `gc-${email}` }, body: { email } });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      return { guest, order: reply.body };
    };
    const ann = await checkout(a, 'ann.guest@example.com');
    const bob = await checkout(b, 'bob.guest@example.com');
    for (const instance of [a, b]) {
      const own = await request(`${instance.url}/api/v1/guest-orders/${ann.order.accessToken}`);
      assert.equal(own.status, 200);
      assert.equal(own.body.id, ann.order.id);
    }
    const [annId, annMac] = ann.order.accessToken.split('.');
    const [bobId, bobMac] = bob.order.accessToken.split('.');
    for (const instance of [a, b]) {
      for (const token of [`${bobId}.${annMac}`, `${annId}.${bobMac}`]) {
        const seen = await request(`${instance.url}/api/v1/guest-orders/${token}`, { headers: { cookie: ann.guest } });
        assert.equal(seen.status, 404, token);
        assert.equal(seen.body.error.code, 'ORDER_NOT_FOUND');
        const paid = await request(`${instance.url}/api/v1/guest-orders/${token}/pay`, { method: 'POST', headers: { cookie: ann.guest }, body: { token: 'tok_ok' } });
        assert.equal(paid.status, 404, token);
        assert.equal(paid.body.error.code, 'ORDER_NOT_FOUND');
      }
      // The account routes are not a way round it: a guest is not signed in.
      const byId = await request(`${instance.url}/api/v1/orders/${bobId}`, { headers: { cookie: ann.guest } });
      assert.equal(byId.status, 401);
      assert.equal(byId.body.error.code, 'NOT_SIGNED_IN');
    }
    const bobNow = await request(`${b.url}/api/v1/guest-orders/${bob.order.accessToken}`);
    assert.equal(bobNow.body.status, 'pending_payment', "another guest's attempts changed nothing");
    const paid = await request(`${b.url}/api/v1/guest-orders/${ann.order.accessToken}/pay`, { method: 'POST', body: { token: 'tok_ok' } });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    assert.equal(paid.body.status, 'paid');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../../../test/helpers/commerce.ts';
import { GUEST_COOKIE } from '../cart/index.ts';
import { createGuestOrderLinks, createOrderPageUrls } from './guest-links.ts';
import { MAX_ORDER_LINE_QUANTITY } from './orders.limits.ts';

describe('guest checkout', () => {
  let t: TestApp;
  let productId: number;

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '10000' });
    const product = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/products',
      headers: t.admin,
      payload: { sku: 'guest-1', name: 'Guest item', priceCents: 1500, available: 20, maxPerCustomer: 2 },
    });
    assert.equal(product.statusCode, 201, product.body);
    productId = product.json().id;
  });
  after(() => t.close());

  const guestCookieOf = (reply: { headers: Record<string, unknown> }) =>
    ([] as string[]).concat((reply.headers['set-cookie'] as string | string[] | undefined) ?? []).find((c) => c.startsWith(`${GUEST_COOKIE}=`))?.split(';')[0];
  const order = (payload: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': `g-${Math.random()}`, ...headers }, payload });

  it('orders a guest cart with an email; each guest sees only their own order, by its signed link', async () => {
    const added = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, payload: { quantity: 1 } });
    const cookie = guestCookieOf(added)!;
    const a = await order({ email: 'Ann@Example.com' }, { cookie });
    assert.equal(a.statusCode, 201, a.body);
    assert.equal(a.json().status, 'pending_payment');
    assert.match(a.json().accessToken, /^\d+\.[\w-]+$/);
    assert.deepEqual((await t.app.inject({ method: 'GET', url: '/api/v1/cart', headers: { cookie } })).json().items, [], 'the guest cart was ordered');
    const b = await order({ email: 'bob@example.com', items: [{ productId, quantity: 1 }] });
    assert.equal(b.statusCode, 201, b.body);

    const own = await t.app.inject({ method: 'GET', url: `/api/v1/guest-orders/${a.json().accessToken}` });
    assert.equal(own.statusCode, 200);
    assert.equal(own.json().id, a.json().id);
    const [aId, aMac] = a.json().accessToken.split('.');
    const [bId, bMac] = b.json().accessToken.split('.');
    for (const token of [`${aId}.${bMac}`, `${bId}.${aMac}`, `${aId}.x${aMac.slice(1)}`, `${Number(aId) + 1}.${aMac}`]) {
      const other = await t.app.inject({ method: 'GET', url: `/api/v1/guest-orders/${token}` });
      assert.equal(other.statusCode, 404, token);
      assert.equal(other.json().error.code, 'ORDER_NOT_FOUND');
    }
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/guest-orders/not-a-token' })).statusCode, 400);
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/orders/${aId}`, headers: { cookie } })).statusCode, 401, 'the account routes stay for accounts');
    // An account's order is never served through a guest link.
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'acct');
    const [session] = await mintSessionCookies(t.env, [customerId!]);
    const mine = await order({ items: [{ productId, quantity: 1 }] }, { cookie: session! });
    assert.equal(mine.json().accessToken, undefined);

    const paid = await t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${a.json().accessToken}/pay`, payload: { token: 'tok_ok' } });
    assert.equal(paid.statusCode, 200, paid.body);
    assert.equal(paid.json().status, 'paid');
    const forgedPay = await t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${bId}.${aMac}/pay`, payload: { token: 'tok_ok' } });
    assert.equal(forgedPay.statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/guest-orders/${b.json().accessToken}` })).json().status, 'pending_payment');
  });

  it('serves an account\'s order through no guest link route, paying included, even under a link signed for its id', async () => {
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'acct-pay');
    const [session] = await mintSessionCookies(t.env, [customerId!]);
    const mine = await order({ items: [{ productId, quantity: 1 }] }, { cookie: session! });
    assert.equal(mine.statusCode, 201, mine.body);
    // A link for the account's order id, as the shop's secret signs one (the checkout never issues it for an account).
    const link = createGuestOrderLinks(t.env.SESSION_SECRET!, { ttlS: 3600 }).sign(mine.json().id);
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/guest-orders/${link}` })).statusCode, 404);
    const paid = await t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${link}/pay`, payload: { token: 'tok_ok' } });
    assert.equal(paid.statusCode, 404, `the guest link paid an account's order: ${paid.body}`);
    assert.equal(paid.json().error.code, 'ORDER_NOT_FOUND');
    const read = await t.app.inject({ method: 'GET', url: `/api/v1/orders/${mine.json().id}`, headers: { cookie: session! } });
    assert.equal(read.json().status, 'pending_payment');
  });

  it('counts an email with a plus tag as its buyer for purchase caps, and gives it back on cancellation', async () => {
    const first = await order({ email: 'plus@example.com', items: [{ productId, quantity: 2 }] });
    assert.equal(first.statusCode, 201, first.body);
    // One mailbox (RFC 5233 subaddress): the cap (2) counts it as the same buyer, whatever the tag or case.
    for (const email of ['plus+second@example.com', 'Plus+Sale.2@Example.com']) {
      const tagged = await order({ email, items: [{ productId, quantity: 1 }] });
      assert.equal(tagged.statusCode, 409, `${email}: ${tagged.body}`);
      assert.equal(tagged.json().error.code, 'PURCHASE_LIMIT_EXCEEDED');
    }
    // What a tagged address bought comes off its buyer's count when the order is cancelled.
    const tagged = await order({ email: 'rel+1@example.com', items: [{ productId, quantity: 2 }] });
    assert.equal(tagged.statusCode, 201, tagged.body);
    const cancelled = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${tagged.json().id}/cancel`, headers: t.admin });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    const again = await order({ email: 'rel@example.com', items: [{ productId, quantity: 2 }] });
    assert.equal(again.statusCode, 201, again.body);
  });

  it('stops serving a guest order link GUEST_ORDER_LINK_TTL_S after the order was placed', async () => {
    const placed = await order({ email: 'old@example.com', items: [{ productId, quantity: 1 }] });
    assert.equal(placed.statusCode, 201, placed.body);
    const { id, accessToken } = placed.json();
    const read = () => t.app.inject({ method: 'GET', url: `/api/v1/guest-orders/${accessToken}` });
    assert.equal((await read()).statusCode, 200);
    // Placed 91 days ago (the default is 90 days): a link forwarded, logged or left in a browser's history
    // no longer shows what was bought.
    await t.platform.db.primary.execute(sql`update orders set created_at = now() - interval '91 days' where id = ${id}`);
    const stale = await read();
    assert.equal(stale.statusCode, 404, stale.body);
    assert.equal(stale.json().error.code, 'ORDER_NOT_FOUND');
    // An expired genuine link answers what a forged one does: the reply tells a guesser nothing about the token.
    const [, mac] = (accessToken as string).split('.') as [string, string];
    const forged = await t.app.inject({ method: 'GET', url: `/api/v1/guest-orders/${id}.${mac.endsWith('A') ? 'B' : 'A'}${mac.slice(1)}` });
    const { requestId: _stale, ...staleError } = stale.json().error;
    const { requestId: _forged, ...forgedError } = forged.json().error;
    assert.deepEqual(staleError, forgedError);
    assert.equal(staleError.details, undefined, `the 404 names no order: ${stale.body}`);
    await t.platform.db.primary.execute(sql`update orders set created_at = now() - interval '89 days' where id = ${id}`);
    assert.equal((await read()).statusCode, 200, 'still served within the window');
  });

  it('takes a guest order link only as it was given: its order id spelt with leading zeros is the unknown link\'s 404', async () => {
    const placed = await order({ email: 'zeros@example.com', items: [{ productId, quantity: 1 }] });
    assert.equal(placed.statusCode, 201, placed.body);
    const [id, mac] = (placed.json().accessToken as string).split('.') as [string, string];
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/guest-orders/${id}.${mac}` })).statusCode, 200);
    // `0<id>` read as the same number was a second (and third…) spelling of the credential: caches, logs and rate
    // limits keyed by the path saw different links for one order.
    for (const path of [`/api/v1/guest-orders/0${id}.${mac}`, `/api/v1/guest-orders/00${id}.${mac}/cancel`, `/api/v1/guest-orders/0${id}.${mac}/pay`]) {
      const reply = await t.app.inject({ method: path.endsWith(mac) ? 'GET' : 'POST', url: path, payload: path.endsWith('/pay') ? { token: 'tok_ok' } : undefined });
      assert.equal(reply.statusCode, 404, `${path}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'ORDER_NOT_FOUND');
    }
    const read = await t.app.inject({ method: 'GET', url: `/api/v1/guest-orders/${id}.${mac}` });
    assert.equal(read.json().status, 'pending_payment', 'neither cancelled nor paid by the other spellings');
  });

  it('holds the per-customer cap per guest email, whatever the cookie; refuses a guest without an email', async () => {
    const first = await order({ email: 'cap@example.com', items: [{ productId, quantity: 2 }] });
    assert.equal(first.statusCode, 201, first.body);
    const again = await order({ email: 'CAP@example.com', items: [{ productId, quantity: 1 }] });
    assert.equal(again.statusCode, 409, again.body);
    assert.equal(again.json().error.code, 'PURCHASE_LIMIT_EXCEEDED');
    const noEmail = await order({ items: [{ productId, quantity: 1 }] });
    assert.equal(noEmail.statusCode, 401);
    assert.equal(noEmail.json().error.code, 'NOT_SIGNED_IN');
    const badEmail = await order({ email: 'not-an-email', items: [{ productId, quantity: 1 }] });
    assert.equal(badEmail.statusCode, 400);
    assert.equal(badEmail.json().error.code, 'VALIDATION_FAILED');
    // A guest record never signs in, and an account can still be opened with that email.
    const login = await t.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email: 'cap@example.com', password: 'anything at all' } });
    assert.equal(login.statusCode, 401);
    const register = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'cap@example.com', password: 'a long password', name: 'Cap' } });
    assert.equal(register.statusCode, 201, register.body);
  });

  // A guest's record is written for its first order (an upsert on the email's unique index).
  it('places two first orders of one email at once, both under one guest record', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'GUEST-TWICE', name: 'Mug', priceCents: 900, available: 10 } });
    assert.equal(created.statusCode, 201, created.body);
    const twiceId = created.json().id as number;
    assert.equal((await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${twiceId}`, headers: t.admin, payload: { status: 'active' } })).statusCode, 200);
    const email = 'guest-twice@example.com';
    const replies = await Promise.all([order({ email, items: [{ productId: twiceId, quantity: 1 }] }), order({ email, items: [{ productId: twiceId, quantity: 1 }] })]);
    for (const reply of replies) assert.equal(reply.statusCode, 201, reply.body);
    assert.notEqual(replies[0]!.json().id, replies[1]!.json().id);
    const rows = await t.platform.db.primary.execute<{ id: string; orders: string }>(
      sql`select c.id, (select count(*) from orders o where o.customer_id = c.id) as orders from customers c where lower(c.email) = ${email} and c.guest`,
    );
    assert.equal(rows.rows.length, 1, 'one guest record for the email');
    assert.equal(Number(rows.rows[0]!.orders), 2);
  });

  // A refused request writes nothing: a guest checkout that can place no order must not leave a customer record for
  // the email it named (or anyone could fill the table with addresses that never bought).
  it('answers a guest checkout of an empty cart 422 EMPTY_CART and writes no guest customer record', async () => {
    const email = 'empty-cart-guest@example.com';
    const reply = await order({ email });
    assert.equal(reply.statusCode, 422, reply.body);
    assert.equal(reply.json().error.code, 'EMPTY_CART');
    const rows = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from customers where lower(email) = ${email}`);
    assert.equal(Number(rows.rows[0]!.n), 0, 'a refused guest checkout left a customer record for its email');
  });

  it('writes no guest customer record for a refused guest checkout with lines (over the cap, unknown product, too many units)', async () => {
    const refusals: [string, object, number, string][] = [
      ['over-cap-guest@example.com', { items: [{ productId, quantity: 3 }] }, 409, 'PURCHASE_LIMIT_EXCEEDED'],
      ['unknown-product-guest@example.com', { items: [{ productId: 2_000_000_000, quantity: 1 }] }, 422, 'UNKNOWN_PRODUCT'],
      ['too-many-units-guest@example.com', { items: [{ productId, quantity: MAX_ORDER_LINE_QUANTITY }, { productId, quantity: 1 }] }, 422, 'LINE_QUANTITY_TOO_LARGE'],
    ];
    for (const [email, payload, status, code] of refusals) {
      const reply = await order({ email, ...payload });
      assert.equal(reply.statusCode, status, `${email}: ${reply.body}`);
      assert.equal(reply.json().error.code, code);
      const rows = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from customers where lower(email) = ${email}`);
      assert.equal(Number(rows.rows[0]!.n), 0, `a refused guest checkout (${code}) left a customer record for ${email}`);
    }
  });

  it('answers a forged guest order link with a 404 that names no order the client never asked for (no "order 0")', async () => {
    const placed = await order({ email: `guest-${Math.random().toString(36).slice(2)}@example.com`, items: [{ productId, quantity: 1 }] });
    assert.equal(placed.statusCode, 201, placed.body);
    const [id, mac] = (placed.json().accessToken as string).split('.') as [string, string];
    const forged = `${id}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    const reply = await t.app.inject({ method: 'GET', url: `/api/v1/guest-orders/${forged}` });
    assert.equal(reply.statusCode, 404, reply.body);
    const error = reply.json().error;
    assert.equal(error.code, 'ORDER_NOT_FOUND');
    // An internal placeholder leaks into the reply: "order 0 does not exist", details { id: 0 }.
    assert.doesNotMatch(error.message, /\border 0\b/, `the 404 names a placeholder order: ${reply.body}`);
    assert.notEqual(error.details?.id, 0, `details name order 0: ${reply.body}`);
  });
});

describe('order page addresses in emails (createOrderPageUrls)', () => {
  const links = createGuestOrderLinks('s'.repeat(32), { ttlS: 3600 });

  it('resolves the page against SHOP_URL, whatever slash, path prefix, query or fragment it carries', () => {
    const token = links.sign(7);
    for (const [shopUrl, prefix] of [
      ['https://shop.example', 'https://shop.example/'],
      ['https://shop.example/', 'https://shop.example/'],
      ['https://shop.example/store', 'https://shop.example/store/'],
      ['https://shop.example/store/?utm_source=email#top', 'https://shop.example/store/'],
    ] as const) {
      const url = createOrderPageUrls(shopUrl, links);
      assert.equal(url(7, true), `${prefix}guest-orders/${token}`, shopUrl);
      assert.equal(url(7, false), `${prefix}orders/7`, shopUrl);
    }
    // The guest's address carries a token the web role takes back.
    assert.equal(links.verify(createOrderPageUrls('https://shop.example', links)(7, true).split('/').at(-1) ?? ''), 7);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import type { Json } from './helpers/http.ts';

/** Defects an outside QA pass found through the public API, each as a test that holds once it is fixed. */
describe('QA probes of the public API', () => {
  let t: TestApp;
  let alice: string;

  async function createProduct(fields: Record<string, unknown> = {}): Promise<Json> {
    const reply = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/products',
      headers: t.admin,
      payload: { sku: `qa-${randomUUID()}`, name: 'QA item', priceCents: 1000, available: 10, ...fields },
    });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json();
  }

  async function placePaidOrder(productId: number): Promise<Json> {
    const placed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { cookie: alice, 'idempotency-key': randomUUID() },
      payload: { items: [{ productId, quantity: 2 }] },
    });
    assert.equal(placed.statusCode, 201, placed.body);
    const paid = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.json().id}/pay`, headers: { cookie: alice }, payload: { token: 'tok_ok' } });
    assert.equal(paid.statusCode, 200, paid.body);
    return paid.json();
  }

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '1000' });
    const ids = await insertCustomers(t.platform.db.primary, 1, 'qa');
    [alice] = (await mintSessionCookies(t.env, ids)) as [string];
  });
  after(() => t.close());

  it('refuses an admin refund carrying fields it does not read (a partial amount) instead of refunding the whole order', async () => {
    const product = await createProduct();
    const order = await placePaidOrder(product.id);
    // README: "Unknown fields in a body or query are refused, never silently dropped". An operator who asks
    // for a partial refund must not get a full one.
    const refund = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${order.id}/refund`, headers: t.admin, payload: { amountCents: 100 } });
    assert.equal(refund.statusCode, 400, `a refund body with an unknown field was answered ${refund.statusCode}: ${refund.body}`);
    assert.equal(refund.json().error.code, 'VALIDATION_FAILED');
    const detail = await t.app.inject({ method: 'GET', url: `/api/v1/admin/orders/${order.id}`, headers: t.admin });
    assert.equal(detail.json().status, 'paid', 'the refused refund changed nothing');
  });

  it('refuses a new password that is the account’s own email address (PASSWORD_TOO_COMMON, reason context)', async () => {
    const email = `jane.doe.${randomUUID().slice(0, 8)}@example.com`;
    // README: a new password "a guesser would try first" is 422 PASSWORD_TOO_COMMON; `context` covers the email's
    // local part. The whole address, the first thing tried against an account, is taken.
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email, password: email, name: 'Jane Doe' } });
    assert.equal(reply.statusCode, 422, `a password equal to the email was answered ${reply.statusCode}: ${reply.body}`);
    assert.equal(reply.json().error.code, 'PASSWORD_TOO_COMMON');
    assert.equal(reply.json().error.details.reason, 'context');
  });

  it('answers a forged guest order link with a 404 that names no order the client never asked for (no "order 0")', async () => {
    const product = await createProduct();
    const placed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: { email: `guest-${randomUUID()}@example.com`, items: [{ productId: product.id, quantity: 1 }] },
    });
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

  it('answers an unknown path under the queue dashboard with 404 ROUTE_NOT_FOUND in the error shape (not Fastify\'s default body)', async () => {
    // README: "Unknown routes are 404 ROUTE_NOT_FOUND ... all in the shape above"; "Every error has one shape".
    const reply = await t.app.inject({ url: '/admin/queues/no-such-page', headers: t.admin });
    assert.equal(reply.statusCode, 404, reply.body);
    const body = reply.json();
    assert.equal(body.error?.code, 'ROUTE_NOT_FOUND', `not the documented error shape: ${reply.body}`);
    assert.equal(body.error.requestId, reply.headers['x-request-id']);
  });

  it('names a missing sale event in words, not by an internal identifier ("sale_event 999999 does not exist")', async () => {
    const reply = await t.app.inject({ url: '/api/v1/admin/sale-events/999999', headers: t.admin });
    assert.equal(reply.statusCode, 404, reply.body);
    const error = reply.json().error;
    assert.equal(error.code, 'SALE_EVENT_NOT_FOUND');
    // Every other not-found reads "product 5 does not exist", "category 5 does not exist", "sale event 5 has no waiting room".
    assert.doesNotMatch(error.message, /sale_event/, `internal identifier in the message: ${error.message}`);
  });

  it('names each product once in PASS_REQUIRED details when the items repeat a product (they are merged)', async () => {
    const product = await createProduct();
    const sale = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/sale-events',
      headers: t.admin,
      payload: {
        name: 'QA queued sale',
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        productIds: [product.id],
        waitingRoom: { enabled: true, admissionPerSecond: 10 },
      },
    });
    assert.equal(sale.statusCode, 201, sale.body);
    // Each instance re-reads the rooms every WAITING_ROOM_EVENTS_REFRESH_MS: wait (polled, with a deadline) until it serves this one.
    const deadline = Date.now() + 30_000;
    while ((await t.app.inject({ url: `/api/v1/sale-events/${sale.json().id}/queue` })).statusCode !== 200) {
      assert.ok(Date.now() < deadline, 'the instance never served the sale’s waiting room');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const reply = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { cookie: alice, 'idempotency-key': randomUUID() },
      payload: { items: [{ productId: product.id, quantity: 1 }, { productId: product.id, quantity: 1 }] },
    });
    assert.equal(reply.statusCode, 403, reply.body);
    const error = reply.json().error;
    assert.equal(error.code, 'PASS_REQUIRED');
    assert.deepEqual(error.details.productIds, [product.id], `details repeat the product: ${reply.body}`);
  });

  it('refuses a JSON body sent as text/plain with 415 UNSUPPORTED_MEDIA_TYPE, as text/xml is (not 400 "must be object")', async () => {
    const product = await createProduct();
    const reply = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/cart/items/${product.id}`,
      headers: { cookie: alice, 'content-type': 'text/plain' },
      payload: JSON.stringify({ quantity: 1 }),
    });
    assert.equal(reply.statusCode, 415, `a body of the wrong media type was answered ${reply.statusCode}: ${reply.body}`);
    assert.equal(reply.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

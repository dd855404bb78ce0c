import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { findUnreadBody } from '../src/platform/http/no-body.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';

describe('a body sent to a route that reads none', () => {
  it('is taken when absent or {}, and refused by its first field otherwise, as a schema names its first issue', () => {
    assert.deepEqual(findUnreadBody(undefined), []);
    assert.deepEqual(findUnreadBody({}), []);
    assert.deepEqual(
      findUnreadBody({ productId: 1, x: 2 }).map((issue) => issue.params.additionalProperty),
      ['productId'],
    );
    for (const other of [null, [], 'x=1', 0]) assert.equal(findUnreadBody(other).length, 1, JSON.stringify(other));
  });

  describe('through the API', () => {
    let t: TestApp;
    let cookie: string;
    let productId: number;
    before(async () => {
      t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '1000' });
      [cookie] = (await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 1, 'unread'))) as [string];
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `ub-${randomUUID()}`, name: 'Item', priceCents: 500, available: 10 } });
      assert.equal(created.statusCode, 201, created.body);
      productId = created.json().id;
    });
    after(() => t.close());

    const placeOrder = async () => {
      const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': randomUUID() }, payload: { items: [{ productId, quantity: 1 }] } });
      assert.equal(placed.statusCode, 201, placed.body);
      return placed.json().id as number;
    };
    const refused = (reply: { statusCode: number; body: string; json: () => { error: { code: string; details: { in: string; issues: { field?: string }[] } } } }, field: string | undefined, what: string) => {
      assert.equal(reply.statusCode, 400, `${what}: ${reply.body}`);
      const { error } = reply.json();
      assert.equal(error.code, 'VALIDATION_FAILED', what);
      assert.equal(error.details.in, 'body', what);
      assert.equal(error.details.issues[0]?.field, field, what);
    };

    it('refuses DELETE /cart/items naming one product instead of emptying the whole cart; {} and no body still empty it', async () => {
      const put = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, headers: { cookie }, payload: { quantity: 2 } });
      assert.equal(put.statusCode, 200, put.body);
      refused(await t.app.inject({ method: 'DELETE', url: '/api/v1/cart/items', headers: { cookie }, payload: { productId } }), 'productId', 'DELETE /cart/items');
      const cart = await t.app.inject({ url: '/api/v1/cart', headers: { cookie } });
      assert.equal(cart.json().items.length, 1, `the refused call emptied the cart: ${cart.body}`);
      assert.equal((await t.app.inject({ method: 'DELETE', url: '/api/v1/cart/items', headers: { cookie }, payload: {} })).statusCode, 204);
      assert.equal((await t.app.inject({ method: 'DELETE', url: '/api/v1/cart/items', headers: { cookie } })).statusCode, 204);
    });

    it('refuses fields on customer and admin cancel, fulfil and joining a line, and changes nothing', async () => {
      const id = await placeOrder();
      refused(await t.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/cancel`, headers: { cookie }, payload: { reason: 'x' } }), 'reason', 'customer cancel');
      refused(await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${id}/cancel`, headers: t.admin, payload: { notify: false } }), 'notify', 'admin cancel');
      refused(await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${id}/fulfill`, headers: t.admin, payload: { trackingNumber: '1Z' } }), 'trackingNumber', 'admin fulfil');
      refused(await t.app.inject({ method: 'POST', url: '/api/v1/sale-events/1/queue', headers: { cookie }, payload: { position: 1 } }), 'position', 'join a line');
      refused(await t.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/cancel`, headers: { cookie }, payload: [] }), undefined, 'an array');
      assert.equal((await t.app.inject({ url: `/api/v1/orders/${id}`, headers: { cookie } })).json().status, 'pending_payment');
      const cancelled = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/cancel`, headers: { cookie }, payload: {} });
      assert.equal(cancelled.statusCode, 200, cancelled.body);
      const noBody = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${await placeOrder()}/cancel`, headers: { cookie } });
      assert.equal(noBody.statusCode, 200, noBody.body);
    });

    it('takes an empty body sent as application/json (a bodiless POST of some mobile HTTP libraries) as no body; a route that needs one still answers 400 EMPTY_JSON_BODY', async () => {
      const json = { 'content-type': 'application/json' };
      const joined = await t.app.inject({ method: 'POST', url: '/api/v1/sale-events/2000000000/queue', headers: { ...json, cookie }, payload: '' });
      assert.equal(joined.statusCode, 404, `join a line (of a sale that does not exist: its own refusal, not the body's): ${joined.body}`);
      assert.equal(joined.json().error.code, 'WAITING_ROOM_NOT_FOUND', joined.body);
      const cancelled = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${await placeOrder()}/cancel`, headers: { ...json, cookie }, payload: '' });
      assert.equal(cancelled.statusCode, 200, `customer cancel: ${cancelled.body}`);
      const charset = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${await placeOrder()}/cancel`, headers: { 'content-type': 'application/json; charset=utf-8', cookie }, payload: '' });
      assert.equal(charset.statusCode, 200, `customer cancel, with a charset: ${charset.body}`);
      const signedOut = await t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers: { ...json, cookie }, payload: '' });
      assert.equal(signedOut.statusCode, 204, `sign-out: ${signedOut.body}`);

      const [buyer] = (await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 1, 'unread-empty'))) as [string];
      const needsBody = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, headers: { ...json, cookie: buyer }, payload: '' });
      assert.equal(needsBody.statusCode, 400, needsBody.body);
      assert.equal(needsBody.json().error.code, 'EMPTY_JSON_BODY', needsBody.body);
    });

    // A body of only whitespace is no JSON value, as an empty one is none: on a route that reads no body it is no body,
    // not 400 INVALID_JSON.
    it('takes a whitespace-only body sent as application/json as no body on a route that reads none', async () => {
      for (const payload of [' ', '\r\n', ' \t\n']) {
        const joined = await t.app.inject({ method: 'POST', url: '/api/v1/sale-events/2000000000/queue', headers: { 'content-type': 'application/json', cookie }, payload });
        assert.equal(joined.statusCode, 404, `${JSON.stringify(payload)}: ${joined.body}`);
        assert.equal(joined.json().error.code, 'WAITING_ROOM_NOT_FOUND', joined.body);
      }
    });

    it('answers a body of many fields with a bounded refusal, not one issue per field (a reply larger than the request)', async () => {
      // Every schema's refusal names its first issue (Ajv allErrors: false). This one lists every field, on public
      // routes, before any sign-in is checked: a body under BODY_LIMIT_BYTES of short distinct keys comes back as a
      // refusal many times its size, a cheap amplifier for anyone.
      const fields = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [i.toString(36), 0]));
      const payload = JSON.stringify(fields);
      assert.ok(payload.length < t.config.http.bodyLimit, 'the body is within the limit');
      const reply = await t.app.inject({ method: 'POST', url: '/api/v1/sale-events/1/queue', headers: { 'content-type': 'application/json' }, payload });
      assert.equal(reply.statusCode, 400, reply.body.slice(0, 200));
      const { issues } = reply.json().error.details as { issues: unknown[] };
      assert.ok(reply.body.length <= payload.length, `a ${payload.length}-byte body was refused with a ${reply.body.length}-byte reply listing ${issues.length} issues`);
    });
  });
});

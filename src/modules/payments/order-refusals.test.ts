import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../../../test/helpers/commerce.ts';
import type { Json } from '../../../test/helpers/http.ts';
import { createInventoryRepository, createStockGate } from '../inventory/index.ts';
import { createOrderExpiry, createOrderLifecycleRepository, expiredCounterFor } from '../orders/index.ts';
import { createTestProvider, TEST_SIGNATURE_HEADER, testWebhookSecret } from './test-provider.ts';

type Reply = { statusCode: number; body: string; json(): Json; raw: { req: { method?: string; url?: string } } };

/** The OpenAPI path of a concrete order or payment URL: `/api/v1/orders/7/pay` → `/api/v1/orders/{id}/pay`. */
function operationPath(url: string): string {
  return url
    .split('?')[0]!
    .replace(/\/guest-orders\/[^/]+/, '/guest-orders/{token}')
    .replace(/\/orders\/[^/]+(?=\/|$)/, '/orders/{id}')
    .replace(/\/webhooks\/[^/]+/, '/webhooks/{provider}');
}

/**
 * Every refusal of the order and payment routes, in every state an order can be in: a 4xx with its
 * stable code, and nothing changed — order rows, payments, the provider's ledger, stock, purchase
 * counts and the outbox are compared before and after.
 */
describe('refusals of order and payment calls, in every order state', () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  let productId: number;
  const orders: Record<'pending' | 'paid' | 'fulfilled' | 'refunded' | 'cancelled' | 'expired' | 'guestExpired', Json> = {} as never;

  const inject = (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}, payload?: unknown): Promise<Reply> =>
    t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  const admin = (action: string, id: number | string) => inject('POST', `/api/v1/admin/orders/${id}/${action}`, t.admin);
  const pay = (cookie: string, id: number | string, payload: unknown = { token: 'tok_ok' }) => inject('POST', `/api/v1/orders/${id}/pay`, { cookie }, payload);

  async function place(cookie: string, quantity = 1): Promise<Json> {
    const reply = await inject('POST', '/api/v1/orders', { cookie, 'idempotency-key': `r-${Math.random()}` }, { items: [{ productId, quantity }] });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json();
  }

  /** Everything a refused call must leave as it was. */
  async function snapshot(): Promise<unknown> {
    const rows = await t.platform.db.primary.execute(sql`
      select
        (select json_agg(json_build_object('id', id, 'status', status, 'paid', paid_at, 'cancelled', cancelled_at, 'expired', expired_at, 'fulfilled', fulfilled_at, 'refunded', refunded_at) order by id) from orders) as orders,
        (select json_agg(json_build_object('id', id, 'status', status, 'applied', applied) order by id) from payments) as payments,
        (select count(*) from payment_events) as events,
        (select count(*) from test_provider_operations) as ledger,
        (select coalesce(sum(available), 0) from product_stock) as stock,
        (select coalesce(sum(quantity), 0) from buyer_purchases) as purchases,
        (select count(*) from outbox) as outbox`);
    return rows.rows[0];
  }

  let documentedStatuses: (method: string, path: string) => string[];

  function refused(reply: Reply, status: number, code: string, what: string): void {
    assert.equal(reply.statusCode, status, `${what}: ${reply.body}`);
    const method = reply.raw.req.method ?? 'GET';
    const path = operationPath(reply.raw.req.url ?? '');
    assert.ok(documentedStatuses(method, path).includes(String(status)), `${what}: ${status} is not in the OpenAPI responses of ${method} ${path}`);
    const body = reply.json();
    assert.equal(body.error.code, code, what);
    assert.equal(typeof body.error.message, 'string', what);
    assert.equal(typeof body.error.requestId, 'string', what);
  }

  before(async () => {
    t = await createTestApp({ STOCK_SHARDS: '2', RATE_LIMIT_CHECKOUT_MAX: '100000', ORDER_CANCEL_WINDOW_S: '3600' });
    const document = (await t.app.inject({ url: '/docs/json' })).json() as { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> };
    documentedStatuses = (method, path) => Object.keys(document.paths[path]?.[method.toLowerCase()]?.responses ?? {});
    const ids = await insertCustomers(t.platform.db.primary, 2, 'refuse');
    [alice, bob] = (await mintSessionCookies(t.env, ids)) as [string, string];
    const product = await inject('POST', '/api/v1/admin/products', t.admin, { sku: 'refuse-1', name: 'Refused', priceCents: 1200, available: 50 });
    productId = product.json().id;

    // One order in each state, each reached through the real path.
    orders.pending = await place(alice);
    for (const state of ['paid', 'fulfilled', 'refunded'] as const) {
      orders[state] = await place(alice);
      assert.equal((await pay(alice, orders[state].id)).statusCode, 200);
    }
    assert.equal((await admin('fulfill', orders.fulfilled.id)).statusCode, 200);
    assert.equal((await admin('refund', orders.refunded.id)).statusCode, 200);
    orders.cancelled = await place(alice);
    assert.equal((await inject('POST', `/api/v1/orders/${orders.cancelled.id}/cancel`, { cookie: alice })).statusCode, 200);
    // Expired: past its window (its creation moved back by more than PAYMENT_WINDOW_S), expired by the sweeper.
    orders.expired = await place(alice);
    const guest = await inject('POST', '/api/v1/orders', { 'idempotency-key': 'refuse-guest' }, { email: 'late.guest@example.com', items: [{ productId, quantity: 1 }] });
    assert.equal(guest.statusCode, 201, guest.body);
    orders.guestExpired = guest.json();
    await t.platform.db.primary.execute(
      sql`update orders set created_at = created_at - interval '700 seconds' where id in (${orders.expired.id}, ${orders.guestExpired.id})`,
    );
    const expiry = createOrderExpiry({
      db: t.platform.db,
      lifecycle: createOrderLifecycleRepository({ paymentWindowS: t.config.payments.windowS }),
      gate: createStockGate({
        redis: t.platform.redis,
        prefix: t.config.redis.prefix,
        gateTtlS: t.config.checkout.stockGateTtlS,
        snapshot: (id, tokens) => createInventoryRepository({ shards: 2 }).snapshot(t.platform.db.primary, id, tokens),
      }),
      expired: expiredCounterFor(t.platform.metrics.registry),
      logger: pino({ level: 'silent' }),
    });
    assert.equal(await expiry.sweepOnce(), 2);
    for (const [state, order] of Object.entries(orders)) {
      if (state === 'guestExpired') continue;
      const now = await inject('GET', `/api/v1/orders/${order.id}`, { cookie: alice });
      assert.equal(now.json().status, state === 'pending' ? 'pending_payment' : state, state);
    }
  });
  after(() => t.close());

  it('refuses paying, cancelling, refunding and fulfilling an order in the wrong state', async () => {
    const before = (await snapshot()) as Json;
    assert.equal(before.orders.length, 7, 'the snapshot sees every order');
    assert.ok(Number(before.ledger) > 0 && Number(before.outbox) > 0);
    const cases: [string, () => Promise<Reply>, number, string][] = [
      ['pay a paid order (twice)', () => pay(alice, orders.paid.id), 409, 'ORDER_ALREADY_PAID'],
      ['pay a fulfilled order', () => pay(alice, orders.fulfilled.id), 409, 'ORDER_ALREADY_PAID'],
      ['pay a refunded order', () => pay(alice, orders.refunded.id), 409, 'ORDER_NOT_PAYABLE'],
      ['pay a cancelled order', () => pay(alice, orders.cancelled.id), 409, 'ORDER_NOT_PAYABLE'],
      ['pay an expired order', () => pay(alice, orders.expired.id), 409, 'ORDER_EXPIRED'],
      ['pay an expired guest order', () => inject('POST', `/api/v1/guest-orders/${orders.guestExpired.accessToken}/pay`, {}, { token: 'tok_ok' }), 409, 'ORDER_EXPIRED'],
      ['cancel a paid order', () => inject('POST', `/api/v1/orders/${orders.paid.id}/cancel`, { cookie: alice }), 409, 'ORDER_NOT_CANCELLABLE'],
      ['cancel an expired order', () => inject('POST', `/api/v1/orders/${orders.expired.id}/cancel`, { cookie: alice }), 409, 'ORDER_NOT_CANCELLABLE'],
      ['admin: cancel a refunded order', () => admin('cancel', orders.refunded.id), 409, 'ORDER_NOT_CANCELLABLE'],
      ['admin: cancel a fulfilled order', () => admin('cancel', orders.fulfilled.id), 409, 'ORDER_NOT_CANCELLABLE'],
      ['admin: refund a pending order', () => admin('refund', orders.pending.id), 409, 'ORDER_NOT_REFUNDABLE'],
      ['admin: refund an expired order', () => admin('refund', orders.expired.id), 409, 'ORDER_NOT_REFUNDABLE'],
      ['admin: refund a cancelled order', () => admin('refund', orders.cancelled.id), 409, 'ORDER_NOT_REFUNDABLE'],
      ['admin: refund a fulfilled order', () => admin('refund', orders.fulfilled.id), 409, 'ORDER_NOT_REFUNDABLE'],
      ['admin: fulfil a pending order', () => admin('fulfill', orders.pending.id), 409, 'ORDER_NOT_FULFILLABLE'],
      ['admin: fulfil an expired order', () => admin('fulfill', orders.expired.id), 409, 'ORDER_NOT_FULFILLABLE'],
      ['admin: fulfil a refunded order', () => admin('fulfill', orders.refunded.id), 409, 'ORDER_NOT_FULFILLABLE'],
      ['admin: fulfil a cancelled order', () => admin('fulfill', orders.cancelled.id), 409, 'ORDER_NOT_FULFILLABLE'],
    ];
    for (const [what, call, status, code] of cases) refused(await call(), status, code, what);
    assert.deepEqual(await snapshot(), before, 'no refusal changed anything');
    // Repeating a finished transition is not an error, and changes nothing either.
    for (const [action, order, status] of [
      ['refund', orders.refunded, 'refunded'],
      ['fulfill', orders.fulfilled, 'fulfilled'],
      ['cancel', orders.cancelled, 'cancelled'],
    ] as const) {
      const again = await admin(action, order.id);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.json().status, status);
    }
    assert.deepEqual(await snapshot(), before);
  });

  // A back-office tool shows a refused admin action as "order N is <status>": every wrong-state refusal names the
  // order and its current status under the same keys, whichever action was refused (cancel said `id`, the others `orderId`).
  it('names the order and its current status under the same details keys for every refused admin action', async () => {
    const cases: [string, number, string][] = [
      ['cancel', orders.fulfilled.id, 'fulfilled'],
      ['cancel', orders.refunded.id, 'refunded'],
      ['refund', orders.fulfilled.id, 'fulfilled'],
      ['fulfill', orders.cancelled.id, 'cancelled'],
    ];
    for (const [action, id, status] of cases) {
      const reply = await admin(action, id);
      assert.equal(reply.statusCode, 409, reply.body);
      const details = reply.json().error.details;
      assert.equal(details.orderId, id, `${action}: ${reply.body}`);
      assert.equal(details.status, status, `${action}: ${reply.body}`);
    }
  });

  // An order past its window reads `expired` before the sweep moves it (every read, the pay and cancel refusals): a
  // refused refund or fulfilment names that status too, not the `pending_payment` its row still holds.
  it('names an order past its window, not yet swept, expired when refusing to refund, fulfil or cancel it', async () => {
    const due = await place(alice);
    await t.platform.db.primary.execute(sql`update orders set created_at = created_at - interval '700 seconds' where id = ${due.id}`);
    assert.equal((await inject('GET', `/api/v1/admin/orders/${due.id}`, t.admin)).json().status, 'expired');
    for (const action of ['refund', 'fulfill', 'cancel']) {
      const reply = await admin(action, due.id);
      assert.equal(reply.statusCode, 409, reply.body);
      assert.equal(reply.json().error.details.status, 'expired', `${action}: ${reply.body}`);
    }
  });

  it('refuses unknown, foreign and malformed order ids with 404 or 400', async () => {
    const before = await snapshot();
    const unknown = 987_654_321;
    const cases: [string, () => Promise<Reply>, number, string][] = [
      ['get an unknown order', () => inject('GET', `/api/v1/orders/${unknown}`, { cookie: alice }), 404, 'ORDER_NOT_FOUND'],
      ['pay an unknown order', () => pay(alice, unknown), 404, 'ORDER_NOT_FOUND'],
      ['cancel an unknown order', () => inject('POST', `/api/v1/orders/${unknown}/cancel`, { cookie: alice }), 404, 'ORDER_NOT_FOUND'],
      ['admin: refund an unknown order', () => admin('refund', unknown), 404, 'ORDER_NOT_FOUND'],
      ['admin: fulfil an unknown order', () => admin('fulfill', unknown), 404, 'ORDER_NOT_FOUND'],
      ['admin: cancel an unknown order', () => admin('cancel', unknown), 404, 'ORDER_NOT_FOUND'],
      ["pay another customer's order", () => pay(bob, orders.pending.id), 404, 'ORDER_NOT_FOUND'],
      ["cancel another customer's order", () => inject('POST', `/api/v1/orders/${orders.pending.id}/cancel`, { cookie: bob }), 404, 'ORDER_NOT_FOUND'],
      ['a guest link forged from an order id', () => inject('GET', `/api/v1/guest-orders/${orders.pending.id}.${'A'.repeat(43)}`), 404, 'ORDER_NOT_FOUND'],
      ['pay without signing in', () => inject('POST', `/api/v1/orders/${orders.pending.id}/pay`, {}, { token: 'tok_ok' }), 401, 'NOT_SIGNED_IN'],
    ];
    for (const id of ['abc', '0', '-1', '1.5', '99999999999999999999']) {
      cases.push([`pay order id ${id}`, () => pay(alice, id), 400, 'VALIDATION_FAILED']);
      cases.push([`admin: refund order id ${id}`, () => admin('refund', id), 400, 'VALIDATION_FAILED']);
    }
    for (const [what, call, status, code] of cases) refused(await call(), status, code, what);
    assert.deepEqual(await snapshot(), before, 'no refusal changed anything');
  });

  it('refuses malformed webhooks, even correctly signed ones, with 400 and changes nothing', async () => {
    const before = await snapshot();
    const signer = createTestProvider({ db: t.platform.db, webhookSecret: testWebhookSecret(t.config.secrets.sessionSecret) });
    const send = (raw: string, headers: Record<string, string> = {}) =>
      inject('POST', '/api/v1/payments/webhooks/test', { 'content-type': 'application/json', [TEST_SIGNATURE_HEADER]: signer.signWebhook(raw), ...headers }, raw);
    const event = JSON.stringify({ id: 'evt_bad_1', type: 'payment.authorized', data: { intentId: `tpi_${orders.pending.id}_bad`, orderId: orders.pending.id, amountCents: 1200, currency: 'USD' } });
    const cases: [string, () => Promise<Reply>, number, string][] = [
      ['signed, not JSON', () => send('{"id": "evt_bad_1", '), 400, 'WEBHOOK_MALFORMED'],
      ['signed, empty body', () => send(''), 400, 'WEBHOOK_MALFORMED'],
      ['signed, a JSON array', () => send('[1, 2, 3]'), 400, 'WEBHOOK_MALFORMED'],
      ['signed, no data', () => send(JSON.stringify({ id: 'evt_bad_2', type: 'payment.authorized' })), 400, 'WEBHOOK_MALFORMED'],
      ['signed, id not a string', () => send(JSON.stringify({ id: 7, type: 'payment.authorized', data: {} })), 400, 'WEBHOOK_MALFORMED'],
      ['signed as text/plain, not JSON', () => send('hello', { 'content-type': 'text/plain' }), 400, 'WEBHOOK_MALFORMED'],
      ['a valid event with its signature header garbled', () => send(event, { [TEST_SIGNATURE_HEADER]: 'garbage' }), 400, 'WEBHOOK_SIGNATURE_INVALID'],
      [
        'a valid event with the signature of another body',
        () => send(event, { [TEST_SIGNATURE_HEADER]: signer.signWebhook(event.replace('1200', '1')) }),
        400,
        'WEBHOOK_SIGNATURE_INVALID',
      ],
    ];
    for (const [what, call, status, code] of cases) refused(await call(), status, code, what);
    assert.deepEqual(await snapshot(), before, 'no refusal changed anything');
    const order = await inject('GET', `/api/v1/orders/${orders.pending.id}`, { cookie: alice });
    assert.equal(order.json().status, 'pending_payment');
  });
});

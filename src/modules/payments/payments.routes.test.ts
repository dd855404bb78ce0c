import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import client from 'prom-client';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { createLogger } from '../../platform/logger/logger.ts';
import { insertCustomers, mintSessionCookies } from '../../../test/helpers/commerce.ts';
import type { Json } from '../../../test/helpers/http.ts';
import { createPaymentsRepository, OPEN_PAYMENT_PROBLEMS, registerGiveBackGauges } from './index.ts';
import type { PaymentEvent } from './payment-provider.ts';
import { createTestProvider, TEST_SIGNATURE_HEADER, testWebhookSecret } from './test-provider.ts';

/** Helpers shared by the suites below: each suite has its own app (database, Redis prefix). */
function fixture(env: Record<string, string>, services?: NonNullable<Parameters<typeof createTestApp>[2]>['services']) {
  const f = {
    t: undefined as unknown as TestApp,
    alice: '',
    bob: '',
    /** The app's log lines at warn level and above, parsed. */
    logged: [] as { level: number; msg: string; orderId?: number }[],
    async start() {
      const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void f.logged.push(JSON.parse(line)) } });
      f.t = await createTestApp({ STOCK_SHARDS: '4', RATE_LIMIT_CHECKOUT_MAX: '10000', ...env }, undefined, { logger, services });
      const ids = await insertCustomers(f.t.platform.db.primary, 2, 'pay');
      [f.alice, f.bob] = (await mintSessionCookies(f.t.env, ids)) as [string, string];
    },
    async product(available = 10, priceCents = 2500): Promise<number> {
      const reply = await f.t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/products',
        headers: f.t.admin,
        payload: { sku: `pay-${Math.random().toString(36).slice(2)}`, name: 'Paid item', priceCents, available },
      });
      assert.equal(reply.statusCode, 201, reply.body);
      return reply.json().id;
    },
    async order(cookie: string, productId: number, quantity = 1): Promise<Json> {
      const reply = await f.t.app.inject({
        method: 'POST',
        url: '/api/v1/orders',
        headers: { cookie, 'idempotency-key': `k-${Math.random()}` },
        payload: { items: [{ productId, quantity }] },
      });
      assert.equal(reply.statusCode, 201, reply.body);
      return reply.json();
    },
    pay(cookie: string, orderId: number, payload: unknown, headers: Record<string, string> = {}) {
      return f.t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/pay`, headers: { cookie, ...headers }, payload: payload as object });
    },
    async stock(productId: number): Promise<number> {
      const result = await f.t.platform.db.primary.execute<{ sum: string }>(sql`select coalesce(sum(available), 0) as sum from product_stock where product_id = ${productId}`);
      return Number(result.rows[0]!.sum);
    },
    /**
     * The test provider's own ledger: operations of one kind on the order's payments (intents `tpi_<orderId>_…`). A prefix
     * match, not LIKE, whose `_` matches any character: order 1's count took in orders 10–19's.
     */
    async ledger(orderId: number, kind: string): Promise<number> {
      const result = await f.t.platform.db.primary.execute<{ n: string }>(
        sql`select count(*) as n from test_provider_operations where kind = ${kind} and starts_with(intent_id, ${`tpi_${orderId}_`})`,
      );
      return Number(result.rows[0]!.n);
    },
    async outboxJobs(name: string, orderId: number): Promise<number> {
      const result = await f.t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from outbox where name = ${name} and (data->>'orderId')::bigint = ${orderId}`);
      return Number(result.rows[0]!.n);
    },
    webhook(body: unknown, signature?: string, provider = 'test') {
      const payload = JSON.stringify(body);
      const signer = createTestProvider({ db: f.t.platform.db, webhookSecret: testWebhookSecret(f.t.config.secrets.sessionSecret) });
      return f.t.app.inject({
        method: 'POST',
        url: `/api/v1/payments/webhooks/${provider}`,
        headers: { 'content-type': 'application/json', [TEST_SIGNATURE_HEADER]: signature ?? signer.signWebhook(payload) },
        payload,
      });
    },
  };
  return f;
}

describe('paying an order with the test provider', () => {
  const f = fixture({});
  before(() => f.start());
  after(() => f.t.close());

  it('tok_ok pays the order: 200 paid, captured once, the confirmation follows the payment', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId, 2);
    assert.equal(await f.outboxJobs('order-paid', placed.id), 0, 'nothing is confirmed before payment');
    const reply = await f.pay(f.alice, placed.id, { token: 'tok_ok' });
    assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(reply.json().status, 'paid');
    assert.equal(reply.json().payment.status, 'captured');
    assert.ok(Date.parse(reply.json().paidAt) > 0);
    assert.equal(await f.ledger(placed.id, 'capture'), 1);
    assert.equal(await f.outboxJobs('order-paid', placed.id), 1);
    assert.equal(await f.stock(productId), 8, 'paid units stay sold');

    const again = await f.pay(f.alice, placed.id, { token: 'tok_ok' });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'ORDER_ALREADY_PAID');
    assert.equal(await f.ledger(placed.id, 'capture'), 1, 'paying twice captures nothing more');
    assert.equal(await f.ledger(placed.id, 'void'), 0);
    const fetched = await f.t.app.inject({ method: 'GET', url: `/api/v1/orders/${placed.id}`, headers: { cookie: f.alice } });
    assert.equal(fetched.json().status, 'paid');
    const metrics = (await f.t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^salescale_payment_provider_calls_total\{provider="test",action="capture",outcome="succeeded"[^}]*\} 1$/m);
  });

  it('tok_declined answers 402 PAYMENT_DECLINED and the order keeps waiting; a good card then pays it', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    const declined = await f.pay(f.alice, placed.id, { token: 'tok_declined' });
    assert.equal(declined.statusCode, 402, declined.body);
    assert.equal(declined.json().error.code, 'PAYMENT_DECLINED');
    const waiting = await f.t.app.inject({ method: 'GET', url: `/api/v1/orders/${placed.id}`, headers: { cookie: f.alice } });
    assert.equal(waiting.json().status, 'pending_payment');
    assert.equal(waiting.json().payment.status, 'failed');
    const paid = await f.pay(f.alice, placed.id, { token: 'tok_ok' });
    assert.equal(paid.statusCode, 200, paid.body);
    assert.equal(paid.json().status, 'paid');
  });

  it('two payments racing for one order: one pays it, the other is voided, never captured', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    const replies = await Promise.all(Array.from({ length: 4 }, () => f.pay(f.alice, placed.id, { token: 'tok_ok' })));
    const ok = replies.filter((r) => r.statusCode === 200);
    assert.ok(ok.length >= 1, replies.map((r) => r.body).join('\n'));
    for (const reply of replies) if (reply.statusCode !== 200) assert.equal(reply.json().error.code, 'ORDER_ALREADY_PAID', reply.body);
    assert.equal(await f.ledger(placed.id, 'capture'), 1, 'captured exactly once');
    assert.equal(await f.ledger(placed.id, 'authorize'), (await f.ledger(placed.id, 'capture')) + (await f.ledger(placed.id, 'void')), 'every other authorization was voided');
  });

  it('a pay call whose payment arrives after another pay call paid the order answers 409 ORDER_ALREADY_PAID, not 200: its hold is voided', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    // The order's row held locked until both calls (two tabs, other Idempotency-Keys) have authorized, each having read the
    // order waiting: then one pays it and the other's payment is late, its hold voided.
    let paying: Promise<Awaited<ReturnType<typeof f.pay>>[]> | undefined;
    await f.t.platform.db.primary.transaction(async (tx) => {
      await tx.execute(sql`select id from orders where id = ${placed.id} for update`);
      paying = Promise.all(['tab-1', 'tab-2'].map((key) => f.pay(f.alice, placed.id, { token: 'tok_ok' }, { 'idempotency-key': key })));
      const deadline = Date.now() + 10_000;
      while ((await f.ledger(placed.id, 'authorize')) < 2) {
        assert.ok(Date.now() < deadline, 'the two pay calls never authorized');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    const replies = await paying!;
    assert.equal(await f.ledger(placed.id, 'capture'), 1, 'captured once');
    assert.equal(await f.ledger(placed.id, 'void'), 1, "the other call's hold voided");
    const ok = replies.filter((r) => r.statusCode === 200);
    const refused = replies.filter((r) => r.statusCode !== 200);
    assert.equal(ok.length, 1, `only the call whose payment paid the order answers 200: ${replies.map((r) => `${r.statusCode} ${r.body}`).join('\n')}`);
    assert.equal(refused[0]!.statusCode, 409, refused[0]!.body);
    assert.equal(refused[0]!.json().error.code, 'ORDER_ALREADY_PAID');
  });

  it('an Idempotency-Key already used to pay another order (anyone\'s) pays this one too, captured once each', async () => {
    const productId = await f.product();
    const first = await f.order(f.alice, productId);
    const second = await f.order(f.alice, productId);
    const bobs = await f.order(f.bob, productId);
    for (const [cookie, order] of [[f.alice, first], [f.alice, second], [f.bob, bobs]] as const) {
      const reply = await f.pay(cookie, order.id, { token: 'tok_ok' }, { 'idempotency-key': 'pay-1' });
      assert.equal(reply.statusCode, 200, reply.body);
      assert.equal(reply.json().status, 'paid');
      assert.equal(reply.json().payment.status, 'captured');
      assert.equal(await f.ledger(order.id, 'authorize'), 1);
      assert.equal(await f.ledger(order.id, 'capture'), 1);
    }
    // The same key again on an order it paid: the retry of a call whose reply was lost, answered as that call was.
    const again = await f.pay(f.alice, second.id, { token: 'tok_ok' }, { 'idempotency-key': 'pay-1' });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json().status, 'paid');
    assert.equal(await f.ledger(second.id, 'authorize'), 1, 'the retry authorized nothing more');
    assert.equal(await f.ledger(second.id, 'capture'), 1);
    // Another key on a paid order is a second payment attempt: refused, nothing charged.
    const other = await f.pay(f.alice, second.id, { token: 'tok_ok' }, { 'idempotency-key': 'pay-2' });
    assert.equal(other.statusCode, 409);
    assert.equal(other.json().error.code, 'ORDER_ALREADY_PAID');
    assert.equal(await f.ledger(second.id, 'authorize'), 1);
  });

  it("refuses to pay another customer's order or a guest's order by its id (404 ORDER_NOT_FOUND), authorizing nothing", async () => {
    const productId = await f.product();
    const alices = await f.order(f.alice, productId);
    const guest = await f.t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': `k-${Math.random()}` }, payload: { email: 'pay-guest@example.com', items: [{ productId, quantity: 1 }] } });
    assert.equal(guest.statusCode, 201, guest.body);
    for (const [orderId, whose] of [[alices.id, "alice's"], [guest.json().id, "a guest's"]] as const) {
      for (const headers of [{}, { 'idempotency-key': `pay-${orderId}` }] as Record<string, string>[]) {
        const reply = await f.pay(f.bob, orderId, { token: 'tok_ok' }, headers);
        assert.equal(reply.statusCode, 404, `${whose} order paid by bob: ${reply.body}`);
        assert.equal(reply.json().error.code, 'ORDER_NOT_FOUND');
      }
      assert.equal(await f.ledger(orderId, 'authorize'), 0, `nothing was authorized on ${whose} order`);
    }
    const read = await f.t.app.inject({ url: `/api/v1/orders/${alices.id}`, headers: { cookie: f.alice } });
    assert.equal(read.json().status, 'pending_payment');
    // The guest's link (not an account's session) is what pays a guest order.
    assert.equal((await f.t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${guest.json().accessToken}/pay`, payload: { token: 'tok_ok' } })).statusCode, 200);
  });

  it('refuses bad pay calls with a stable code and changes nothing', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    const cases: [string, number, unknown, string][] = [
      [f.alice, placed.id, {}, 'PAYMENT_TOKEN_REQUIRED'],
      [f.alice, placed.id, { token: 'tok_made_up' }, 'UNKNOWN_PAYMENT_TOKEN'],
      [f.alice, placed.id, { token: 'tok_ok', amount: 1 }, 'VALIDATION_FAILED'],
      [f.alice, placed.id, { token: 12 }, 'VALIDATION_FAILED'],
      [f.alice, 987654321, { token: 'tok_ok' }, 'ORDER_NOT_FOUND'],
      [f.bob, placed.id, { token: 'tok_ok' }, 'ORDER_NOT_FOUND'],
    ];
    for (const [cookie, id, payload, code] of cases) {
      const reply = await f.pay(cookie, id, payload);
      assert.ok(reply.statusCode >= 400 && reply.statusCode < 500, reply.body);
      assert.equal(reply.json().error.code, code, reply.body);
    }
    const anonymous = await f.t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.id}/pay`, payload: { token: 'tok_ok' } });
    assert.equal(anonymous.statusCode, 401);
    const cancelled = await f.order(f.alice, productId);
    await f.t.app.inject({ method: 'POST', url: `/api/v1/orders/${cancelled.id}/cancel`, headers: { cookie: f.alice } });
    const payCancelled = await f.pay(f.alice, cancelled.id, { token: 'tok_ok' });
    assert.equal(payCancelled.statusCode, 409);
    assert.equal(payCancelled.json().error.code, 'ORDER_NOT_PAYABLE');
    const after = await f.t.app.inject({ method: 'GET', url: `/api/v1/orders/${placed.id}`, headers: { cookie: f.alice } });
    assert.equal(after.json().status, 'pending_payment');
    assert.equal(await f.ledger(placed.id, 'authorize'), 0);
    assert.equal(await f.stock(productId), 9);
  });

  it('refuses forged, malformed and misrouted webhooks with 4xx and changes nothing', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    const event = { id: 'evt_forged_1', type: 'payment.authorized', data: { intentId: `tpi_${placed.id}_x`, orderId: placed.id, amountCents: 2500, currency: 'USD' } };
    const forged = await f.webhook(event, `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`);
    assert.equal(forged.statusCode, 400);
    assert.equal(forged.json().error.code, 'WEBHOOK_SIGNATURE_INVALID');
    const stale = createTestProvider({ db: f.t.platform.db, webhookSecret: testWebhookSecret(f.t.config.secrets.sessionSecret) }).signWebhook(JSON.stringify(event), Math.floor(Date.now() / 1000) - 3600);
    assert.equal((await f.webhook(event, stale)).json().error.code, 'WEBHOOK_SIGNATURE_INVALID');
    const missing = await f.t.app.inject({ method: 'POST', url: '/api/v1/payments/webhooks/test', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(event) });
    assert.equal(missing.json().error.code, 'WEBHOOK_SIGNATURE_INVALID');
    const malformed = await f.webhook({ hello: 'world' });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().error.code, 'WEBHOOK_MALFORMED');
    // Correctly signed JSON that is not an object (`null` was a 500).
    for (const body of [null, 'evt', 42]) {
      const notAnObject = await f.webhook(body);
      assert.equal(notAnObject.statusCode, 400, `${JSON.stringify(body)}: ${notAnObject.body}`);
      assert.equal(notAnObject.json().error.code, 'WEBHOOK_MALFORMED');
    }
    // Correctly signed, with text PostgreSQL cannot store in its ids (was 400 INVALID_VALUE from the database).
    for (const unstorable of [
      { ...event, id: 'evt_\u0000nul' },
      { ...event, id: 'evt_nul_intent', data: { ...event.data, intentId: 'tpi_\u0000' } },
      { ...event, id: 'evt_surrogate', type: 'payment.\ud800' },
    ]) {
      const reply = await f.webhook(unstorable);
      assert.equal(reply.statusCode, 400, `${JSON.stringify(unstorable)}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'WEBHOOK_MALFORMED', reply.body);
    }
    const stripe = await f.webhook(event, undefined, 'stripe');
    assert.equal(stripe.statusCode, 404);
    assert.equal(stripe.json().error.code, 'PAYMENT_PROVIDER_NOT_FOUND');
    const badName = await f.webhook(event, undefined, 'NOT..valid');
    assert.equal(badName.statusCode, 400);
    const order = await f.t.app.inject({ method: 'GET', url: `/api/v1/orders/${placed.id}`, headers: { cookie: f.alice } });
    assert.equal(order.json().status, 'pending_payment');
    // Refusals are counted by kind (the PaymentWebhookSignatureFailures alert watches the first).
    const metrics = (await f.t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^salescale_payment_webhooks_total\{provider="test",outcome="signature_invalid"[^}]*\} 3$/m);
    assert.match(metrics, /^salescale_payment_webhooks_total\{provider="test",outcome="malformed"[^}]*\} 7$/m);
  });

  it('refuses a signed webhook whose event or intent id is longer than a provider id (255 characters) with 400 WEBHOOK_MALFORMED, not a 500 from the index', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    // Incompressible text (a compressible one is stored compressed and fits): an index entry of a few kilobytes is
    // refused by PostgreSQL ("index row size exceeds btree maximum"), which answered 500 INTERNAL_ERROR to every redelivery.
    const long = randomBytes(3000).toString('base64url');
    for (const event of [
      { id: long, type: 'payment.voided', data: { intentId: `tpi_${placed.id}_long_event`, orderId: placed.id } },
      { id: `evt_long_intent_${placed.id}`, type: 'payment.voided', data: { intentId: long, orderId: placed.id } },
      { id: long, type: 'payment.something_else', data: {} },
    ]) {
      const reply = await f.webhook(event);
      assert.equal(reply.statusCode, 400, reply.body);
      assert.equal(reply.json().error.code, 'WEBHOOK_MALFORMED', reply.body);
    }
    const rows = await f.t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from payments where order_id = ${placed.id}`);
    assert.equal(Number(rows.rows[0]!.n), 0, 'nothing recorded');
    // An id of Stripe's longest (255 characters) is an event as any other.
    const longest = await f.webhook({ id: 'e'.repeat(255), type: 'payment.voided', data: { intentId: 'i'.repeat(255), orderId: placed.id } });
    assert.equal(longest.statusCode, 200, longest.body);
    assert.equal(longest.json().outcome, 'voided');
  });

  it('refuses a signed webhook whose amount is no whole, non-negative number of minor units or whose currency is no three-letter code with 400 WEBHOOK_MALFORMED, recording nothing', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    const data = { orderId: placed.id, amountCents: placed.totalCents as number, currency: 'USD' };
    // A negative amount was recorded as a payment of -5 (a "payment returned" email of -$0.05 written); a fraction or a
    // string was taken as no amount (the order total assumed); a currency of any text was stored and compared.
    for (const [n, wrong] of [{ amountCents: -5 }, { amountCents: 12.5 }, { amountCents: String(placed.totalCents) }, { currency: 'U'.repeat(40) }, { currency: 'US' }, { currency: 42 }].entries()) {
      const reply = await f.webhook({ id: `evt_bad_amount_${placed.id}_${n}`, type: 'payment.authorized', data: { ...data, intentId: `tpi_${placed.id}_bad_${n}`, ...wrong } });
      assert.equal(reply.statusCode, 400, `${JSON.stringify(wrong)}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'WEBHOOK_MALFORMED', reply.body);
    }
    const rows = await f.t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from payments where order_id = ${placed.id}`);
    assert.equal(Number(rows.rows[0]!.n), 0, 'nothing recorded');
    assert.equal(await f.outboxJobs('send-payment-returned', placed.id), 0, 'no "payment returned" email');
    const order = await f.t.app.inject({ method: 'GET', url: `/api/v1/orders/${placed.id}`, headers: { cookie: f.alice } });
    assert.equal(order.json().status, 'pending_payment');
  });

  it('refuses a signed webhook whose failureCode is longer than any provider code with 400 WEBHOOK_MALFORMED, recording nothing', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    const reply = await f.webhook({ id: `evt_long_failure_${placed.id}`, type: 'payment.failed', data: { intentId: `tpi_${placed.id}_long_failure`, orderId: placed.id, failureCode: 'x'.repeat(100_000) } });
    assert.equal(reply.statusCode, 400, reply.body.slice(0, 500));
    assert.equal(reply.json().error.code, 'WEBHOOK_MALFORMED', reply.body.slice(0, 500));
    const rows = await f.t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from payments where order_id = ${placed.id}`);
    assert.equal(Number(rows.rows[0]!.n), 0, 'nothing recorded');
    const events = await f.t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from payment_events where event_id = ${`evt_long_failure_${placed.id}`}`);
    assert.equal(Number(events.rows[0]!.n), 0, 'the event is not recorded as seen: a corrected redelivery is processed');
    // A code of the longest a provider id may be (255 characters) is an event as any other (of a payment the shop records:
    // the buyer's declined attempt).
    assert.equal((await f.pay(f.alice, placed.id, { token: 'tok_declined' })).statusCode, 402);
    const [declined] = (await f.t.platform.db.primary.execute<{ intent_id: string }>(sql`select intent_id from payments where order_id = ${placed.id}`)).rows;
    const longest = await f.webhook({ id: `evt_longest_failure_${placed.id}`, type: 'payment.failed', data: { intentId: declined!.intent_id, orderId: placed.id, failureCode: 'c'.repeat(255) } });
    assert.equal(longest.statusCode, 200, longest.body);
    assert.equal(longest.json().outcome, 'declined');
  });

  it('two pay calls at once with one Idempotency-Key: one is the payment, the other its replay (Idempotent-Replayed: true, the same order) or 409 IDEMPOTENCY_IN_PROGRESS', async () => {
    await f.t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = f.t.app.server.address();
    assert.ok(address && typeof address === 'object');
    for (let round = 0; round < 8; round++) {
      const productId = await f.product();
      const placed = await f.order(f.alice, productId);
      const key = `same-key-${placed.id}`;
      const pay = (): Promise<{ status: number; replayed: string | null; body: Json }> =>
        fetch(`http://127.0.0.1:${address.port}/api/v1/orders/${placed.id}/pay`, {
          method: 'POST',
          headers: { cookie: f.alice, 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ token: 'tok_ok' }),
        }).then(async (r) => ({ status: r.status, replayed: r.headers.get('idempotent-replayed'), body: (await r.json()) as Json }));
      const replies = await Promise.all([pay(), pay()]);
      const originals = replies.filter((r) => r.status === 200 && r.replayed === null);
      assert.equal(originals.length, 1, `exactly one original reply: ${JSON.stringify(replies)}`);
      const other = replies.find((r) => r !== originals[0])!;
      if (other.status === 409) assert.equal(other.body.error.code, 'IDEMPOTENCY_IN_PROGRESS', JSON.stringify(other));
      else {
        assert.equal(other.status, 200, JSON.stringify(other));
        assert.equal(other.replayed, 'true', JSON.stringify(replies));
        assert.deepEqual(other.body, originals[0]!.body, 'the replay is the same order');
      }
      assert.equal(await f.ledger(placed.id, 'capture'), 1, 'captured once');
      assert.equal(await f.ledger(placed.id, 'void'), 0, 'one payment: nothing to give back');
    }
  });

  it('admin: lists orders by status and time, refunds a paid order once (units back), fulfils another', async () => {
    const productId = await f.product(10);
    const since = new Date(Date.now() - 1000).toISOString();
    const a = await f.order(f.bob, productId, 2);
    const b = await f.order(f.bob, productId, 1);
    assert.equal((await f.pay(f.bob, a.id, { token: 'tok_ok' })).statusCode, 200);
    assert.equal((await f.pay(f.bob, b.id, { token: 'tok_ok' })).statusCode, 200);
    const listed = await f.t.app.inject({ method: 'GET', url: `/api/v1/admin/orders?status=paid&from=${encodeURIComponent(since)}`, headers: f.t.admin });
    assert.equal(listed.statusCode, 200, listed.body);
    const ids = listed.json().items.map((o: Json) => o.id);
    assert.ok(ids.includes(a.id) && ids.includes(b.id));
    assert.ok(listed.json().items.every((o: Json) => o.status === 'paid'));
    const badFilter = await f.t.app.inject({ method: 'GET', url: '/api/v1/admin/orders?status=lost', headers: f.t.admin });
    assert.equal(badFilter.statusCode, 400);
    assert.equal((await f.t.app.inject({ method: 'GET', url: '/api/v1/admin/orders' })).statusCode, 401);

    assert.equal(await f.stock(productId), 7);
    const refunds = await Promise.all([1, 2, 3].map(() => f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${a.id}/refund`, headers: f.t.admin })));
    for (const reply of refunds) {
      assert.equal(reply.statusCode, 200, reply.body);
      assert.equal(reply.json().status, 'refunded');
    }
    assert.equal(await f.stock(productId), 9, 'the refunded units came back once');
    assert.equal(await f.ledger(a.id, 'refund'), 1);
    assert.equal(await f.outboxJobs('send-payment-returned', a.id), 1, 'three refunds at once tell the buyer once');

    const fulfilled = await f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${b.id}/fulfill`, headers: f.t.admin });
    assert.equal(fulfilled.json().status, 'fulfilled');
    const refundShipped = await f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${b.id}/refund`, headers: f.t.admin });
    assert.equal(refundShipped.statusCode, 409);
    assert.equal(refundShipped.json().error.code, 'ORDER_NOT_REFUNDABLE');
    const pending = await f.order(f.bob, productId);
    const refundPending = await f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${pending.id}/refund`, headers: f.t.admin });
    assert.equal(refundPending.json().error.code, 'ORDER_NOT_REFUNDABLE');
    const fulfilPending = await f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${pending.id}/fulfill`, headers: f.t.admin });
    assert.equal(fulfilPending.json().error.code, 'ORDER_NOT_FULFILLABLE');
    const cancelPaid = await f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${b.id}/cancel`, headers: f.t.admin });
    assert.equal(cancelPaid.json().error.code, 'ORDER_NOT_CANCELLABLE');
  });

  it('refuses an admin refund carrying fields it does not read (a partial amount) instead of refunding the whole order', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId, 2);
    const paid = await f.pay(f.alice, placed.id, { token: 'tok_ok' });
    assert.equal(paid.statusCode, 200, paid.body);
    // README: "Unknown fields in a body or query are refused, never silently dropped". An operator who asks
    // for a partial refund must not get a full one.
    const refund = await f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${placed.id}/refund`, headers: f.t.admin, payload: { amountCents: 100 } });
    assert.equal(refund.statusCode, 400, `a refund body with an unknown field was answered ${refund.statusCode}: ${refund.body}`);
    assert.equal(refund.json().error.code, 'VALIDATION_FAILED');
    const detail = await f.t.app.inject({ method: 'GET', url: `/api/v1/admin/orders/${placed.id}`, headers: f.t.admin });
    assert.equal(detail.json().status, 'paid', 'the refused refund changed nothing');
  });

  // Webhooks signed with the endpoint's secret whose payment the provider's ledger does not back (or backs for another
  // amount). Declared after the forged-webhook test, whose counts of refused deliveries they leave alone.
  const hmac = (key: string, ts: number, body: string) => createHmac('sha256', key).update(`${ts}.${body}`).digest('hex');
  const statusOf = async (id: number) => (await f.t.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: { cookie: f.alice } })).json().status;

  it('accepts a delivery signed during a secret rotation (several v1 signatures, the valid one first), as Stripe\'s scheme does', async () => {
    const secret = testWebhookSecret(f.t.config.secrets.sessionSecret);
    // Stripe's scheme: the header may carry several v1 signatures (one per active secret); any one that matches verifies.
    // An event type we only acknowledge, so that nothing but the signature decides the answer.
    const body = { id: `evt_rot_${Math.random()}`, type: 'payment.noted', data: {} };
    const payload = JSON.stringify(body);
    const ts = Math.floor(Date.now() / 1000);
    const validLast = await f.webhook(body, `t=${ts},v1=${hmac('a-retired-secret', ts, payload)},v1=${hmac(secret, ts, payload)}`);
    assert.equal(validLast.statusCode, 200, validLast.body);
    const validFirst = await f.webhook({ ...body, id: `${body.id}-2` }, undefined);
    assert.equal(validFirst.statusCode, 200, validFirst.body);
    const rotated = { ...body, id: `${body.id}-3` };
    const rotatedPayload = JSON.stringify(rotated);
    const reply = await f.webhook(rotated, `t=${ts},v1=${hmac(secret, ts, rotatedPayload)},v1=${hmac('a-retired-secret', ts, rotatedPayload)}`);
    assert.equal(reply.statusCode, 200, `a correctly signed delivery with its valid v1 first was refused: ${reply.body}`);
  });

  it('a signed authorization the provider cannot capture answers a documented 5xx code, never 500 INTERNAL_ERROR', async () => {
    const productId = await f.product();
    const { id } = await f.order(f.alice, productId);
    // Signed with the endpoint's secret, for an intent the provider's ledger has no authorization of: the capture is refused.
    const reply = await f.webhook({ id: `evt_cap_${Math.random()}`, type: 'payment.authorized', data: { intentId: `tpi_unbacked_${Math.random()}`, orderId: id, amountCents: 2500, currency: 'USD' } });
    assert.notEqual(reply.json().error?.code, 'INTERNAL_ERROR', `answered ${reply.statusCode} ${reply.body}; the order is now ${await statusOf(id)}`);
  });

  it('a signed authorization of an intent the provider never authorized leaves the order waiting, with no payment, still payable', async () => {
    const productId = await f.product();
    const { id } = await f.order(f.alice, productId);
    const reply = await f.webhook({ id: `evt_unbacked_${Math.random()}`, type: 'payment.authorized', data: { intentId: `tpi_unbacked_${Math.random()}`, orderId: id, amountCents: 2500, currency: 'USD' } });
    assert.equal(reply.statusCode, 502, reply.body);
    assert.equal(reply.json().error.code, 'PAYMENT_PROVIDER_ERROR');
    assert.equal(await statusOf(id), 'pending_payment', 'the order is not marked paid');
    const payments = (await f.t.platform.db.primary.execute(sql`select status from payments where order_id = ${id}`)).rows;
    assert.deepEqual(payments, [], 'nothing half-written: no payment recorded');
    const pay = await f.pay(f.alice, id, { token: 'tok_ok' });
    assert.equal(pay.statusCode, 200, pay.body);
    assert.equal(pay.json().status, 'paid');
  });

  it('a signed capture of an intent the provider only authorized (nothing captured in its ledger) does not make the order paid', async () => {
    const productId = await f.product();
    const { id } = await f.order(f.alice, productId);
    const intentId = `tpi_authonly_${Math.random().toString(36).slice(2)}`;
    // The provider's ledger holds an authorization of the intent, and no capture of it.
    await f.t.platform.db.primary.execute(sql`insert into test_provider_operations (idempotency_key, intent_id, kind, amount_cents) values (${`${intentId}:authorize`}, ${intentId}, 'authorize', 2500)`);
    const reply = await f.webhook({ id: `evt_authonly_${Math.random()}`, type: 'payment.captured', data: { intentId, orderId: id, amountCents: 2500, currency: 'USD' } });
    const payments = (await f.t.platform.db.primary.execute(sql`select status from payments where order_id = ${id}`)).rows;
    assert.equal(reply.statusCode, 502, `a capture the ledger does not hold answered ${reply.statusCode} ${reply.body}; the order is now ${await statusOf(id)}, payments ${JSON.stringify(payments)}`);
    assert.equal(reply.json().error.code, 'PAYMENT_PROVIDER_ERROR');
    assert.equal(await statusOf(id), 'pending_payment', 'the order is not marked paid');
    assert.deepEqual(payments, [], 'nothing half-written: no payment recorded');
  });

  it('a signed capture of another amount on a payment captured in full is given back: refunded with what was taken, the order refunded', async () => {
    const productId = await f.product(10, 4200);
    const { id } = await f.order(f.alice, productId);
    const pay = await f.pay(f.alice, id, { token: 'tok_ok' });
    assert.equal(pay.statusCode, 200, pay.body);
    const [paid] = (await f.t.platform.db.primary.execute<{ intent_id: string }>(sql`select intent_id from payments where order_id = ${id}`)).rows;
    const intentId = paid!.intent_id;
    // The provider reports a capture of 1.00 of the 42.00 order it had captured in full.
    const reply = await f.webhook({ id: `evt_wrongcap_${Math.random()}`, type: 'payment.captured', data: { intentId, orderId: id, amountCents: 100, currency: 'USD' } });
    assert.equal(reply.statusCode, 200, reply.body);
    const payments = (await f.t.platform.db.primary.execute(sql`select status, amount_cents, late from payments where order_id = ${id}`)).rows;
    const refunds = (await f.t.platform.db.primary.execute(sql`select amount_cents from test_provider_operations where intent_id = ${intentId} and kind = 'refund'`)).rows;
    assert.equal(reply.json().outcome, 'late', `a capture of 1.00 on order ${id} of 42.00 captured in full: outcome ${reply.json().outcome}, payments ${JSON.stringify(payments)}, refunds ${JSON.stringify(refunds)}`);
    assert.deepEqual(payments, [{ status: 'refunded', amount_cents: 100, late: true }]);
    assert.deepEqual(refunds, [{ amount_cents: 100 }], 'what was taken is refunded once');
    assert.equal(await statusOf(id), 'refunded', 'the order, not paid for, is refunded');
    const told = await f.t.platform.db.primary.execute<{ reason: string }>(sql`select data->>'reason' as reason from outbox where name = 'send-payment-returned' and (data->>'orderId')::bigint = ${id}`);
    assert.deepEqual(told.rows.map((row) => row.reason), ['amount_mismatch'], 'one email, saying why: not a second one for the refund it led to');
    const emails = (await f.t.platform.db.primary.execute(sql`select data->>'reason' as reason from outbox where name = 'send-payment-returned' and (data->>'orderId')::bigint = ${id}`)).rows;
    assert.deepEqual(emails, [{ reason: 'amount_mismatch' }], 'the buyer is told why, once');
  });

  it('a signed refund or dispute of a payment the shop never recorded is acknowledged and recorded, with no payment invented nor any order changed', async () => {
    const productId = await f.product();
    const waiting = await f.order(f.alice, productId);
    const paid = await f.order(f.alice, productId);
    assert.equal((await f.pay(f.alice, paid.id, { token: 'tok_ok' })).statusCode, 200);
    const db = f.t.platform.db.primary;
    const paymentsOf = async (orderId: number) => (await db.execute(sql`select intent_id, status, late, applied from payments where order_id = ${orderId} order by id`)).rows;
    const before = { waiting: await paymentsOf(waiting.id), paid: await paymentsOf(paid.id), stock: await f.stock(productId) };
    for (const type of ['payment.refunded', 'payment.disputed', 'payment.dispute_lost', 'payment.dispute_won']) {
      for (const order of [waiting, paid]) {
        const intentId = `tpi_${order.id}_never_${Math.random().toString(36).slice(2)}`;
        const event = { id: `evt_unknown_${Math.random().toString(36).slice(2)}`, type, data: { intentId, orderId: order.id, amountCents: 2500, currency: 'USD' } };
        const reply = await f.webhook(event);
        assert.equal(reply.statusCode, 200, `${type} of an unknown payment of order ${order.id}: ${reply.body}`);
        assert.equal(reply.json().outcome, 'unknown_payment', `${type} of an unknown payment of order ${order.id}`);
        const recorded = await db.execute(sql`select outcome from payment_events where provider = 'test' and event_id = ${event.id}`);
        assert.deepEqual(recorded.rows, [{ outcome: 'unknown_payment' }], `${type}: the event is recorded, so its redelivery is a duplicate`);
        assert.equal((await f.webhook(event)).json().outcome, 'duplicate');
        assert.deepEqual((await db.execute(sql`select count(*)::int as n from payments where intent_id = ${intentId}`)).rows, [{ n: 0 }], `${type}: no payment invented for ${intentId}`);
        assert.ok(f.logged.some((line) => line.orderId === order.id && /never recorded/.test(line.msg)), `${type}: logged for order ${order.id}`);
      }
    }
    assert.deepEqual({ waiting: await paymentsOf(waiting.id), paid: await paymentsOf(paid.id), stock: await f.stock(productId) }, before, 'payments and stock as they were');
    assert.equal(await statusOf(waiting.id), 'pending_payment');
    assert.equal(await statusOf(paid.id), 'paid');
    const pay = await f.pay(f.alice, waiting.id, { token: 'tok_ok' });
    assert.equal(pay.statusCode, 200, pay.body);
    assert.equal(pay.json().payment.status, 'captured', 'the waiting order is still paid by its real payment');
  });

  it('a signed failed attempt of a payment the shop never recorded is acknowledged and recorded, with no payment invented; a known one is declined', async () => {
    const productId = await f.product();
    const waiting = await f.order(f.alice, productId);
    const paid = await f.order(f.alice, productId);
    assert.equal((await f.pay(f.alice, paid.id, { token: 'tok_ok' })).statusCode, 200);
    const db = f.t.platform.db.primary;
    const paymentsOf = async (orderId: number) => (await db.execute(sql`select intent_id, status, failure_code, late, applied from payments where order_id = ${orderId} order by id`)).rows;
    const before = { waiting: await paymentsOf(waiting.id), paid: await paymentsOf(paid.id) };
    for (const order of [waiting, paid]) {
      const intentId = `tpi_${order.id}_never_${Math.random().toString(36).slice(2)}`;
      const event = { id: `evt_unknown_failed_${Math.random().toString(36).slice(2)}`, type: 'payment.failed', data: { intentId, orderId: order.id, amountCents: 2500, currency: 'USD', failureCode: 'card_declined' } };
      const reply = await f.webhook(event);
      assert.equal(reply.statusCode, 200, `order ${order.id}: ${reply.body}`);
      assert.equal(reply.json().outcome, 'unknown_payment', `a failed attempt of an unknown payment of order ${order.id}`);
      assert.deepEqual((await db.execute(sql`select outcome from payment_events where provider = 'test' and event_id = ${event.id}`)).rows, [{ outcome: 'unknown_payment' }], 'recorded: its redelivery is a duplicate');
      assert.equal((await f.webhook(event)).json().outcome, 'duplicate');
      assert.deepEqual((await db.execute(sql`select count(*)::int as n from payments where intent_id = ${intentId}`)).rows, [{ n: 0 }], `no payment invented for ${intentId}`);
    }
    assert.deepEqual({ waiting: await paymentsOf(waiting.id), paid: await paymentsOf(paid.id) }, before, 'payments as they were');
    assert.equal((await f.t.app.inject({ method: 'GET', url: `/api/v1/orders/${waiting.id}`, headers: { cookie: f.alice } })).json().payment.status, 'requires_payment', 'the waiting order shows no failed payment');
    // The buyer's own declined attempt is recorded (the pay call's event), and the provider's event about it is a decline.
    assert.equal((await f.pay(f.alice, waiting.id, { token: 'tok_declined' })).statusCode, 402);
    const [declined] = (await db.execute<{ intent_id: string }>(sql`select intent_id from payments where order_id = ${waiting.id}`)).rows;
    assert.ok(declined, 'the declined pay call records its payment');
    const redelivered = await f.webhook({ id: `evt_known_failed_${Math.random().toString(36).slice(2)}`, type: 'payment.failed', data: { intentId: declined.intent_id, orderId: waiting.id, failureCode: 'card_declined' } });
    assert.equal(redelivered.json().outcome, 'declined', redelivered.body);
    assert.equal((await f.pay(f.alice, waiting.id, { token: 'tok_ok' })).json().status, 'paid');
  });
});

/**
 * Which reply of a keyed pay call is its payment's original and which its replay, whatever call or event decided the
 * payment first: the provider's calls are held or failed here at the step in question (no timing).
 */
describe('a keyed pay call and the other calls deciding its payment', () => {
  /** The next capture waits here until released (`entered` resolves when it does). */
  let holdNextCapture: { entered: () => void; release: Promise<void> } | undefined;
  /** The next capture fails (the provider unreachable), after which the order is paid and its payment authorized. */
  let failNextCapture = false;
  /** Called with the event of the next authorization by token, before its pay call processes it. */
  let beforeNextProcess: ((event: PaymentEvent) => Promise<void>) | undefined;
  const f = fixture({}, (web) => {
    const provider = web.paymentProvider;
    const capture = provider.capture.bind(provider);
    provider.capture = async (input) => {
      const hold = holdNextCapture;
      holdNextCapture = undefined;
      if (hold) {
        hold.entered();
        await hold.release;
      }
      if (failNextCapture) {
        failNextCapture = false;
        throw new Error('connect ECONNREFUSED (test: the provider unreachable)');
      }
      return capture(input);
    };
    const authorize = provider.authorizeWithToken!.bind(provider);
    provider.authorizeWithToken = async (input) => {
      const event = await authorize(input);
      const hook = beforeNextProcess;
      beforeNextProcess = undefined;
      await hook?.(event);
      return event;
    };
  });
  before(() => f.start());
  after(() => f.t?.close());

  it("a call under the key arriving between the paying call's commit and its capture is the replay; another key is 409 ORDER_ALREADY_PAID", async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    const key = `held-${placed.id}`;
    let release!: () => void;
    const entered = new Promise<void>((resolve) => {
      holdNextCapture = { entered: resolve, release: new Promise<void>((r) => (release = r)) };
    });
    const first = f.pay(f.alice, placed.id, { token: 'tok_ok' }, { 'idempotency-key': key });
    await entered;
    try {
      // The order is paid (committed), its payment still authorized: the capture is held.
      const other = await f.pay(f.alice, placed.id, { token: 'tok_ok' }, { 'idempotency-key': `other-${placed.id}` });
      assert.equal(other.statusCode, 409, other.body);
      assert.equal(other.json().error.code, 'ORDER_ALREADY_PAID');
      const same = await f.pay(f.alice, placed.id, { token: 'tok_ok' }, { 'idempotency-key': key });
      assert.equal(same.statusCode, 200, same.body);
      assert.equal(same.headers['idempotent-replayed'], 'true', 'the same key in the window is the payment\'s replay');
    } finally {
      release();
    }
    const original = await first;
    assert.equal(original.statusCode, 200, original.body);
    assert.equal(original.headers['idempotent-replayed'], undefined, 'the call that paid is the original');
    assert.equal(await f.ledger(placed.id, 'capture'), 1, 'captured once');
    assert.equal(await f.ledger(placed.id, 'authorize'), 1, 'one payment');
  });

  it('the retry under the key of a call whose capture failed finishes it and answers as the replay', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    const key = `failed-capture-${placed.id}`;
    failNextCapture = true;
    const failed = await f.pay(f.alice, placed.id, { token: 'tok_ok' }, { 'idempotency-key': key });
    assert.equal(failed.statusCode, 500, failed.body);
    assert.equal(await f.ledger(placed.id, 'capture'), 0);
    const retry = await f.pay(f.alice, placed.id, { token: 'tok_ok' }, { 'idempotency-key': key });
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.json().payment.status, 'captured');
    assert.equal(await f.ledger(placed.id, 'capture'), 1, 'captured once');
  });

  it("the only pay call under a key is the original even when its payment's signed webhook was processed first", async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    beforeNextProcess = async (event) => {
      const webhook = await f.webhook({ id: `evt_first_${placed.id}`, type: 'payment.authorized', data: { intentId: event.intentId, orderId: placed.id, amountCents: event.amountCents, currency: event.currency } });
      assert.equal(webhook.statusCode, 200, webhook.body);
      assert.equal(webhook.json().outcome, 'paid');
    };
    const only = await f.pay(f.alice, placed.id, { token: 'tok_ok' }, { 'idempotency-key': `only-${placed.id}` });
    assert.equal(beforeNextProcess, undefined, 'the webhook came first');
    assert.equal(only.statusCode, 200, only.body);
    assert.equal(only.headers['idempotent-replayed'], undefined, 'no other call made this payment: not a replay');
    assert.equal(await f.ledger(placed.id, 'capture'), 1, 'captured once');
  });
});

describe('refunding while the order ships', () => {
  const f = fixture({});
  before(() => f.start());
  after(() => f.t.close());

  const refund = (orderId: number) => f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${orderId}/refund`, headers: f.t.admin });
  const fulfil = (orderId: number) => f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${orderId}/fulfill`, headers: f.t.admin });
  const statusOf = async (orderId: number) => (await f.t.app.inject({ method: 'GET', url: `/api/v1/orders/${orderId}`, headers: { cookie: f.bob } })).json().status as string;

  it('a fulfilment asked for during the provider\'s refund call is refused: the order is refunded, never shipped with its money back', async () => {
    const productId = await f.product(10);
    const placed = await f.order(f.bob, productId);
    assert.equal((await f.pay(f.bob, placed.id, { token: 'tok_ok' })).statusCode, 200);
    // Hold the provider's refund (its ledger write) until the fulfilment has been asked for.
    const blocker = new pg.Client({ connectionString: f.t.database.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table test_provider_operations in exclusive mode');
      const refunding = refund(placed.id);
      // This database's waits only: every test database is a clone of one template, the table has the same OID in each.
      const waiting = async () => (await blocker.query<{ n: number }>(`select count(*)::int as n from pg_locks where relation = 'test_provider_operations'::regclass and not granted and database = (select oid from pg_database where datname = current_database())`)).rows[0]!.n;
      for (let i = 0; i < 1000 && (await waiting()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(await waiting(), 1, 'the refund is at the provider');
      const fulfilled = await fulfil(placed.id);
      await blocker.query('commit');
      const refunded = await refunding;
      assert.equal(refunded.statusCode, 200, refunded.body);
      assert.equal(refunded.json().status, 'refunded');
      assert.equal(fulfilled.statusCode, 409, fulfilled.body);
      assert.equal(fulfilled.json().error.code, 'ORDER_NOT_FULFILLABLE');
      assert.equal(fulfilled.json().error.details.refundRequested, true);
    } finally {
      await blocker.end();
    }
    assert.equal(await statusOf(placed.id), 'refunded');
    assert.equal(await f.ledger(placed.id, 'refund'), 1);
    assert.equal(await f.stock(productId), 10, 'the unit came back once');
  });

  it('a refund whose provider call fails keeps the order from shipping until it is asked again and goes through', async () => {
    const productId = await f.product(10);
    const placed = await f.order(f.bob, productId);
    assert.equal((await f.pay(f.bob, placed.id, { token: 'tok_ok' })).statusCode, 200);
    // The provider fails the call (its ledger is away).
    await f.t.platform.db.primary.execute(sql`alter table test_provider_operations rename to test_provider_operations_away`);
    let failed: Awaited<ReturnType<typeof refund>>;
    try {
      failed = await refund(placed.id);
    } finally {
      await f.t.platform.db.primary.execute(sql`alter table test_provider_operations_away rename to test_provider_operations`);
    }
    assert.ok(failed.statusCode >= 500, failed.body);
    assert.equal(await statusOf(placed.id), 'paid');
    assert.equal(await f.stock(productId), 9, 'nothing back before the money is');
    assert.equal(await f.outboxJobs('send-payment-returned', placed.id), 0, 'the buyer is not told of a refund that has not gone through');
    const fulfilled = await fulfil(placed.id);
    assert.equal(fulfilled.statusCode, 409, fulfilled.body);
    assert.equal(fulfilled.json().error.code, 'ORDER_NOT_FULFILLABLE');
    const again = await refund(placed.id);
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().status, 'refunded');
    assert.equal(await f.ledger(placed.id, 'refund'), 1);
    assert.equal(await f.stock(productId), 10);
    assert.equal((await refund(placed.id)).statusCode, 200, 'asked once more: already refunded');
    const told = await f.t.platform.db.primary.execute<{ data: Json }>(sql`select data from outbox where name = 'send-payment-returned' and (data->>'orderId')::bigint = ${placed.id}`);
    const buyer = await f.t.platform.db.primary.execute<{ email: string }>(sql`select c.email from orders o join customers c on c.id = o.customer_id where o.id = ${placed.id}`);
    assert.deepEqual(
      told.rows.map((row) => ({ email: row.data.email, amountCents: row.data.amountCents, action: row.data.action, reason: row.data.reason })),
      [{ email: buyer.rows[0]!.email, amountCents: placed.totalCents, action: 'refunded', reason: 'refunded_by_shop' }],
      'the buyer is told once, when the money went back, that it is on its way',
    );
  });

  it('a refund asked for while the capture was failing is never undone by a later capture: the money is held, then released, never taken', async () => {
    const productId = await f.product(10);
    const placed = await f.order(f.bob, productId);
    const db = f.t.platform.db.primary;
    // The provider authorizes but fails every capture and void (an outage of its capture API).
    await db.execute(sql`create function refuse_capture_void() returns trigger language plpgsql as $$
      begin if new.kind in ('capture', 'void') then raise exception 'provider unavailable'; end if; return new; end $$`);
    await db.execute(sql`create trigger refuse_capture_void before insert on test_provider_operations for each row execute function refuse_capture_void()`);
    let intentId: string;
    try {
      const paid = await f.pay(f.bob, placed.id, { token: 'tok_ok' });
      assert.ok(paid.statusCode >= 500, paid.body);
      assert.equal(await statusOf(placed.id), 'paid', 'paid, its capture still to make');
      intentId = (await db.execute<{ intent_id: string }>(sql`select intent_id from payments where order_id = ${placed.id}`)).rows[0]!.intent_id;
      // The shop refunds it meanwhile: the void fails too, the refund stays asked for.
      const refused = await refund(placed.id);
      assert.ok(refused.statusCode >= 500, refused.body);
      assert.equal(await statusOf(placed.id), 'paid');
    } finally {
      await db.execute(sql`drop trigger refuse_capture_void on test_provider_operations`);
      await db.execute(sql`drop function refuse_capture_void()`);
    }
    // The provider is back: its authorization event is redelivered, and the buyer retries the pay call.
    const redelivered = await f.webhook({ id: `evt_redelivered_${placed.id}`, type: 'payment.authorized', data: { intentId, orderId: placed.id, amountCents: 2500, currency: 'USD' } });
    assert.equal(redelivered.statusCode, 200, redelivered.body);
    const retried = await f.pay(f.bob, placed.id, { token: 'tok_ok' });
    assert.ok(retried.statusCode < 500, retried.body);
    assert.equal(await f.ledger(placed.id, 'capture'), 0, 'no capture of an order being refunded');
    const again = await refund(placed.id);
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().status, 'refunded');
    assert.equal(await f.ledger(placed.id, 'capture'), 0, 'the buyer was never charged');
    assert.equal(await f.ledger(placed.id, 'void'), 1, 'the hold was released');
    assert.equal(await f.ledger(placed.id, 'refund'), 0);
    assert.equal(await f.stock(productId), 10);
  });

  it("the provider reporting the hold released while the shop's refund releases it is no error; released with no refund asked, it is", async () => {
    const productId = await f.product(10);
    const db = f.t.platform.db.primary;
    const attention = (orderId: number) => f.logged.filter((l) => l.level >= 50 && l.orderId === orderId && /needs attention/.test(l.msg));
    // The provider authorizes but fails every capture and void, so the paid orders hold an uncaptured authorization.
    await db.execute(sql`create function refuse_capture_void_2() returns trigger language plpgsql as $$
      begin if new.kind in ('capture', 'void') then raise exception 'provider unavailable'; end if; return new; end $$`);
    await db.execute(sql`create trigger refuse_capture_void_2 before insert on test_provider_operations for each row execute function refuse_capture_void_2()`);
    const held = [];
    try {
      for (let i = 0; i < 2; i++) {
        const placed = await f.order(f.bob, productId);
        assert.ok((await f.pay(f.bob, placed.id, { token: 'tok_ok' })).statusCode >= 500);
        const intentId = (await db.execute<{ intent_id: string }>(sql`select intent_id from payments where order_id = ${placed.id}`)).rows[0]!.intent_id;
        held.push({ id: placed.id as number, intentId });
      }
      // The shop refunds the first; its void's reply is lost (the provider did release the hold).
      assert.ok((await refund(held[0]!.id)).statusCode >= 500);
    } finally {
      await db.execute(sql`drop trigger refuse_capture_void_2 on test_provider_operations`);
      await db.execute(sql`drop function refuse_capture_void_2()`);
    }
    // The provider's own "released" event for each arrives before our call recorded it.
    for (const { id, intentId } of held) {
      const voided = await f.webhook({ id: `evt_voided_${id}`, type: 'payment.voided', data: { intentId, orderId: id, amountCents: 2500, currency: 'USD' } });
      assert.equal(voided.json().outcome, 'voided', voided.body);
    }
    assert.deepEqual(attention(held[0]!.id), [], 'the refund asked for is what released it');
    assert.equal(attention(held[1]!.id).length, 1, 'a hold released with no refund asked still needs someone');
    const again = await refund(held[0]!.id);
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().status, 'refunded');
  });

  it('a hold released at the provider before its paid order was captured is a payment problem: counted, open until resolved or refunded, shown to the admin', async () => {
    const productId = await f.product(10);
    const db = f.t.platform.db.primary;
    // The worker's gauge, read from this suite's database as the worker reads it.
    const registry = new client.Registry();
    const repo = createPaymentsRepository();
    registerGiveBackGauges(registry, { provider: 'test', owed: () => repo.countOwed(db, 300), problems: () => repo.countProblems(db, OPEN_PAYMENT_PROBLEMS) });
    const open = async () => Number(/^salescale_payment_problems_open\{provider="test",problem="hold_lapsed"\} (\S+)$/m.exec(await registry.metrics())?.[1]);
    const counted = async () => {
      const metrics = (await f.t.app.inject({ method: 'GET', url: '/metrics' })).body;
      return Number(/^salescale_payment_problems_total\{provider="test",problem="hold_lapsed"[^}]*\} (\d+)$/m.exec(metrics)?.[1]);
    };
    const admin = async (orderId: number) => (await f.t.app.inject({ method: 'GET', url: `/api/v1/admin/orders/${orderId}`, headers: f.t.admin })).json();
    const before = { open: await open(), counted: await counted() };
    assert.ok(Number.isFinite(before.open), 'the gauge has its hold_lapsed series from the start');
    assert.ok(Number.isFinite(before.counted), 'the counter has its hold_lapsed series from the start');

    // Two paid orders whose capture keeps failing; the provider then releases both holds (authorization window over).
    await db.execute(sql`create function refuse_capture_3() returns trigger language plpgsql as $$
      begin if new.kind = 'capture' then raise exception 'provider unavailable'; end if; return new; end $$`);
    await db.execute(sql`create trigger refuse_capture_3 before insert on test_provider_operations for each row execute function refuse_capture_3()`);
    const held = [];
    try {
      for (let i = 0; i < 2; i++) {
        const placed = await f.order(f.bob, productId);
        assert.ok((await f.pay(f.bob, placed.id, { token: 'tok_ok' })).statusCode >= 500);
        const intentId = (await db.execute<{ intent_id: string }>(sql`select intent_id from payments where order_id = ${placed.id}`)).rows[0]!.intent_id;
        held.push({ id: placed.id as number, intentId });
      }
    } finally {
      await db.execute(sql`drop trigger refuse_capture_3 on test_provider_operations`);
      await db.execute(sql`drop function refuse_capture_3()`);
    }
    for (const { id, intentId } of held) {
      for (const delivery of ['a', 'b']) {
        const voided = await f.webhook({ id: `evt_lapsed_${id}_${delivery}`, type: 'payment.voided', data: { intentId, orderId: id, amountCents: 2500, currency: 'USD' } });
        assert.equal(voided.json().outcome, 'voided', voided.body);
      }
    }
    assert.equal(await counted(), before.counted + 2, 'counted once per payment, not per event');
    assert.equal(await open(), before.open + 2, 'open until someone acts');
    const [resolvedOne, refundedOne] = held as [(typeof held)[0], (typeof held)[0]];
    const shown = await admin(resolvedOne.id);
    assert.equal(shown.status, 'paid');
    assert.equal(shown.payment.status, 'hold_lapsed', 'the admin sees why the order cannot ship');
    assert.equal(shown.payment.problemResolvedAt, null);

    // The money collected another way: an admin marks it resolved; the order stays paid (and still cannot ship).
    const resolved = await f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${resolvedOne.id}/payment-problem/resolve`, headers: f.t.admin });
    assert.equal(resolved.statusCode, 200, resolved.body);
    assert.equal(resolved.json().status, 'paid');
    assert.equal(resolved.json().payment.status, 'hold_lapsed', 'what happened stays visible');
    assert.match(resolved.json().payment.problemResolvedAt, /^\d{4}-/);
    assert.equal(await open(), before.open + 1, 'the resolved one no longer open');

    // The other is refunded: nothing is owed to the shop any more, so it is no longer open either.
    const refunded = await f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${refundedOne.id}/refund`, headers: f.t.admin });
    assert.equal(refunded.statusCode, 200, refunded.body);
    assert.equal(refunded.json().status, 'refunded');
    assert.equal(await open(), before.open, 'the gauge drops once resolved or refunded');
    assert.equal((await admin(refundedOne.id)).payment.status, 'voided');
    assert.equal(await counted(), before.counted + 2, 'the counter says what happened');
  });

  it('refunds and fulfilments racing on many orders: each order either ships or gets its money and units back, never both', async () => {
    const productId = await f.product(40);
    const placed = [];
    for (let i = 0; i < 16; i++) placed.push(await f.order(f.bob, productId));
    for (const order of placed) assert.equal((await f.pay(f.bob, order.id, { token: 'tok_ok' })).statusCode, 200);
    await Promise.all(placed.flatMap((order) => (order.id % 2 ? [refund(order.id), fulfil(order.id)] : [fulfil(order.id), refund(order.id)])));
    let shipped = 0;
    for (const order of placed) {
      const status = await statusOf(order.id);
      assert.ok(status === 'refunded' || status === 'fulfilled', status);
      assert.equal(await f.ledger(order.id, 'refund'), status === 'refunded' ? 1 : 0, `order ${order.id} is ${status}`);
      if (status === 'fulfilled') shipped++;
    }
    assert.equal(await f.stock(productId), 40 - shipped, 'units of refunded orders back, of shipped ones not');
  });
});

describe('a payment after the window', () => {
  const f = fixture({ PAYMENT_WINDOW_S: '1' });
  before(() => f.start());
  after(() => f.t.close());

  it('paying an expired order is refused (409 ORDER_EXPIRED) and nothing is captured', async () => {
    const productId = await f.product();
    const placed = await f.order(f.alice, productId);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const reply = await f.pay(f.alice, placed.id, { token: 'tok_ok' });
    assert.equal(reply.statusCode, 409, reply.body);
    assert.equal(reply.json().error.code, 'ORDER_EXPIRED');
    assert.equal(await f.ledger(placed.id, 'capture'), 0);
  });

  it('a late authorization by webhook expires the order, voids the payment once, and replays change nothing', async () => {
    const productId = await f.product(5);
    const placed = await f.order(f.alice, productId, 2);
    assert.equal(await f.stock(productId), 3);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const event = { id: 'evt_late_1', type: 'payment.authorized', data: { intentId: `tpi_${placed.id}_late`, orderId: placed.id, amountCents: 5000, currency: 'USD' } };
    const first = await f.webhook(event);
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.json().outcome, 'late');
    for (let i = 0; i < 3; i++) {
      const replay = await f.webhook(event);
      assert.equal(replay.statusCode, 200);
      assert.equal(replay.json().outcome, 'duplicate');
    }
    const order = await f.t.app.inject({ method: 'GET', url: `/api/v1/orders/${placed.id}`, headers: { cookie: f.alice } });
    assert.equal(order.json().status, 'expired');
    assert.equal(await f.stock(productId), 5, 'the expired units came back once');
    assert.equal(await f.ledger(placed.id, 'void'), 1);
    assert.equal(await f.ledger(placed.id, 'capture'), 0);
    assert.equal(await f.outboxJobs('send-reservation-expired', placed.id), 0, 'the "payment returned" email tells the buyer the reservation expired: one email, not two');
    assert.equal(await f.outboxJobs('send-payment-returned', placed.id), 1);
    const metrics = (await f.t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^salescale_late_payments_total\{provider="test",action="voided"[^}]*\} 1$/m);
  });
});

describe('a late payment given back while the provider tells us so', () => {
  const f = fixture({ PAYMENT_WINDOW_S: '1' });
  before(() => f.start());
  after(() => f.t.close());

  it('is counted once when the provider\'s "voided" webhook arrives before our void call has answered', async () => {
    const productId = await f.product(5);
    const placed = await f.order(f.alice, productId);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const intentId = `tpi_${placed.id}_late_race`;
    const data = { intentId, orderId: placed.id, amountCents: 2500, currency: 'USD' };
    // Hold the provider's void (its ledger write) while its webhook saying the hold is released comes in first.
    const blocker = new pg.Client({ connectionString: f.t.database.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table test_provider_operations in exclusive mode');
      const late = f.webhook({ id: 'evt_late_race_auth', type: 'payment.authorized', data });
      // This database's waits only: every test database is a clone of one template, the table has the same OID in each.
      const waiting = async () => (await blocker.query<{ n: number }>(`select count(*)::int as n from pg_locks where relation = 'test_provider_operations'::regclass and not granted and database = (select oid from pg_database where datname = current_database())`)).rows[0]!.n;
      for (let i = 0; i < 1000 && (await waiting()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(await waiting(), 1, 'the void is at the provider');
      const voided = await f.webhook({ id: 'evt_late_race_void', type: 'payment.voided', data });
      assert.equal(voided.statusCode, 200, voided.body);
      await blocker.query('commit');
      const reply = await late;
      assert.equal(reply.statusCode, 200, reply.body);
      assert.equal(reply.json().outcome, 'late');
    } finally {
      await blocker.end();
    }
    assert.equal(await f.ledger(placed.id, 'void'), 1);
    const metrics = (await f.t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const seen = metrics.split('\n').filter((line) => line.startsWith('salescale_late_payments_total')).join('\n');
    assert.match(metrics, /^salescale_late_payments_total\{provider="test",action="voided"[^}]*\} 1$/m, `one late payment voided:\n${seen}`);
  });
});

describe('webhooks during a live sale', () => {
  // The limits a shop runs with (100 requests per minute per address while a sale is live, 1,000 per 15 min).
  const f = fixture({ RATE_LIMIT_SALE_REFRESH_MS: '0' });
  before(() => f.start());
  after(() => f.t.close());

  it('are never throttled as a shopper is: every delivery from the provider\'s one address is processed and pays its order', async () => {
    const productId = await f.product(10);
    const now = Date.now();
    const sale = await f.t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/sale-events',
      headers: f.t.admin,
      payload: { name: 'Webhook sale', startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), productIds: [productId] },
    });
    assert.equal(sale.statusCode, 201, sale.body);
    const orders = [await f.order(f.alice, productId), await f.order(f.bob, productId)];
    const provider = createTestProvider({ db: f.t.platform.db, webhookSecret: testWebhookSecret(f.t.config.secrets.sessionSecret) });
    // A payment provider delivers every buyer's events from a handful of addresses (Stripe lists about a dozen).
    const deliver = (body: unknown) => {
      const payload = JSON.stringify(body);
      return f.t.app.inject({
        method: 'POST',
        url: '/api/v1/payments/webhooks/test',
        remoteAddress: '3.18.12.63',
        headers: { 'content-type': 'application/json', [TEST_SIGNATURE_HEADER]: provider.signWebhook(payload) },
        payload,
      });
    };
    const statuses = new Map<number, number>();
    for (let i = 0; i < 150; i++) {
      const reply = await deliver({ id: `evt_busy_${i}`, type: 'payment.created', data: { intentId: `tpi_other_${i}` } });
      statuses.set(reply.statusCode, (statuses.get(reply.statusCode) ?? 0) + 1);
    }
    assert.deepEqual([...statuses], [[200, 150]], 'every delivery processed');
    for (const order of orders) {
      // The buyer's card authorized at the provider, which then tells us by webhook.
      const { id, type, ...data } = await provider.authorizeWithToken!({ orderId: order.id, amountCents: 2500, currency: 'USD', token: 'tok_ok', idempotencyKey: `sale-${order.id}` });
      const reply = await deliver({ id, type, data });
      assert.equal(reply.statusCode, 200, reply.body);
      assert.equal(reply.json().outcome, 'paid');
      assert.equal(await f.ledger(order.id, 'capture'), 1);
    }
  });
});

describe('payment counters and a transaction that does not commit', () => {
  const f = fixture({});
  before(() => f.start());
  after(() => f.t.close());

  it('a webhook whose transaction fails at commit and is delivered again is counted once, as it happened once', async () => {
    // The next commit that changed a payment fails (as a serialization failure or a lost connection at COMMIT would):
    // a deferred trigger, checked at commit, armed by a sequence (not rolled back with the transaction).
    const db = f.t.platform.db.primary;
    await db.execute(sql`create sequence commit_fault`);
    await db.execute(sql`create function fail_first_commit() returns trigger language plpgsql as $$
      begin if nextval('commit_fault') = 1 then raise exception 'injected commit failure'; end if; return null; end $$`);
    await db.execute(sql`create constraint trigger fail_first_commit after update on payments deferrable initially deferred for each row execute function fail_first_commit()`);
    const arm = () => db.execute(sql`select setval('commit_fault', 1, false)`);
    const provider = createTestProvider({ db: f.t.platform.db, webhookSecret: testWebhookSecret(f.t.config.secrets.sessionSecret) });
    const deliverTwice = async (event: PaymentEvent, outcome: string) => {
      const { id, type, ...data } = event;
      await arm();
      const failed = await f.webhook({ id, type, data });
      assert.equal(failed.statusCode, 500, failed.body);
      const redelivered = await f.webhook({ id, type, data });
      assert.equal(redelivered.statusCode, 200, redelivered.body);
      assert.equal(redelivered.json().outcome, outcome);
    };

    const productId = await f.product();
    const declinedOrder = await f.order(f.alice, productId);
    const declined = await provider.authorizeWithToken!({ orderId: declinedOrder.id, amountCents: 2500, currency: 'USD', token: 'tok_declined', idempotencyKey: 'k-declined' });
    // Its payment recorded first, as a Stripe pay call records its intent: the provider's failure of one never recorded changes nothing.
    await db.execute(sql`insert into payments (order_id, provider, intent_id, amount_cents, currency) values (${declinedOrder.id}, 'test', ${declined.intentId!}, 2500, 'USD')`);
    await deliverTwice(declined, 'declined');
    const paidOrder = await f.order(f.alice, productId);
    await deliverTwice(await provider.authorizeWithToken!({ orderId: paidOrder.id, amountCents: 2500, currency: 'USD', token: 'tok_ok', idempotencyKey: 'k-ok' }), 'paid');
    assert.equal(await f.ledger(paidOrder.id, 'capture'), 1);

    const metrics = (await f.t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const seen = metrics.split('\n').filter((line) => /^salescale_(payments_total|order_time_to_pay_seconds_count)/.test(line)).join('\n');
    assert.match(metrics, /^salescale_payments_total\{provider="test",outcome="declined"[^}]*\} 1$/m, `one declined attempt:\n${seen}`);
    assert.match(metrics, /^salescale_payments_total\{provider="test",outcome="succeeded"[^}]*\} 1$/m, `one successful payment:\n${seen}`);
    assert.match(metrics, /^salescale_order_time_to_pay_seconds_count(\{[^}]*\})? 1$/m, `one order paid:\n${seen}`);
  });

  it('one event delivered several times at once (the provider retrying a slow delivery) is counted processed once, the rest duplicates', async () => {
    const productId = await f.product();
    const placed = await f.order(f.bob, productId);
    const provider = createTestProvider({ db: f.t.platform.db, webhookSecret: testWebhookSecret(f.t.config.secrets.sessionSecret) });
    const { id, type, ...data } = await provider.authorizeWithToken!({ orderId: placed.id, amountCents: 2500, currency: 'USD', token: 'tok_ok', idempotencyKey: 'k-concurrent' });
    const counted = async () => {
      const metrics = (await f.t.app.inject({ method: 'GET', url: '/metrics' })).body;
      const read = (outcome: string) => Number(new RegExp(`^salescale_payment_webhooks_total\\{provider="test",outcome="${outcome}"[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
      return { processed: read('processed'), duplicate: read('duplicate') };
    };
    const before = await counted();
    const replies = await Promise.all(Array.from({ length: 6 }, () => f.webhook({ id, type, data })));
    for (const reply of replies) assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(await f.ledger(placed.id, 'capture'), 1);
    const now = await counted();
    assert.deepEqual({ processed: now.processed - before.processed, duplicate: now.duplicate - before.duplicate }, { processed: 1, duplicate: 5 });
  });
});

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { TEST_SIGNATURE_HEADER, testWebhookSecret } from '../src/modules/payments/test-provider.ts';

describe('QA payments: the test provider', () => {
  let t: TestApp;
  let buyer: string;
  let secret: string;
  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '10000' });
    const [id] = await insertCustomers(t.platform.db.primary, 1, 'qapay-test');
    [buyer] = (await mintSessionCookies(t.env, [id!])) as [string];
    secret = testWebhookSecret(t.config.secrets.sessionSecret);
  });
  after(() => t?.close());

  const hmac = (key: string, ts: number, body: string) => createHmac('sha256', key).update(`${ts}.${body}`).digest('hex');
  async function product(available = 10, priceCents = 2500): Promise<number> {
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `qapay-t-${Math.random().toString(36).slice(2)}`, name: 'QA item', priceCents, available } });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json().id;
  }
  async function order(productId: number): Promise<number> {
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: buyer, 'idempotency-key': `qapay-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json().id;
  }
  function webhook(body: unknown, signature?: string) {
    const payload = JSON.stringify(body);
    const ts = Math.floor(Date.now() / 1000);
    return t.app.inject({ method: 'POST', url: '/api/v1/payments/webhooks/test', headers: { 'content-type': 'application/json', [TEST_SIGNATURE_HEADER]: signature ?? `t=${ts},v1=${hmac(secret, ts, payload)}` }, payload });
  }
  const statusOf = async (id: number) => (await t.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: { cookie: buyer } })).json().status;

  it('accepts a delivery signed during a secret rotation (several v1 signatures, the valid one first), as Stripe\'s scheme does', async () => {
    // Stripe's scheme: the header may carry several v1 signatures (one per active secret); any one that matches verifies.
    // An event type we only acknowledge, so that nothing but the signature decides the answer.
    const body = { id: `evt_qa_rot_${Math.random()}`, type: 'payment.qa_noted', data: {} };
    const payload = JSON.stringify(body);
    const ts = Math.floor(Date.now() / 1000);
    const validLast = await webhook(body, `t=${ts},v1=${hmac('a-retired-secret', ts, payload)},v1=${hmac(secret, ts, payload)}`);
    assert.equal(validLast.statusCode, 200, validLast.body);
    const validFirst = await webhook({ ...body, id: `${body.id}-2` }, undefined);
    assert.equal(validFirst.statusCode, 200, validFirst.body);
    const rotated = { ...body, id: `${body.id}-3` };
    const rotatedPayload = JSON.stringify(rotated);
    const reply = await webhook(rotated, `t=${ts},v1=${hmac(secret, ts, rotatedPayload)},v1=${hmac('a-retired-secret', ts, rotatedPayload)}`);
    assert.equal(reply.statusCode, 200, `a correctly signed delivery with its valid v1 first was refused: ${reply.body}`);
  });

  it('a signed authorization the provider cannot capture answers a documented 5xx code, never 500 INTERNAL_ERROR', async () => {
    const productId = await product();
    const id = await order(productId);
    // Signed with the endpoint's secret, for an intent the provider's ledger has no authorization of: the capture is refused.
    const reply = await webhook({ id: `evt_qa_cap_${Math.random()}`, type: 'payment.authorized', data: { intentId: `tpi_qa_${Math.random()}`, orderId: id, amountCents: 2500, currency: 'USD' } });
    assert.notEqual(reply.json().error?.code, 'INTERNAL_ERROR', `answered ${reply.statusCode} ${reply.body}; the order is now ${await statusOf(id)}`);
  });

  it('a signed authorization of an intent the provider never authorized leaves the order waiting, with no payment, still payable', async () => {
    const productId = await product();
    const id = await order(productId);
    const reply = await webhook({ id: `evt_qa_unbacked_${Math.random()}`, type: 'payment.authorized', data: { intentId: `tpi_qa_${Math.random()}`, orderId: id, amountCents: 2500, currency: 'USD' } });
    assert.equal(reply.statusCode, 502, reply.body);
    assert.equal(reply.json().error.code, 'PAYMENT_PROVIDER_ERROR');
    assert.equal(await statusOf(id), 'pending_payment', 'the order is not marked paid');
    const payments = (await t.platform.db.primary.execute(sql`select status from payments where order_id = ${id}`)).rows;
    assert.deepEqual(payments, [], 'nothing half-written: no payment recorded');
    const pay = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/pay`, headers: { cookie: buyer }, payload: { token: 'tok_ok' } });
    assert.equal(pay.statusCode, 200, pay.body);
    assert.equal(pay.json().status, 'paid');
  });

  it('a signed capture of an intent the provider only authorized (nothing captured in its ledger) does not make the order paid', async () => {
    const productId = await product();
    const id = await order(productId);
    const intentId = `tpi_qa_authonly_${Math.random().toString(36).slice(2)}`;
    // The provider's ledger holds an authorization of the intent, and no capture of it.
    await t.platform.db.primary.execute(sql`insert into test_provider_operations (idempotency_key, intent_id, kind, amount_cents) values (${`${intentId}:authorize`}, ${intentId}, 'authorize', 2500)`);
    const reply = await webhook({ id: `evt_qa_authonly_${Math.random()}`, type: 'payment.captured', data: { intentId, orderId: id, amountCents: 2500, currency: 'USD' } });
    const payments = (await t.platform.db.primary.execute(sql`select status from payments where order_id = ${id}`)).rows;
    assert.equal(reply.statusCode, 502, `a capture the ledger does not hold answered ${reply.statusCode} ${reply.body}; the order is now ${await statusOf(id)}, payments ${JSON.stringify(payments)}`);
    assert.equal(reply.json().error.code, 'PAYMENT_PROVIDER_ERROR');
    assert.equal(await statusOf(id), 'pending_payment', 'the order is not marked paid');
    assert.deepEqual(payments, [], 'nothing half-written: no payment recorded');
  });

  it('a signed capture of another amount on a payment captured in full is given back: refunded with what was taken, the order refunded', async () => {
    const productId = await product(10, 4200);
    const id = await order(productId);
    const pay = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/pay`, headers: { cookie: buyer }, payload: { token: 'tok_ok' } });
    assert.equal(pay.statusCode, 200, pay.body);
    const [paid] = (await t.platform.db.primary.execute<{ intent_id: string }>(sql`select intent_id from payments where order_id = ${id}`)).rows;
    const intentId = paid!.intent_id;
    // The provider reports a capture of 1.00 of the 42.00 order it had captured in full.
    const reply = await webhook({ id: `evt_qa_wrongcap_${Math.random()}`, type: 'payment.captured', data: { intentId, orderId: id, amountCents: 100, currency: 'USD' } });
    assert.equal(reply.statusCode, 200, reply.body);
    const payments = (await t.platform.db.primary.execute(sql`select status, amount_cents, late from payments where order_id = ${id}`)).rows;
    const refunds = (await t.platform.db.primary.execute(sql`select amount_cents from test_provider_operations where intent_id = ${intentId} and kind = 'refund'`)).rows;
    assert.equal(reply.json().outcome, 'late', `a capture of 1.00 on order ${id} of 42.00 captured in full: outcome ${reply.json().outcome}, payments ${JSON.stringify(payments)}, refunds ${JSON.stringify(refunds)}`);
    assert.deepEqual(payments, [{ status: 'refunded', amount_cents: 100, late: true }]);
    assert.deepEqual(refunds, [{ amount_cents: 100 }], 'what was taken is refunded once');
    assert.equal(await statusOf(id), 'refunded', 'the order, not paid for, is refunded');
    const emails = (await t.platform.db.primary.execute(sql`select data->>'reason' as reason from outbox where name = 'send-payment-returned' and (data->>'orderId')::bigint = ${id}`)).rows;
    assert.deepEqual(emails, [{ reason: 'amount_mismatch' }], 'the buyer is told why, once');
  });
});

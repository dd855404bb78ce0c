import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { RETRY_AFTER_S } from '../src/web/error-handler.ts';
import type { TestApp } from './helpers/app.ts';
import { parsePrometheusText, total } from './helpers/prometheus-text.ts';
import { startStripeTestApp, type StripeTestApp } from './helpers/stripe-app.ts';
import type { StripeServer } from './helpers/stripe-server.ts';

/**
 * A pay call whose createIntent Stripe refuses or fails for another reason than our key (payment-provider-retries) or
 * the order's amount or currency (stripe.test): each class answers a stable status and code, never a 500, never
 * Stripe's words, and the order stays payable.
 */
describe('pay call: Stripe refusing or failing createIntent', () => {
  let stripe: StripeServer;
  let t: TestApp;
  let app: StripeTestApp;
  const run = randomUUID().slice(0, 8);
  /** The app's log lines at info level and above, parsed. */
  let lines: StripeTestApp['logged'];

  before(async () => {
    app = await startStripeTestApp({ name: 'pay_failures', sku: `pay-failures-${run}`, productName: 'Pay failure item', available: 20, logged: 'info' });
    ({ stripe, t, logged: lines } = app);
  });
  after(async () => {
    if (stripe) stripe.refuseCreate = undefined;
    await app?.close();
  });

  const calls = async (outcome: string) => {
    const samples = parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
    return total(samples, 'salescale_payment_provider_calls_total', { provider: 'stripe', action: 'create_intent', outcome });
  };

  /** Places an order, pays it while Stripe answers `refusal`, then checks it stays payable (a new pay call, Stripe fine again). */
  async function payRefused(name: string, refusal: StripeServer['refuseCreate']) {
    const key = `pay-failures-${name}-${run}`;
    const { orderId, accessToken } = await app.placeGuestOrder(key);
    const pay = (payKey: string) => t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${accessToken}/pay`, headers: { 'idempotency-key': payKey }, payload: {} });
    const failedBefore = await calls('failed');
    stripe.refuseCreate = refusal;
    const refused = await pay(`${key}-pay`).finally(() => (stripe.refuseCreate = undefined));
    assert.notEqual(refused.statusCode, 500, refused.body);
    // No Stripe wording, no stack.
    assert.doesNotMatch(refused.body, /Your card|Invalid|Received unknown|Too many|unknown error|stripe|at .*\.ts/i);
    // Nothing half-written: the order still waits for its payment, with no payment row, and a new pay call takes it.
    const rows = await t.platform.db.primary.execute<{ status: string }>(sql`select status from orders where id = ${orderId}`);
    assert.equal(rows.rows[0]!.status, 'pending_payment');
    assert.equal((await t.platform.db.primary.execute(sql`select id from payments where order_id = ${orderId}`)).rows.length, 0, 'no payment recorded');
    const again = await pay(`${key}-pay-again`);
    assert.equal(again.statusCode, 200, `${name}, then paid again: ${again.body}`);
    assert.match(again.json().payment.clientSecret, /^pi_[0-9a-f]+_secret_/);
    return { refused, orderId, failed: (await calls('failed')) - failedBefore };
  }

  it('answers a card decline with 402 PAYMENT_DECLINED and its decline code, not counted as a failing call', async () => {
    const { refused, orderId, failed } = await payRefused('declined', { status: 402, type: 'card_error', code: 'card_declined', declineCode: 'insufficient_funds', message: 'Your card has insufficient funds.' });
    assert.equal(refused.statusCode, 402, refused.body);
    assert.equal(refused.json().error.code, 'PAYMENT_DECLINED');
    assert.deepEqual(refused.json().error.details, { orderId, declineCode: 'insufficient_funds' });
    assert.equal(failed, 0, 'a decline is the buyer’s card, not a failing call');
  });

  it('answers another invalid request with 502 PAYMENT_PROVIDER_ERROR, logged at error level and counted failed', async () => {
    const { refused, orderId, failed } = await payRefused('invalid', { status: 400, type: 'invalid_request_error', code: 'parameter_unknown', param: 'capture_method', message: 'Received unknown parameter: capture_method' });
    assert.equal(refused.statusCode, 502, refused.body);
    assert.equal(refused.json().error.code, 'PAYMENT_PROVIDER_ERROR');
    assert.equal(failed, 1, 'counted failed');
    const logged = lines.find((line) => line.level === 50 && line.orderId === orderId && line.reason === 'parameter_unknown');
    assert.ok(logged, `an error line for order ${orderId}`);
  });

  it('takes the same pay call again (same Idempotency-Key, or none) once Stripe is fine after answering it with a 5xx', async () => {
    for (const withKey of [true, false]) {
      const key = `pay-failures-5xx-again-${withKey ? 'keyed' : 'keyless'}-${run}`;
      const { accessToken } = await app.placeGuestOrder(key);
      const pay = () => t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${accessToken}/pay`, headers: withKey ? { 'idempotency-key': `${key}-pay` } : {}, payload: {} });
      stripe.refuseCreate = { status: 500, type: 'api_error', message: 'An unknown error occurred' };
      const refused = await pay().finally(() => (stripe.refuseCreate = undefined));
      assert.equal(refused.statusCode, 503, refused.body);
      // Stripe keeps its 500 under the key it answered (a day or more): the retry must not be answered it again.
      const again = await pay();
      assert.equal(again.statusCode, 200, `${withKey ? 'same key' : 'no key'}, after the 5xx: ${again.body}`);
      assert.match(again.json().payment.clientSecret, /^pi_[0-9a-f]+_secret_/);
      // Asked once more: the payment it started, not another one.
      const third = await pay();
      assert.equal(third.statusCode, 200, third.body);
      assert.equal(third.json().payment.clientSecret, again.json().payment.clientSecret);
    }
  });

  for (const c of [
    { name: 'rate-limited', refusal: { status: 429, type: 'rate_limit_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly.' } },
    { name: 'api-error', refusal: { status: 500, type: 'api_error', message: 'An unknown error occurred' } },
    { name: 'connection-reset', refusal: 'reset' as const },
  ]) {
    it(`answers ${c.name} with 503 PAYMENT_PROVIDER_UNAVAILABLE and Retry-After, counted failed`, async () => {
      const { refused, failed } = await payRefused(c.name, c.refusal);
      assert.equal(refused.statusCode, 503, refused.body);
      assert.equal(refused.json().error.code, 'PAYMENT_PROVIDER_UNAVAILABLE');
      assert.equal(refused.headers['retry-after'], String(RETRY_AFTER_S.unavailable));
      assert.equal(failed, 1, 'counted failed');
    });
  }
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { messageIdFor } from '../src/modules/notifications/index.ts';
import { outboxJobId } from '../src/platform/outbox/outbox.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import type { Json } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { waitFor } from './helpers/queues.ts';
import { startSmtpSink, type SmtpSink } from './helpers/smtp-sink.ts';
import { signedWebhook, startStripeServer, type StripeEvent, type StripeServer } from './helpers/stripe-server.ts';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.ts';

const SECRET_KEY = 'sk_test_salescale_latepay_0123456789';
const WEBHOOK_SECRET = 'whsec_salescale_latepay_0123456789abcdef';
const WINDOW_S = 2;

/** A message as its reader sees it: quoted-printable soft line breaks and escapes undone. */
const readable = (raw: string) => raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/**
 * A payment that arrives after its reservation expired is given back at Stripe, and the buyer (a guest here: the
 * address given at checkout) is told once, by a real worker process through a real SMTP server, only once Stripe
 * released the money: not while Stripe is unreachable, once however many deliveries of its events arrive at once.
 */
describe('the "payment returned" email of a late payment (Stripe, real worker, SMTP sink)', () => {
  let stripe: StripeServer;
  let proxy: TcpProxy;
  let smtp: SmtpSink;
  let t: TestApp;
  let worker: Instance;

  before(async () => {
    stripe = await startStripeServer({ secretKey: SECRET_KEY });
    proxy = await startTcpProxy(Number(new URL(stripe.url).port), 'http');
    smtp = await startSmtpSink();
    t = await createTestApp({
      PAYMENT_PROVIDER: 'stripe',
      STRIPE_SECRET_KEY: SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_URL: proxy.url,
      PAYMENT_WINDOW_S: String(WINDOW_S),
      RATE_LIMIT_CHECKOUT_MAX: '10000',
    });
    worker = await startInstance({
      // Only the email queue, and no sweep within the test: the late payment is what expires the order.
      env: { ...t.env, SMTP_URL: smtp.url, SHOP_URL: 'https://shop.example/', OUTBOX_POLL_INTERVAL_MS: '50', LOG_LEVEL: 'error', WORKER_QUEUES: 'email', PAYMENT_SWEEP_INTERVAL_MS: '3600000' },
      command: 'worker',
      timeoutMs: 60_000,
    });
  });
  after(async () => {
    await worker?.stop();
    await t?.close();
    await smtp?.close();
    await proxy?.close();
    await stripe?.close();
  });

  const deliver = (event: StripeEvent) => t.app.inject(signedWebhook(event, WEBHOOK_SECRET));

  it('tells a guest buyer once, after the hold is released, with the amount, the order, the reason and the shop', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'late-1', name: 'Late item', priceCents: 4200, available: 5 } });
    assert.equal(created.statusCode, 201, created.body);
    const placed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { 'idempotency-key': 'late-guest' },
      payload: { email: 'Late.Guest@example.com', items: [{ productId: created.json().id, quantity: 1 }] },
    });
    assert.equal(placed.statusCode, 201, placed.body);
    const orderId = placed.json().id as number;
    const pay = await t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${placed.json().accessToken}/pay`, payload: {} });
    assert.equal(pay.statusCode, 200, pay.body);
    const intentId = (pay.json().payment.clientSecret as string).split('_secret_')[0]!;
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000 + 300));
    const [late] = stripe.confirm(intentId, 'authorize');

    const statusOf = async () => (await t.platform.db.primary.execute<{ status: string }>(sql`select status from orders where id = ${orderId}`)).rows[0]!.status;
    assert.equal(await statusOf(), 'pending_payment', 'the reservation is still there when the payment arrives');

    // Stripe unreachable: the payment is late, but its hold is not released yet, so the buyer is not told it was.
    await proxy.cut();
    const refused = await deliver(late!);
    assert.equal(refused.statusCode, 503, refused.body);
    const queued = async () => (await t.platform.db.primary.execute<{ id: string }>(sql`select id from outbox where name = 'send-payment-returned' and (data->>'orderId')::bigint = ${orderId}`)).rows;
    assert.deepEqual(await queued(), [], 'no email while the hold is still on the card');
    assert.equal(await statusOf(), 'expired', 'the late payment expired the order');
    await proxy.restore();

    // Stripe's redeliveries, three at once; then its payment_intent.canceled, twice at once.
    for (const reply of await Promise.all([late!, late!, late!].map((event) => deliver(event)))) assert.equal(reply.statusCode, 200, reply.body);
    const canceled = stripe.events.filter((e) => e.type === 'payment_intent.canceled' && (e.data.object as Json).id === intentId);
    for (const reply of await Promise.all([...canceled, ...canceled].map((event) => deliver(event)))) assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(stripe.cancels.get(intentId), 1, 'the hold released once');

    const rows = await queued();
    assert.equal(rows.length, 1, 'one email per payment given back');
    const messageId = messageIdFor(outboxJobId(Number(rows[0]!.id)));
    await waitFor('the email to be accepted', () => smtp.accepted.find((m) => m.messageId === messageId));
    // Long enough for a second copy to have been sent, had there been one.
    await new Promise((resolve) => setTimeout(resolve, 500));
    // One message for one event: the payment's email says the reservation expired; no "reservation expired"
    // email ("Nothing was charged") contradicts it.
    const expiryEmails = await t.platform.db.primary.execute<{ id: string }>(sql`select id from outbox where name = 'send-reservation-expired' and (data->>'orderId')::bigint = ${orderId}`);
    assert.deepEqual(expiryEmails.rows, [], 'no "reservation expired" email beside the "payment returned" one');
    assert.deepEqual(
      smtp.accepted.filter((m) => m.to.includes('late.guest@example.com') && /Subject: Your reservation/.test(m.raw)).map((m) => readable(m.raw).match(/Subject: .*/)?.[0]),
      [],
      'the buyer reads one email about the late payment',
    );
    const sent = smtp.accepted.filter((m) => m.to.includes('late.guest@example.com') && /Subject: Your payment for order/.test(m.raw));
    assert.equal(sent.length, 1, 'sent once');
    const message = readable(sent[0]!.raw);
    assert.match(message, new RegExp(`Subject: Your payment for order ${orderId} was not taken`));
    assert.match(message, new RegExp(`Your payment of \\$42\\.00 for order ${orderId} was not taken, because the reservation had expired`));
    assert.match(message, /hold on your card has been released/);
    assert.match(message, /order again at https:\/\/shop\.example\//);
    assert.match(message, /<a href="https:\/\/shop\.example\/">/);
  });
});

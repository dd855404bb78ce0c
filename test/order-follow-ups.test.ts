import assert from 'node:assert/strict';
import type { Job } from 'bullmq';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestProvider, TEST_SIGNATURE_HEADER, testWebhookSecret } from '../src/modules/payments/test-provider.ts';
import { sessionCookieOf } from './helpers/commerce.ts';
import { request } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { createQueueFixture, waitFor, type QueueFixture } from './helpers/queues.ts';

/**
 * From a request to its side effects, through real processes: `salescale serve` writes the customer
 * or order and its outbox row in one transaction; `salescale worker` relays it to BullMQ and runs
 * the follow-ups (welcome email, order fan-out, confirmation email, popularity, analytics).
 */
describe('follow-ups of registration and checkout', () => {
  let f: QueueFixture;
  let web: Instance;
  let worker: Instance;

  before(async () => {
    f = await createQueueFixture({ PASSWORD_HASH_MEMORY_KIB: '1024', PASSWORD_HASH_PASSES: '1', SHOP_URL: 'https://shop.example', MAIL_FROM: 'Teashop <orders@teashop.example>' });
    web = await startInstance({ env: f.env, timeoutMs: 60_000 });
    worker = await f.startWorker();
  });
  after(async () => {
    await web?.stop();
    await f?.close();
  });

  const mails = async () => {
    const names = (await readdir(f.mailDir).catch(() => [])).filter((name) => name.endsWith('.eml'));
    return Promise.all(names.map((name) => readFile(path.join(f.mailDir, name), 'utf8')));
  };
  /** The analytics rollups' total of `metric`, over every hour and dimension. */
  const rollup = async (metric: string) =>
    (await f.db.pools.primary.query<{ n: number }>('SELECT coalesce(sum(value), 0)::int AS n FROM analytics_hourly WHERE metric = $1', [metric])).rows[0]!.n;
  /** Delivers `event` to the test provider's webhook, signed as the provider signs it; returns the outcome it answered with. */
  const deliverWebhook = async (event: { id: string; type: string; data: Record<string, unknown> }) => {
    const signer = createTestProvider({ db: f.db, webhookSecret: testWebhookSecret(f.env.SESSION_SECRET!) });
    const payload = JSON.stringify(event);
    const reply = await fetch(`${web.url}/api/v1/payments/webhooks/test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TEST_SIGNATURE_HEADER]: signer.signWebhook(payload) },
      body: payload,
    });
    const text = await reply.text();
    assert.equal(reply.status, 200, text);
    return (JSON.parse(text) as { outcome: string }).outcome;
  };

  it('sends the welcome email, then, once the order is paid, the confirmation, and updates popularity and analytics', async () => {
    const registered = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email: 'lin@example.com', password: 'a long password', name: 'Lin' } });
    assert.equal(registered.status, 201);
    const cookie = sessionCookieOf(registered.headers.getSetCookie())!;
    await waitFor('the welcome email', async () => (await mails()).some((m) => m.includes('lin@example.com') && /welcome/i.test(m)));

    const product = await request(`${web.url}/api/v1/admin/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.env.ADMIN_API_TOKEN}` },
      body: { sku: 'follow-1', name: 'Teapot', priceCents: 2500, available: 10 },
    });
    const placed = await request(`${web.url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie, 'idempotency-key': 'follow-up-order' },
      body: { items: [{ productId: product.body.id, quantity: 2 }] },
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    // Confirmation, popularity and analytics follow the payment, not the reservation.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await mails()).filter((m) => m.includes('Teapot')).length, 0, 'no confirmation before payment');
    const paid = await request(`${web.url}/api/v1/orders/${placed.body.id}/pay`, { method: 'POST', headers: { cookie }, body: { token: 'tok_ok' } });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    const confirmation = await waitFor('the order confirmation email', async () => (await mails()).find((m) => m.includes('Teapot') && m.includes('lin@example.com')));
    assert.match(confirmation, /50\.00/);

    await waitFor('popularity to count the units sold', async () => {
      const { rows } = await f.db.pools.primary.query('SELECT popularity FROM products WHERE id = $1', [product.body.id]);
      return rows[0].popularity === 2;
    });
    await waitFor('the analytics event', async () => {
      const { rows } = await f.db.pools.primary.query("SELECT coalesce(sum(value), 0)::int AS n FROM analytics_hourly WHERE metric = 'orders'");
      return rows[0].n === 1;
    });
  });

  it("gives each email a Message-ID in the sender's domain (MAIL_FROM), not one every Salescale shop shares", async () => {
    // Every shop numbers its outbox from 1: under one fixed right-hand side (`@salescale`), two shops, or a shop and its
    // staging, send different emails under one Message-ID, and a mailbox or provider that drops a Message-ID it already
    // holds (Gmail does) hides the second; a right-hand side that is no domain also costs spam score (rspamd's MID_RHS_NOT_FQDN).
    const registered = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email: 'mid@example.com', password: 'a long password', name: 'Mid' } });
    assert.equal(registered.status, 201);
    const welcome = await waitFor('the welcome email', async () => (await mails()).find((m) => m.includes('mid@example.com')));
    assert.match(welcome, /^From: Teashop <orders@teashop\.example>$/m);
    assert.match(welcome, /^Message-ID: <outbox-[0-9]+@teashop\.example>$/m);
  });

  it("links the confirmation to the buyer's order: a guest's to its order link (the checkout's accessToken), an account's to its order page", async () => {
    const admin = { authorization: `Bearer ${f.env.ADMIN_API_TOKEN}` };
    const product = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: admin, body: { sku: 'follow-link', name: 'Sieve', priceCents: 700, available: 10 } });
    const guest = await request(`${web.url}/api/v1/orders`, {
      method: 'POST',
      headers: { 'idempotency-key': 'guest-link-order' },
      body: { email: 'guest-link@example.com', items: [{ productId: product.body.id, quantity: 1 }] },
    });
    assert.equal(guest.status, 201, JSON.stringify(guest.body));
    const token: string = guest.body.accessToken;
    const paid = await request(`${web.url}/api/v1/guest-orders/${token}/pay`, { method: 'POST', body: { token: 'tok_ok' } });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    const registered = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email: 'kim@example.com', password: 'a long password', name: 'Kim' } });
    const cookie = sessionCookieOf(registered.headers.getSetCookie())!;
    const own = await request(`${web.url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': 'account-link-order' }, body: { items: [{ productId: product.body.id, quantity: 1 }] } });
    assert.equal(own.status, 201, JSON.stringify(own.body));
    assert.equal((await request(`${web.url}/api/v1/orders/${own.body.id}/pay`, { method: 'POST', headers: { cookie }, body: { token: 'tok_ok' } })).status, 200);

    // The messages' text as read (quoted-printable's soft line breaks joined).
    const decoded = async () => (await mails()).map((m) => m.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))));
    const guestMail = await waitFor("the guest's confirmation", async () => (await decoded()).find((m) => m.includes('Sieve') && m.includes('guest-link@example.com')));
    assert.ok(guestMail.includes(`https://shop.example/guest-orders/${token}`), 'the guest confirmation links to the order by its access token');
    assert.ok(guestMail.includes(`href="https://shop.example/guest-orders/${token}"`), 'and so does its HTML part');
    const shown = await request(`${web.url}/api/v1/guest-orders/${token}`);
    assert.equal(shown.status, 200, 'the link opens the order');
    assert.equal(shown.body.id, guest.body.id);
    const accountMail = await waitFor("the account's confirmation", async () => (await decoded()).find((m) => m.includes('Sieve') && m.includes('kim@example.com')));
    assert.ok(accountMail.includes(`https://shop.example/orders/${own.body.id}`), "the account's confirmation links to its order page");
    assert.ok(!accountMail.includes('/guest-orders/'), 'with no guest link');
  });

  it('sends no confirmation for an order refunded before its confirmation went out', async () => {
    const registered = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email: 'ada@example.com', password: 'a long password', name: 'Ada' } });
    assert.equal(registered.status, 201);
    const cookie = sessionCookieOf(registered.headers.getSetCookie())!;
    const admin = { authorization: `Bearer ${f.env.ADMIN_API_TOKEN}` };
    const product = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: admin, body: { sku: 'follow-2', name: 'Kettle', priceCents: 4000, available: 10 } });
    const placed = await request(`${web.url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie, 'idempotency-key': 'refunded-order' },
      body: { items: [{ productId: product.body.id, quantity: 1 }] },
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    // The confirmation email is delayed 1 s after the fan-out; a refund slower than that (a loaded machine) would
    // come after it. The email queue is held instead: the fan-out queues the email, the refund commits, and
    // only then may the email's job run, so it always runs for an order refunded after its email was queued.
    const email = (await f.inspect()).get('email');
    await email.pause();
    let confirmation: Job | undefined;
    try {
      const paid = await request(`${web.url}/api/v1/orders/${placed.body.id}/pay`, { method: 'POST', headers: { cookie }, body: { token: 'tok_ok' } });
      assert.equal(paid.status, 200, JSON.stringify(paid.body));
      confirmation = await waitFor('the fan-out to queue the confirmation email', async () =>
        (await email.getJobs(['delayed', 'waiting', 'prioritized'])).find((job) => job.name === 'send-order-confirmation' && String(job.data.orderId) === String(placed.body.id)));
      const refunded = await request(`${web.url}/api/v1/admin/orders/${placed.body.id}/refund`, { method: 'POST', headers: admin });
      assert.equal(refunded.status, 200, JSON.stringify(refunded.body));
      assert.equal(refunded.body.status, 'refunded');
    } finally {
      await email.resume();
    }

    // The queued confirmation ran after the refund, and sent nothing.
    const ran = await waitFor('the confirmation job to run', async () => {
      const job = await email.getJob(confirmation!.id!);
      return job?.finishedOn ? job : undefined;
    });
    assert.equal(ran.failedReason, undefined, ran.failedReason);
    assert.equal(ran.returnvalue?.skipped, true, JSON.stringify(ran.returnvalue));
    assert.equal((await mails()).filter((m) => m.includes('Kettle')).length, 0, 'no confirmation for a refunded order');
  });

  it('sends no confirmation for an order whose refund was asked for and is not finished (the provider call failed)', async () => {
    const registered = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email: 'bo@example.com', password: 'a long password', name: 'Bo' } });
    assert.equal(registered.status, 201);
    const cookie = sessionCookieOf(registered.headers.getSetCookie())!;
    const admin = { authorization: `Bearer ${f.env.ADMIN_API_TOKEN}` };
    const product = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: admin, body: { sku: 'follow-4', name: 'Whisk', priceCents: 1200, available: 10 } });
    const placed = await request(`${web.url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': 'refund-asked-order' }, body: { items: [{ productId: product.body.id, quantity: 1 }] } });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const email = (await f.inspect()).get('email');
    await email.pause();
    let confirmation: Job | undefined;
    try {
      const paid = await request(`${web.url}/api/v1/orders/${placed.body.id}/pay`, { method: 'POST', headers: { cookie }, body: { token: 'tok_ok' } });
      assert.equal(paid.status, 200, JSON.stringify(paid.body));
      confirmation = await waitFor('the fan-out to queue the confirmation email', async () =>
        (await email.getJobs(['delayed', 'waiting', 'prioritized'])).find((job) => job.name === 'send-order-confirmation' && String(job.data.orderId) === String(placed.body.id)));
      // What an admin refund whose provider call failed (503, the provider unreachable) leaves: the order still
      // `paid`, marked as being refunded (`startRefund`), until the workers' give-back retry finishes it. The test
      // provider cannot fail a refund, so the mark is written as `startRefund` writes it.
      const marked = await f.db.pools.primary.query(`UPDATE orders SET refund_requested_at = now() WHERE id = $1 AND status = 'paid'`, [placed.body.id]);
      assert.equal(marked.rowCount, 1);
    } finally {
      await email.resume();
    }

    const ran = await waitFor('the confirmation job to run', async () => {
      const job = await email.getJob(confirmation!.id!);
      return job?.finishedOn ? job : undefined;
    });
    assert.equal(ran.failedReason, undefined, ran.failedReason);
    assert.equal(ran.returnvalue?.skipped, true, JSON.stringify(ran.returnvalue));
    assert.equal((await mails()).filter((m) => m.includes('Whisk')).length, 0, 'no "thank you" for an order being refunded');
  });

  it("reports a refunded order's money as refunded beside the revenue, so net revenue leaves out money given back", async () => {
    const registered = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email: 'ria@example.com', password: 'a long password', name: 'Ria' } });
    const cookie = sessionCookieOf(registered.headers.getSetCookie())!;
    const admin = { authorization: `Bearer ${f.env.ADMIN_API_TOKEN}` };
    const product = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: admin, body: { sku: 'follow-refund-revenue', name: 'Sieve', priceCents: 1234, available: 10 } });
    const placed = await request(`${web.url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': 'refunded-revenue' }, body: { items: [{ productId: product.body.id, quantity: 2 }] } });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const revenueBefore = await rollup('revenue_cents');
    const paid = await request(`${web.url}/api/v1/orders/${placed.body.id}/pay`, { method: 'POST', headers: { cookie }, body: { token: 'tok_ok' } });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    await waitFor('the paid order in the revenue', async () => (await rollup('revenue_cents')) === revenueBefore + 2468);
    const refundsBefore = await rollup('refunds_cents');
    const refundCountBefore = await rollup('refunds');
    const refunded = await request(`${web.url}/api/v1/admin/orders/${placed.body.id}/refund`, { method: 'POST', headers: admin });
    assert.equal(refunded.status, 200, JSON.stringify(refunded.body));
    await waitFor('the refund in the rollups', async () => (await rollup('refunds_cents')) === refundsBefore + 2468);
    const { rows } = await f.db.pools.primary.query("SELECT DISTINCT dimension FROM analytics_hourly WHERE metric = 'refunds_cents'");
    assert.deepEqual(rows.map((row) => row.dimension), [placed.body.currency], 'refunds are kept per currency, as revenue is');
    assert.equal(await rollup('refunds'), refundCountBefore + 1);
  });

  // A refund counts once per order, whichever way it comes: the admin's refund asked twice, the provider's event
  // delivered twice; a partial refund at the provider before it (the order stays paid) counts its money, and the full
  // refund then only the rest, so the order's total is counted once in all and the order once in `refunds`.
  it('counts each refunded order once in the rollups, refunded by the admin twice or by the provider\'s event', async () => {
    const registered = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email: 'ode@example.com', password: 'a long password', name: 'Ode' } });
    const cookie = sessionCookieOf(registered.headers.getSetCookie())!;
    const admin = { authorization: `Bearer ${f.env.ADMIN_API_TOKEN}` };
    const product = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: admin, body: { sku: 'follow-refund-once', name: 'Ladle', priceCents: 1111, available: 10 } });
    const paidOrder = async (key: string, quantity: number) => {
      const placed = await request(`${web.url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': key }, body: { items: [{ productId: product.body.id, quantity }] } });
      assert.equal(placed.status, 201, JSON.stringify(placed.body));
      const paid = await request(`${web.url}/api/v1/orders/${placed.body.id}/pay`, { method: 'POST', headers: { cookie }, body: { token: 'tok_ok' } });
      assert.equal(paid.status, 200, JSON.stringify(paid.body));
      return placed.body as { id: number; totalCents: number };
    };
    const byAdmin = await paidOrder('refund-once-admin', 1);
    const byProvider = await paidOrder('refund-once-provider', 2);
    const refundsBefore = await rollup('refunds_cents');
    const refundCountBefore = await rollup('refunds');
    for (let i = 0; i < 2; i++) {
      const refunded = await request(`${web.url}/api/v1/admin/orders/${byAdmin.id}/refund`, { method: 'POST', headers: admin });
      assert.equal(refunded.status, 200, JSON.stringify(refunded.body));
    }
    const { rows } = await f.db.pools.primary.query<{ intent_id: string }>('SELECT intent_id FROM payments WHERE order_id = $1', [byProvider.id]);
    const deliver = (id: string, amountCents: number) =>
      deliverWebhook({ id, type: 'payment.refunded', data: { intentId: rows[0]!.intent_id, orderId: byProvider.id, amountCents } });
    assert.equal(await deliver('evt_refund_once_part', 100), 'partially_refunded');
    assert.equal(await deliver('evt_refund_once_all', byProvider.totalCents), 'refunded');
    await deliver('evt_refund_once_all_again', byProvider.totalCents);
    const expected = refundsBefore + byAdmin.totalCents + byProvider.totalCents;
    await waitFor('both refunds in the rollups', async () => (await rollup('refunds_cents')) >= expected && (await rollup('refunds')) >= refundCountBefore + 2);
    assert.equal(await rollup('refunds_cents'), expected, 'each order\'s total counted once, the partial refund included in it');
    assert.equal(await rollup('refunds'), refundCountBefore + 2);
  });

  // Money given back at the provider without the order becoming refunded: a partial refund made in its dashboard
  // (`payment.refunded` carries the amount refunded so far, as Stripe's charge.refunded does) and a lost dispute.
  describe('money given back at the provider in the rollups', () => {
    const admin = () => ({ authorization: `Bearer ${f.env.ADMIN_API_TOKEN}` });
    /** Whether every analytics job written for the order has been applied (claimed by the worker, with its increments). */
    const analyticsApplied = async (orderId: number) =>
      (
        await f.db.pools.primary.query<{ pending: number }>(
          `SELECT count(*) FILTER (WHERE c.job_id IS NULL)::int AS pending FROM outbox o
           LEFT JOIN job_claims c ON c.queue = 'notifications' AND c.job_id = 'outbox-' || o.id
           WHERE o.name = 'update-analytics' AND (o.data->>'orderId')::bigint = $1`,
          [orderId],
        )
      ).rows[0]!.pending === 0;
    const paidOrder = async (email: string, sku: string, priceCents: number, quantity: number) => {
      const registered = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email, password: 'a long password', name: 'Buyer' } });
      const cookie = sessionCookieOf(registered.headers.getSetCookie())!;
      const product = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: admin(), body: { sku, name: 'Kettle', priceCents, available: 10 } });
      const placed = await request(`${web.url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': sku }, body: { items: [{ productId: product.body.id, quantity }] } });
      assert.equal(placed.status, 201, JSON.stringify(placed.body));
      const paid = await request(`${web.url}/api/v1/orders/${placed.body.id}/pay`, { method: 'POST', headers: { cookie }, body: { token: 'tok_ok' } });
      assert.equal(paid.status, 200, JSON.stringify(paid.body));
      const { rows } = await f.db.pools.primary.query<{ intent_id: string }>('SELECT intent_id FROM payments WHERE order_id = $1 AND applied', [placed.body.id]);
      await waitFor('the paid order in the rollups', () => analyticsApplied(placed.body.id));
      return { id: placed.body.id as number, totalCents: placed.body.totalCents as number, currency: placed.body.currency as string, intentId: rows[0]!.intent_id };
    };
    const deliver = (order: { id: number; intentId: string }, id: string, type: string, amountCents: number, currency?: string) =>
      deliverWebhook({ id, type, data: { intentId: order.intentId, orderId: order.id, amountCents, ...(currency === undefined ? {} : { currency }) } });

    it('counts partial refunds at the provider by what each adds, once across redeliveries and out-of-order events, and a later full refund only the rest', async () => {
      const order = await paidOrder('pia@example.com', 'follow-partial-refunds', 1500, 2);
      const refundsBefore = await rollup('refunds_cents');
      const refundCountBefore = await rollup('refunds');
      assert.equal(await deliver(order, 'evt_partial_500', 'payment.refunded', 500), 'partially_refunded');
      assert.equal(await deliver(order, 'evt_partial_500', 'payment.refunded', 500), 'duplicate');
      assert.equal(await deliver(order, 'evt_partial_1200', 'payment.refunded', 1200), 'partially_refunded');
      // Stripe does not promise order: the event of an earlier refund (800 refunded so far) after the later one's.
      assert.equal(await deliver(order, 'evt_partial_800', 'payment.refunded', 800), 'partially_refunded');
      await waitFor('the partial refunds in the rollups', () => analyticsApplied(order.id));
      assert.equal(await rollup('refunds_cents'), refundsBefore + 1200, 'what was refunded so far, each amount counted once');
      assert.equal(await rollup('refunds'), refundCountBefore, 'a partial refund refunds no order');
      const refunded = await request(`${web.url}/api/v1/admin/orders/${order.id}/refund`, { method: 'POST', headers: admin() });
      assert.equal(refunded.status, 200, JSON.stringify(refunded.body));
      assert.equal(await deliver(order, 'evt_partial_1200_again', 'payment.refunded', 1200), 'partially_refunded');
      await waitFor('the full refund in the rollups', () => analyticsApplied(order.id));
      assert.equal(await rollup('refunds_cents'), refundsBefore + order.totalCents, "the order's total counted once in all");
      assert.equal(await rollup('refunds'), refundCountBefore + 1);
    });

    it('counts the full refund at the provider after partial ones as the rest of the total only', async () => {
      const order = await paidOrder('pim@example.com', 'follow-partial-then-full', 1000, 3);
      const refundsBefore = await rollup('refunds_cents');
      assert.equal(await deliver(order, 'evt_pf_part', 'payment.refunded', 700), 'partially_refunded');
      assert.equal(await deliver(order, 'evt_pf_all', 'payment.refunded', order.totalCents), 'refunded');
      assert.equal(await deliver(order, 'evt_pf_part_late', 'payment.refunded', 400), 'partially_refunded');
      await waitFor('the refunds in the rollups', () => analyticsApplied(order.id));
      assert.equal(await rollup('refunds_cents'), refundsBefore + order.totalCents);
    });

    it('counts a full refund at the provider of a shipped order (which stays fulfilled) as money refunded, not as a refunded order', async () => {
      const order = await paidOrder('sho@example.com', 'follow-shipped-refund', 800, 2);
      const fulfilled = await request(`${web.url}/api/v1/admin/orders/${order.id}/fulfill`, { method: 'POST', headers: admin() });
      assert.equal(fulfilled.status, 200, JSON.stringify(fulfilled.body));
      const refundsBefore = await rollup('refunds_cents');
      const refundCountBefore = await rollup('refunds');
      assert.equal(await deliver(order, 'evt_shipped_part', 'payment.refunded', 300), 'partially_refunded');
      assert.equal(await deliver(order, 'evt_shipped_all', 'payment.refunded', order.totalCents), 'refunded');
      assert.equal(await deliver(order, 'evt_shipped_all_again', 'payment.refunded', order.totalCents), 'refunded');
      await waitFor('the refunds in the rollups', () => analyticsApplied(order.id));
      assert.equal(await rollup('refunds_cents'), refundsBefore + order.totalCents, 'the total, once');
      assert.equal(await rollup('refunds'), refundCountBefore, 'no order was refunded');
      const detail = await request(`${web.url}/api/v1/admin/orders/${order.id}`, { headers: admin() });
      assert.equal(detail.body.status, 'fulfilled');
    });

    it('counts a lost dispute as a chargeback of the disputed amount, once; a won one counts nothing', async () => {
      const lost = await paidOrder('dee@example.com', 'follow-dispute-lost', 1500, 2);
      const won = await paidOrder('dan@example.com', 'follow-dispute-won', 1700, 1);
      const refundsBefore = await rollup('refunds_cents');
      const chargebacksBefore = await rollup('chargebacks_cents');
      const chargebackCountBefore = await rollup('chargebacks');
      assert.equal(await deliver(lost, 'evt_dispute_lost_open', 'payment.disputed', 2000), 'disputed');
      assert.equal(await deliver(lost, 'evt_dispute_lost', 'payment.dispute_lost', 2000), 'dispute_lost');
      assert.equal(await deliver(lost, 'evt_dispute_lost', 'payment.dispute_lost', 2000), 'duplicate');
      assert.equal(await deliver(lost, 'evt_dispute_lost_again', 'payment.dispute_lost', 2000), 'dispute_lost');
      assert.equal(await deliver(won, 'evt_dispute_won_open', 'payment.disputed', 1700), 'disputed');
      assert.equal(await deliver(won, 'evt_dispute_won', 'payment.dispute_won', 1700), 'dispute_won');
      await waitFor('the lost dispute in the rollups', async () => (await analyticsApplied(lost.id)) && (await analyticsApplied(won.id)));
      assert.equal(await rollup('chargebacks_cents'), chargebacksBefore + 2000, 'the disputed amount, once');
      assert.equal(await rollup('chargebacks'), chargebackCountBefore + 1);
      assert.equal(await rollup('refunds_cents'), refundsBefore, 'a chargeback is no refund');
      const { rows } = await f.db.pools.primary.query("SELECT DISTINCT dimension FROM analytics_hourly WHERE metric = 'chargebacks_cents'");
      assert.deepEqual(rows.map((row) => row.dimension), [lost.currency], 'kept per currency, as revenue is');
    });

    // A dispute lost in full (or over what refunds left) already gave the money back; the admin's refund after it moves none (no provider call) but makes the
    // order refunded. Money leaving counts once in all: a chargeback counts at most what refunds had not counted, and a
    // refund after a chargeback only what neither counted.
    it('counts money leaving an order once in all across partial refunds, a lost dispute and the admin refund after it', async () => {
      const lostThenRefunded = await paidOrder('lra@example.com', 'follow-lost-then-refunded', 1500, 2);
      const partThenLost = await paidOrder('plb@example.com', 'follow-part-then-lost', 1000, 3);
      const refundsBefore = await rollup('refunds_cents');
      const chargebacksBefore = await rollup('chargebacks_cents');
      const chargebackCountBefore = await rollup('chargebacks');
      assert.equal(await deliver(lostThenRefunded, 'evt_lra_open', 'payment.disputed', lostThenRefunded.totalCents), 'disputed');
      assert.equal(await deliver(lostThenRefunded, 'evt_lra_lost', 'payment.dispute_lost', lostThenRefunded.totalCents), 'dispute_lost');
      assert.equal(await deliver(partThenLost, 'evt_plb_part', 'payment.refunded', 1000), 'partially_refunded');
      assert.equal(await deliver(partThenLost, 'evt_plb_open', 'payment.disputed', partThenLost.totalCents), 'disputed');
      assert.equal(await deliver(partThenLost, 'evt_plb_lost', 'payment.dispute_lost', partThenLost.totalCents), 'dispute_lost');
      for (const order of [lostThenRefunded, partThenLost]) {
        const refunded = await request(`${web.url}/api/v1/admin/orders/${order.id}/refund`, { method: 'POST', headers: admin() });
        assert.equal(refunded.status, 200, JSON.stringify(refunded.body));
        assert.equal(refunded.body.status, 'refunded');
      }
      const calls = await f.db.pools.primary.query("SELECT 1 FROM test_provider_operations WHERE intent_id = ANY($1) AND kind = 'refund'", [[lostThenRefunded.intentId, partThenLost.intentId]]);
      assert.equal(calls.rowCount, 0, 'nothing left to refund at the provider');
      await waitFor('the money given back in the rollups', async () => (await analyticsApplied(lostThenRefunded.id)) && (await analyticsApplied(partThenLost.id)));
      const refunds = (await rollup('refunds_cents')) - refundsBefore;
      const chargebacks = (await rollup('chargebacks_cents')) - chargebacksBefore;
      assert.equal(chargebacks, lostThenRefunded.totalCents + (partThenLost.totalCents - 1000), 'the disputed amount, at most what refunds had not counted');
      assert.equal(refunds, 1000, 'the partial refund; the admin refund after a lost dispute adds nothing');
      assert.equal(refunds + chargebacks, lostThenRefunded.totalCents + partThenLost.totalCents, "each order's total once in all");
      assert.equal(await rollup('chargebacks'), chargebackCountBefore + 2);
    });

    it('counts a refund at the provider after a lost dispute at most as what the chargeback left of the order', async () => {
      const order = await paidOrder('lpr@example.com', 'follow-lost-then-part', 1000, 3);
      const refundsBefore = await rollup('refunds_cents');
      const chargebacksBefore = await rollup('chargebacks_cents');
      assert.equal(await deliver(order, 'evt_lpr_open', 'payment.disputed', 2000), 'disputed');
      assert.equal(await deliver(order, 'evt_lpr_lost', 'payment.dispute_lost', 2000), 'dispute_lost');
      assert.equal(await deliver(order, 'evt_lpr_part', 'payment.refunded', 1500), 'partially_refunded');
      await waitFor('the money given back in the rollups', () => analyticsApplied(order.id));
      assert.equal((await rollup('chargebacks_cents')) - chargebacksBefore, 2000);
      assert.equal((await rollup('refunds_cents')) - refundsBefore, order.totalCents - 2000, 'the refund past what the chargeback left counts nothing');
    });

    // A dispute can be for part of the charge: its loss gave that part back, and the admin's refund after it gives back
    // the rest at the provider (a refund of that amount), counted as refunded; only a dispute lost in full moves no money.
    it('refunds the rest of a payment at the provider when an admin refunds an order after a dispute lost over part of it', async () => {
      const order = await paidOrder('lpd@example.com', 'follow-lost-part-then-admin', 1500, 2);
      const refundsBefore = await rollup('refunds_cents');
      const chargebacksBefore = await rollup('chargebacks_cents');
      assert.equal(await deliver(order, 'evt_lpd_open', 'payment.disputed', 2000), 'disputed');
      assert.equal(await deliver(order, 'evt_lpd_lost', 'payment.dispute_lost', 2000), 'dispute_lost');
      const refunded = await request(`${web.url}/api/v1/admin/orders/${order.id}/refund`, { method: 'POST', headers: admin() });
      assert.equal(refunded.status, 200, JSON.stringify(refunded.body));
      assert.equal(refunded.body.status, 'refunded');
      const { rows } = await f.db.pools.primary.query<{ amount: number }>("SELECT amount_cents::int AS amount FROM test_provider_operations WHERE intent_id = $1 AND kind = 'refund'", [order.intentId]);
      assert.deepEqual(rows.map((row) => row.amount), [order.totalCents - 2000], 'the rest of the payment refunded at the provider, once');
      await waitFor('the money given back in the rollups', () => analyticsApplied(order.id));
      assert.equal((await rollup('chargebacks_cents')) - chargebacksBefore, 2000);
      assert.equal((await rollup('refunds_cents')) - refundsBefore, order.totalCents - 2000, 'the rest, refunded at the provider');
    });

    // The rollups count money given back in the order's currency; an event in another one (a provider's misconfigured
    // account, a conversion) is not converted nor mixed into it: logged, counted nowhere.
    it('counts nothing for a partial refund or a lost dispute in another currency than the order', async () => {
      const order = await paidOrder('cur@example.com', 'follow-other-currency', 1200, 2);
      const other = order.currency === 'JPY' ? 'EUR' : 'JPY';
      const refundsBefore = await rollup('refunds_cents');
      const chargebacksBefore = await rollup('chargebacks_cents');
      const chargebackCountBefore = await rollup('chargebacks');
      assert.equal(await deliver(order, 'evt_cur_part', 'payment.refunded', 500, other), 'ignored');
      assert.equal(await deliver(order, 'evt_cur_open', 'payment.disputed', 1000, other), 'disputed');
      assert.equal(await deliver(order, 'evt_cur_lost', 'payment.dispute_lost', 1000, other), 'dispute_lost');
      await waitFor('the events in the rollups', () => analyticsApplied(order.id));
      assert.equal(await rollup('refunds_cents'), refundsBefore, 'a refund in another currency counts nothing');
      assert.equal(await rollup('chargebacks_cents'), chargebacksBefore, 'a chargeback in another currency counts nothing');
      assert.equal(await rollup('chargebacks'), chargebackCountBefore);
      const { rows } = await f.db.pools.primary.query<{ refunded: number; charged: number }>(
        'SELECT refunded_counted_cents::int AS refunded, charged_back_counted_cents::int AS charged FROM payments WHERE order_id = $1 AND applied',
        [order.id],
      );
      assert.deepEqual(rows[0], { refunded: 0, charged: 0 }, 'nothing kept as counted either');
    });

    it('changes nothing for a refund at the provider in another currency than the order, whatever its amount', async () => {
      const order = await paidOrder('cux@example.com', 'follow-other-currency-full', 1500, 2);
      const other = order.currency === 'JPY' ? 'EUR' : 'JPY';
      const refundsBefore = await rollup('refunds_cents');
      const refundCountBefore = await rollup('refunds');
      // 5000 in another currency is no statement that the order's 3000 were refunded, in full or in part.
      assert.equal(await deliver(order, 'evt_cux_refund', 'payment.refunded', 5000, other), 'ignored');
      const detail = await request(`${web.url}/api/v1/admin/orders/${order.id}`, { headers: admin() });
      assert.equal(detail.body.status, 'paid', 'not refunded, its units not back on sale');
      const { rows } = await f.db.pools.primary.query<{ status: string }>('SELECT status FROM payments WHERE order_id = $1 AND applied', [order.id]);
      assert.equal(rows[0]!.status, 'captured');
      await waitFor('the order in the rollups', () => analyticsApplied(order.id));
      assert.equal(await rollup('refunds_cents'), refundsBefore);
      assert.equal(await rollup('refunds'), refundCountBefore);
    });
  });

  it('gives popularity back for an order refunded before its fan-out ran: the decrement is not lost to the increment arriving after it', async () => {
    const registered = await request(`${web.url}/api/v1/customers`, { method: 'POST', body: { email: 'mo@example.com', password: 'a long password', name: 'Mo' } });
    const cookie = sessionCookieOf(registered.headers.getSetCookie())!;
    const admin = { authorization: `Bearer ${f.env.ADMIN_API_TOKEN}` };
    const product = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: admin, body: { sku: 'follow-3', name: 'Ladle', priceCents: 900, available: 10 } });
    // This product's stock jobs that ran (their claims): the previous test's may still be running meanwhile.
    const inventoryClaims = async () =>
      (
        await f.db.pools.primary.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM job_claims c JOIN outbox o ON c.job_id = 'outbox-' || o.id
           WHERE c.queue = 'inventory' AND o.queue = 'inventory' AND o.name = 'update-stock' AND (o.data->>'productId')::bigint = $1`,
          [product.body.id],
        )
      ).rows[0]!.n;
    assert.equal(await inventoryClaims(), 0);
    // No worker while the order is paid and refunded (a backlog, a deploy): the relay then moves the refund's
    // decrement and the `order-paid` job together, and the decrement runs before the fan-out writes the increment.
    await worker.stop();
    const placed = await request(`${web.url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': 'refunded-early' }, body: { items: [{ productId: product.body.id, quantity: 3 }] } });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const paid = await request(`${web.url}/api/v1/orders/${placed.body.id}/pay`, { method: 'POST', headers: { cookie }, body: { token: 'tok_ok' } });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    const refunded = await request(`${web.url}/api/v1/admin/orders/${placed.body.id}/refund`, { method: 'POST', headers: admin });
    assert.equal(refunded.status, 200, JSON.stringify(refunded.body));
    worker = await f.startWorker();

    await waitFor('the increment and the decrement to be applied', async () => (await inventoryClaims()) === 2);
    const { rows } = await f.db.pools.primary.query('SELECT popularity FROM products WHERE id = $1', [product.body.id]);
    assert.equal(rows[0].popularity, 0, 'a refunded order counts no units sold');
  });
});

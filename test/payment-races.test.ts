import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestProvider, TEST_SIGNATURE_HEADER, testWebhookSecret } from '../src/modules/payments/test-provider.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { request, type JsonReply } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';

/**
 * Races on one order between two real `salescale serve` instances and a worker sweeping expired
 * reservations: pay calls against each other, against a cancellation, and against the end of the
 * payment window (with the provider's late webhooks). Whoever wins, the money and the units agree.
 */
describe('payment races on two instances', () => {
  let t: TestApp;
  let a: Instance;
  let b: Instance;
  let worker: Instance | undefined;
  let env: Record<string, string>;
  const WINDOW_S = 3;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  before(async () => {
    const limits = { RATE_LIMIT_CHECKOUT_MAX: '1000000', RATE_LIMIT_CUSTOMER_MAX: '1000000', RATE_LIMIT_GENERAL_MAX: '1000000', RATE_LIMIT_SALE_MAX: '1000000' };
    t = await createTestApp({ ...limits, PAYMENT_WINDOW_S: String(WINDOW_S) });
    env = { ...t.env, ...limits, PAYMENT_WINDOW_S: String(WINDOW_S), DB_POOL_MAX: '8', OUTBOX_POLL_INTERVAL_MS: '50', PAYMENT_SWEEP_INTERVAL_MS: '100', LOG_LEVEL: 'silent' };
    [a, b] = await Promise.all([startInstance({ env }), startInstance({ env })]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop(), worker?.stop()]);
    await t.close();
  });

  async function product(available: number): Promise<number> {
    const reply = await request(`${a.url}/api/v1/admin/products`, {
      method: 'POST',
      headers: t.admin,
      body: { sku: `race-${Math.random().toString(36).slice(2)}`, name: 'Raced item', priceCents: 1999, available },
    });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return reply.body.id;
  }

  async function buyers(count: number): Promise<string[]> {
    return mintSessionCookies(env, await insertCustomers(t.platform.db.primary, count, 'race'));
  }

  async function place(cookies: string[], productId: number): Promise<{ id: number; cookie: string; expiresAt: string }[]> {
    return Promise.all(
      cookies.map(async (cookie, i) => {
        const reply = await request(`${(i % 2 ? b : a).url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': `o-${i}` }, body: { items: [{ productId, quantity: 1 }] } });
        assert.equal(reply.status, 201, JSON.stringify(reply.body));
        return { id: reply.body.id, cookie, expiresAt: reply.body.payment.expiresAt };
      }),
    );
  }

  const pay = (instance: Instance, cookie: string, orderId: number, key: string) =>
    request(`${instance.url}/api/v1/orders/${orderId}/pay`, { method: 'POST', headers: { cookie, 'idempotency-key': key }, body: { token: 'tok_ok' } });

  /** Per order: its status and what the provider did (the test provider's own ledger). */
  async function accounts(productId: number) {
    const result = await t.platform.db.primary.execute<{ id: string; status: string; authorizations: string; captures: string; voids: string; refunds: string }>(sql`
      select o.id, o.status,
             count(op.*) filter (where op.kind = 'authorize') as authorizations,
             count(op.*) filter (where op.kind = 'capture') as captures,
             count(op.*) filter (where op.kind = 'void') as voids,
             count(op.*) filter (where op.kind = 'refund') as refunds
      from orders o
      join order_items i on i.order_id = o.id and i.product_id = ${productId}
      left join test_provider_operations op on op.intent_id like 'tpi\\_' || o.id || '\\_%'
      group by o.id, o.status order by o.id`);
    return result.rows.map((row) => ({
      id: Number(row.id),
      status: row.status,
      authorizations: Number(row.authorizations),
      captures: Number(row.captures),
      voids: Number(row.voids),
      refunds: Number(row.refunds),
    }));
  }

  async function stock(productId: number): Promise<number> {
    const result = await t.platform.db.primary.execute<{ left: string }>(sql`select coalesce(sum(available), 0) as left from product_stock where product_id = ${productId}`);
    return Number(result.rows[0]!.left);
  }

  const unexpected = (replies: JsonReply[]) => replies.filter((r) => r.status >= 500).map((r) => `${r.status} ${JSON.stringify(r.body)}`);

  it('three pay calls and a cancellation of each order on two instances at once: it is paid once or cancelled with every hold voided', async () => {
    const productId = await product(40);
    const orders = await place(await buyers(16), productId);
    const replies = await Promise.all(
      orders.flatMap((order, i) => {
        const [one, other] = i % 2 ? [a, b] : [b, a];
        return [
          pay(one, order.cookie, order.id, `k1-${order.id}`),
          pay(other, order.cookie, order.id, `k2-${order.id}`),
          pay(one, order.cookie, order.id, `k3-${order.id}`),
          // The cancellation comes a little later for each order, so that it lands before, among and after the payments.
          sleep(i * 10).then(() => request(`${other.url}/api/v1/orders/${order.id}/cancel`, { method: 'POST', headers: { cookie: order.cookie } })),
        ];
      }),
    );
    assert.deepEqual(unexpected(replies), []);
    for (const reply of replies) {
      if (reply.status === 200) assert.ok(['paid', 'cancelled'].includes(reply.body.status), JSON.stringify(reply.body));
      else assert.ok(['ORDER_ALREADY_PAID', 'ORDER_NOT_PAYABLE', 'ORDER_NOT_CANCELLABLE'].includes(reply.body.error.code), JSON.stringify(reply.body));
    }
    let paid = 0;
    for (const order of await accounts(productId)) {
      assert.ok(order.status === 'paid' || order.status === 'cancelled', JSON.stringify(order));
      if (order.status === 'paid') paid++;
      assert.equal(order.captures, order.status === 'paid' ? 1 : 0, JSON.stringify(order));
      assert.equal(order.authorizations, order.captures + order.voids, `every other hold voided: ${JSON.stringify(order)}`);
    }
    assert.equal(await stock(productId), 40 - paid, 'units of cancelled orders back once, of paid ones not');
  });

  it('pay calls and the provider\'s webhooks at the end of the window, the sweeper expiring: paid once, or expired with no money kept', async () => {
    worker = await startInstance({ env, command: 'worker' });
    const provider = createTestProvider({ db: t.platform.db, webhookSecret: testWebhookSecret(t.config.secrets.sessionSecret) });
    const webhook = async (instance: Instance, orderId: number) => {
      // The buyer's card authorized at the provider (in the browser), which then tells us.
      const { id, type, ...data } = await provider.authorizeWithToken!({ orderId, amountCents: 1999, currency: 'USD', token: 'tok_ok', idempotencyKey: `browser-${orderId}` });
      const payload = JSON.stringify({ id, type, data });
      return request(`${instance.url}/api/v1/payments/webhooks/test`, {
        method: 'POST',
        headers: { [TEST_SIGNATURE_HEADER]: provider.signWebhook(payload), 'content-type': 'application/json' },
        body: payload,
      });
    };
    /** One batch of orders of a new product, each paid (a pay call and a webhook) at its offset from the end of its window; the statuses in the offsets' order. */
    const batch = async (offsetsMs: number[]): Promise<string[]> => {
      const productId = await product(40);
      const orders = await place(await buyers(offsetsMs.length), productId);
      const replies = await Promise.all(
        orders.map(async (order, i) => {
          const at = Date.parse(order.expiresAt) + offsetsMs[i]!;
          await sleep(Math.max(0, at - Date.now()));
          const [one, other] = i % 2 ? [a, b] : [b, a];
          return Promise.all([pay(one, order.cookie, order.id, `edge-${order.id}`), webhook(other, order.id)]);
        }),
      );
      assert.deepEqual(unexpected(replies.flat()), []);
      // The sweeper expires whatever is left unpaid.
      for (const deadline = Date.now() + 30_000; (await accounts(productId)).some((o) => o.status === 'pending_payment') && Date.now() < deadline; ) await sleep(100);
      const byId = new Map((await accounts(productId)).map((order) => [order.id, order]));
      let paid = 0;
      for (const order of byId.values()) {
        assert.ok(order.status === 'paid' || order.status === 'expired', JSON.stringify(order));
        if (order.status === 'paid') paid++;
        assert.equal(order.captures, order.status === 'paid' ? 1 : 0, `captured only if paid: ${JSON.stringify(order)}`);
        assert.equal(order.authorizations, order.captures + order.voids, `every other hold voided: ${JSON.stringify(order)}`);
        assert.equal(order.refunds, 0);
      }
      assert.equal(byId.size, orders.length);
      assert.equal(await stock(productId), 40 - paid, 'units of expired orders back once, of paid ones not');
      return orders.map((order) => byId.get(order.id)!.status);
    };

    // At the edge: 20 orders paid from 300 ms before the end of their window to 300 ms after, and both outcomes must be
    // among them. A loaded machine's replies can be late by more than the 300 ms and put all 20 on one side; the race
    // at the edge was then not run, so the batch is run again with new orders (up to 5 rounds), never accepted.
    const paidPerRound: number[] = [];
    for (let round = 0; round < 5; round++) {
      const statuses = await batch(Array.from({ length: 20 }, (_, i) => -300 + i * 30));
      paidPerRound.push(statuses.filter((status) => status === 'paid').length);
      if (paidPerRound.at(-1)! > 0 && paidPerRound.at(-1)! < 20) break;
    }
    const paid = paidPerRound.at(-1)!;
    assert.ok(paid > 0 && paid < 20, `both sides of the edge were hit in one batch of 20 (paid per round: ${paidPerRound.join(', ')})`);
  });
});

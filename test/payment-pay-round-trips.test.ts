import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { startStripeTestApp, type StripeTestApp } from './helpers/stripe-app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { queryCounter, type QueryCount } from './helpers/query-counter.ts';

/**
 * What a pay call costs the primary pool: its round trips (every query sent, `begin` and `commit` included), its
 * transactions and its connection checkouts, counted at the pg client for the connections the call checks out. At a
 * sale's traffic the pay call held web pool connections for several multi-statement transactions and filled 10-connection
 * pools (chaos investigation, 6 December): these bounds keep it from growing back unnoticed.
 */
// Before (6 December): paid 23 round trips, 1 transaction, 14 checkouts; replayed 4, 0, 4; declined 13, 1, 7. Then paid
// 13, 1, 7 (its transaction 7 statements); now the order marked paid, its order-paid outbox row and its payment applied
// are one statement (a transaction of 5), and the call's own authorization is decided with no read first of whether
// its event was seen (declined 8, 1, 4 before that), and a new payment row is created in the statement that locks the
// order (a transaction of 4: begin, the order locked and its payment created, the order paid, commit).
const PAID = { roundTrips: 9, transactions: 1, checkouts: 6 };
const REPLAYED = { roundTrips: 2, transactions: 0, checkouts: 2 };
const DECLINED = { roundTrips: 6, transactions: 1, checkouts: 3 };
// Stripe, a guest's first pay call (the intent created and recorded): 14, 1, 9 before; then 9, 1, 5. Now the order's open
// and last dead intents are one read, and the open intent's check and ours recorded one statement (a transaction of 4:
// begin, the order locked, the open intent read or ours created, commit).
const STRIPE_FIRST = { roundTrips: 7, transactions: 1, checkouts: 4 };

describe('the round trips of a pay call (test provider)', () => {
  let t: TestApp;
  let cookie = '';
  let counter: ReturnType<typeof queryCounter>;
  const run = randomUUID().slice(0, 8);

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '10000' });
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, `trips-${run}`);
    [cookie] = (await mintSessionCookies(t.env, [customerId!])) as [string];
    counter = queryCounter(t.platform.db.pools.primary);
  });
  after(() => t?.close());

  async function order(): Promise<number> {
    const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `trips-${run}-${randomUUID().slice(0, 8)}`, name: 'Counted item', priceCents: 1500, available: 5 } });
    assert.equal(product.statusCode, 201, product.body);
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': randomUUID() }, payload: { items: [{ productId: product.json().id, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    return placed.json().id;
  }

  async function pay(orderId: number, token: string, key: string) {
    const { result: reply, counted } = await counter.count(() =>
      t.app.inject({ method: 'POST', url: `/api/v1/orders/${orderId}/pay`, headers: { cookie, 'idempotency-key': key }, payload: { token } }),
    );
    return { reply, counted };
  }

  const describeCount = (c: QueryCount) => `${c.statements.length} round trips, ${c.transactions} transactions, ${c.checkouts} checkouts:\n  ${c.statements.join('\n  ')}`;

  /** At most `bound`'s round trips, transactions and checkouts (measured on 6 December: 23, 1 and 14 before, for a paid call). */
  function assertAtMost(what: string, c: QueryCount, bound: { roundTrips: number; transactions: number; checkouts: number }) {
    const seen = { roundTrips: c.statements.length, transactions: c.transactions, checkouts: c.checkouts };
    for (const key of Object.keys(bound) as (keyof typeof bound)[]) assert.ok(seen[key] <= bound[key], `${what}: ${key} ${seen[key]} > ${bound[key]}; ${describeCount(c)}`);
  }

  it('a successful pay call, its replay and a declined one', async (context) => {
    const orderId = await order();
    const key = `trips-${randomUUID()}`;
    const paid = await pay(orderId, 'tok_ok', key);
    assert.equal(paid.reply.statusCode, 200, paid.reply.body);
    assert.equal(paid.reply.json().status, 'paid');
    assert.equal(paid.reply.json().payment.status, 'captured');
    context.diagnostic(`paid: ${describeCount(paid.counted)}`);
    assertAtMost('paid', paid.counted, PAID);

    const replayed = await pay(orderId, 'tok_ok', key);
    assert.equal(replayed.reply.statusCode, 200, replayed.reply.body);
    assert.equal(replayed.reply.headers['idempotent-replayed'], 'true');
    context.diagnostic(`replayed: ${describeCount(replayed.counted)}`);
    assertAtMost('replayed', replayed.counted, REPLAYED);

    const declinedOrder = await order();
    const declined = await pay(declinedOrder, 'tok_declined', `trips-${randomUUID()}`);
    assert.equal(declined.reply.statusCode, 402, declined.reply.body);
    context.diagnostic(`declined: ${describeCount(declined.counted)}`);
    assertAtMost('declined', declined.counted, DECLINED);
  });
});

describe('the round trips of a pay call (Stripe)', () => {
  let app: StripeTestApp;
  const run = randomUUID().slice(0, 8);
  before(async () => {
    app = await startStripeTestApp({ name: 'pay_trips', sku: `pay-trips-${run}`, productName: 'Counted item', available: 5 });
  });
  after(() => app?.close());

  it('a guest order\'s first pay call: its intent created and recorded', async (context) => {
    const counter = queryCounter(app.t.platform.db.pools.primary);
    const { accessToken } = await app.placeGuestOrder(`pay-trips-${run}`);
    const { result: reply, counted } = await counter.count(() =>
      app.t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${accessToken}/pay`, headers: { 'idempotency-key': `pay-trips-${run}-a` }, payload: {} }),
    );
    assert.equal(reply.statusCode, 200, reply.body);
    assert.match(reply.json().payment.clientSecret, /_secret_/);
    const seen = { roundTrips: counted.statements.length, transactions: counted.transactions, checkouts: counted.checkouts };
    const listing = `${seen.roundTrips} round trips, ${seen.transactions} transactions, ${seen.checkouts} checkouts:\n  ${counted.statements.join('\n  ')}`;
    context.diagnostic(`stripe first pay call: ${listing}`);
    for (const key of Object.keys(STRIPE_FIRST) as (keyof typeof STRIPE_FIRST)[]) assert.ok(seen[key] <= STRIPE_FIRST[key], `${key} ${seen[key]} > ${STRIPE_FIRST[key]}; ${listing}`);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../../../test/helpers/commerce.ts';

describe('ordering a cart whose products changed since they were added', () => {
  let t: TestApp;
  let n = 0;
  const product = async (fields: Record<string, unknown> = {}) => {
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `cc-${++n}-${Math.random().toString(36).slice(2)}`, name: `P${n}`, priceCents: 1000, available: 10, ...fields } });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json().id as number;
  };
  const shopper = async () => {
    const [id] = await insertCustomers(t.platform.db.primary, 1, `cc${++n}`);
    return { id: id!, cookie: ((await mintSessionCookies(t.env, [id!])) as [string])[0] };
  };
  const put = (cookie: string, id: number, quantity: number) => t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${id}`, headers: { cookie }, payload: { quantity } });
  const getCart = async (cookie: string) => (await t.app.inject({ method: 'GET', url: '/api/v1/cart', headers: { cookie } })).json();
  const orderCart = (cookie: string, key: string) => t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': key }, payload: {} });
  const patch = (id: number, payload: object) => t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${id}`, headers: t.admin, payload });
  const stockOf = async (id: number) => Number((await t.platform.db.primary.execute<{ sum: string }>(sql`select coalesce(sum(available), 0) as sum from product_stock where product_id = ${id}`)).rows[0]!.sum);

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '1000' });
  });
  after(() => t.close());

  it('refuses a cart holding products no longer for sale with one 409 naming every one of them, taking nothing and keeping the cart', async () => {
    const { id: customerId, cookie } = await shopper();
    const [kept, archived, draft, gone] = [await product(), await product(), await product(), 987_654_321];
    for (const id of [kept, archived, draft]) assert.equal((await put(cookie, id, 2)).statusCode, 200);
    // A product removed from the catalog since it was added leaves its line behind, as an unknown id.
    await t.platform.redis.hset(`${t.config.redis.prefix}:cart:${customerId}`, String(gone), '1');
    assert.equal((await patch(archived, { status: 'archived' })).statusCode, 200);
    assert.equal((await patch(draft, { status: 'draft' })).statusCode, 200);
    const reply = await orderCart(cookie, 'k-unavailable');
    assert.equal(reply.statusCode, 409, reply.body);
    const error = reply.json().error;
    assert.equal(error.code, 'PRODUCT_UNAVAILABLE');
    assert.deepEqual(error.details.products, [
      { productId: archived, status: 'archived' },
      { productId: draft, status: 'draft' },
      { productId: gone, status: 'deleted' },
    ]);
    assert.deepEqual([error.details.productId, error.details.status], [archived, 'archived'], 'the first one as before, for clients that read one');
    assert.deepEqual(await Promise.all([kept, archived, draft].map(stockOf)), [10, 10, 10], 'nothing reserved');
    const count = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from order_items where product_id in (${kept}, ${archived}, ${draft})`);
    assert.equal(Number(count.rows[0]!.n), 0, 'no order written');
    assert.deepEqual(
      (await getCart(cookie)).items.map((item: { productId: number; quantity: number }) => [item.productId, item.quantity]),
      [[kept, 2], [archived, 2], [draft, 2], [gone, 1]],
      'the cart is kept as the buyer chose it',
    );
  });

  it('shows in the cart why each line cannot be ordered: archived, draft, deleted, or priced in another currency', async () => {
    const { id: customerId, cookie } = await shopper();
    const [kept, archived, draft, euro, gone] = [await product(), await product(), await product(), await product(), 987_654_322];
    for (const id of [kept, archived, draft, euro]) assert.equal((await put(cookie, id, 1)).statusCode, 200);
    await t.platform.redis.hset(`${t.config.redis.prefix}:cart:${customerId}`, String(gone), '1');
    assert.equal((await patch(archived, { status: 'archived' })).statusCode, 200);
    assert.equal((await patch(draft, { status: 'draft' })).statusCode, 200);
    assert.equal((await patch(euro, { currency: 'EUR', priceCents: 1000 })).statusCode, 200);
    const cart = await getCart(cookie);
    assert.deepEqual(
      cart.items.map((item: { productId: number; purchasable: boolean; unavailableReason: string | null }) => [item.productId, item.purchasable, item.unavailableReason]),
      [
        [kept, true, null],
        [archived, false, 'archived'],
        [draft, false, 'draft'],
        [euro, false, 'other_currency'],
        [gone, false, 'deleted'],
      ],
    );
    assert.equal(cart.totalCents, 1000);
  });

  it('charges a product repriced since it went into the cart at its current price, which the cart shows too', async () => {
    const { cookie } = await shopper();
    const id = await product({ priceCents: 1000 });
    assert.equal((await put(cookie, id, 2)).statusCode, 200);
    assert.equal((await patch(id, { priceCents: 1500 })).statusCode, 200);
    const cart = await getCart(cookie);
    assert.deepEqual([cart.items[0].priceCents, cart.totalCents], [1500, 3000], 'the cart shows the current price');
    const reply = await orderCart(cookie, 'k-repriced');
    assert.equal(reply.statusCode, 201, reply.body);
    assert.deepEqual([reply.json().items[0].priceCents, reply.json().totalCents], [1500, 3000], 'the order charges it');
  });

  it('answers a cart line above the stock left, or sold out since, with 409 OUT_OF_STOCK and the units there are, the cart kept', async () => {
    const { cookie } = await shopper();
    const [short, other] = [await product({ available: 5 }), await product()];
    assert.equal((await put(cookie, short, 5)).statusCode, 200);
    assert.equal((await put(cookie, other, 1)).statusCode, 200);
    for (const left of [2, 0]) {
      const stock = await t.app.inject({ method: 'PUT', url: `/api/v1/admin/products/${short}/stock`, headers: t.admin, payload: { available: left } });
      assert.equal(stock.statusCode, 200, stock.body);
      const line = (await getCart(cookie)).items[0];
      assert.deepEqual([line.productId, line.quantity, line.available, line.purchasable], [short, 5, left, true], 'the cart shows the units left');
      const reply = await orderCart(cookie, `k-short-${left}`);
      assert.equal(reply.statusCode, 409, reply.body);
      assert.equal(reply.json().error.code, 'OUT_OF_STOCK');
      assert.deepEqual(reply.json().error.details.shortages, [{ productId: short, requested: 5, available: left }]);
      assert.deepEqual([await stockOf(short), await stockOf(other)], [left, 10], 'nothing taken');
    }
    assert.equal((await getCart(cookie)).items.length, 2, 'the cart is kept');
  });

  it('names a line repriced into another currency with the lines no longer for sale, as the cart shows it, in the one refusal', async () => {
    const { cookie } = await shopper();
    const [archived, kept, euro] = [await product(), await product(), await product()];
    for (const id of [archived, kept, euro]) assert.equal((await put(cookie, id, 1)).statusCode, 200);
    assert.equal((await patch(archived, { status: 'archived' })).statusCode, 200);
    assert.equal((await patch(euro, { currency: 'EUR', priceCents: 1000 })).statusCode, 200);
    const reply = await orderCart(cookie, 'k-currency');
    assert.equal(reply.statusCode, 409, reply.body);
    assert.equal(reply.json().error.code, 'PRODUCT_UNAVAILABLE');
    assert.deepEqual(reply.json().error.details.products, [
      { productId: archived, status: 'archived' },
      { productId: euro, status: 'other_currency' },
    ]);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/cart/items/${archived}`, headers: { cookie } })).statusCode, 200);
    const again = await orderCart(cookie, 'k-currency-2');
    assert.equal(again.statusCode, 409, again.body);
    assert.deepEqual(again.json().error.details.products, [{ productId: euro, status: 'other_currency' }]);
    assert.equal(await stockOf(kept), 10, 'nothing taken');
  });
  it('orders a cart once when several tabs check it out at once, each with its own key', async () => {
    const { id: customerId, cookie } = await shopper();
    const [mug, plate] = [await product(), await product()];
    assert.equal((await put(cookie, mug, 2)).statusCode, 200);
    assert.equal((await put(cookie, plate, 1)).statusCode, 200);
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => orderCart(cookie, `k-tab-${i}`)));
    const placed = replies.filter((reply) => reply.statusCode === 201);
    assert.equal(placed.length, 1, replies.map((reply) => `${reply.statusCode} ${reply.body}`).join('\n'));
    for (const reply of replies.filter((r) => r.statusCode !== 201)) assert.ok(['CART_BUSY', 'EMPTY_CART'].includes(reply.json().error.code), reply.body);
    assert.deepEqual([await stockOf(mug), await stockOf(plate)], [8, 9], 'one order of the cart taken');
    const orders = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from orders where customer_id = ${customerId}`);
    assert.equal(Number(orders.rows[0]!.n), 1, 'one order written');
    assert.equal((await getCart(cookie)).items.length, 0, 'the cart emptied');
  });
});

describe('a cart order whose outcome its checkout did not learn', () => {
  let t: TestApp;
  /** The next order placed commits, then its call fails as a connection lost at COMMIT does (the outcome unknown). */
  let loseNextReply = false;
  /** The next removal of ordered lines from a cart fails (Redis lost), after its order was placed and answered. */
  let failNextRemoval = false;
  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '1000' }, undefined, {
      services: (web) => {
        const place = web.orders.place;
        web.orders.place = async (...args: Parameters<typeof place>) => {
          const placed = await place(...args);
          if (loseNextReply) {
            loseNextReply = false;
            throw new Error('Connection terminated unexpectedly');
          }
          return placed;
        };
        const removeOrdered = web.cart.removeOrdered;
        web.cart.removeOrdered = async (...args: Parameters<typeof removeOrdered>) => {
          if (failNextRemoval) {
            failNextRemoval = false;
            throw new Error('Connection is closed.');
          }
          return removeOrdered(...args);
        };
      },
    });
  });
  after(() => t.close());

  /** A signed-in customer whose cart holds one unit of a new product (10 in stock). */
  async function signedInWithCartLine(tag: string, name: string): Promise<{ customerId: number; cookie: string }> {
    const [customerId] = (await insertCustomers(t.platform.db.primary, 1, tag)) as [number];
    const [cookie] = (await mintSessionCookies(t.env, [customerId])) as [string];
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `${tag}-${Math.random().toString(36).slice(2)}`, name, priceCents: 1000, available: 10 } });
    assert.equal(created.statusCode, 201, created.body);
    const put = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${created.json().id}`, headers: { cookie }, payload: { quantity: 1 } });
    assert.equal(put.statusCode, 200, put.body);
    return { customerId, cookie };
  }

  it('is not ordered again by another tab with its own key once the first checkout has ended (the cart ordered once)', async () => {
    const { customerId, cookie } = await signedInWithCartLine('cc-lost', 'Vase');
    loseNextReply = true;
    const first = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': 'k-lost-1' }, payload: {} });
    assert.ok(first.statusCode >= 500, first.body);
    // The first tab's checkout is over (its claim given back); another tab checks the same cart out with its own key.
    const second = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': 'k-lost-2' }, payload: {} });
    const orders = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from orders where customer_id = ${customerId}`);
    assert.equal(Number(orders.rows[0]!.n), 1, `one order of the one cart (second checkout: ${second.statusCode} ${second.body})`);
  });

  it('keeps another tab with its own key from ordering a cart whose ordered lines could not be taken out', async () => {
    const { customerId, cookie } = await signedInWithCartLine('cc-kept', 'Bowl');
    failNextRemoval = true;
    const first = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': 'k-kept-1' }, payload: {} });
    assert.equal(first.statusCode, 201, first.body);
    // The cart still holds the ordered line: its claim is kept (it lapses), so another tab's checkout is refused.
    const second = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': 'k-kept-2' }, payload: {} });
    assert.equal(second.statusCode, 409, second.body);
    assert.equal(second.json().error.code, 'CART_BUSY');
    const orders = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from orders where customer_id = ${customerId}`);
    assert.equal(Number(orders.rows[0]!.n), 1);
  });
});

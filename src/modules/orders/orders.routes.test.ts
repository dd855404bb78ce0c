import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../../../test/helpers/commerce.ts';
import type { Json } from '../../../test/helpers/http.ts';
import { waitFor } from '../../../test/helpers/queues.ts';
import { OrderNotCancellableError } from './orders.errors.ts';
import { createOrdersRepository } from './orders.repository.ts';
import { MAX_ORDER_LINE_QUANTITY, MAX_ORDER_LINES } from './orders.schemas.ts';

describe('orders API', () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  let aliceId: number;

  async function createProduct(fields: Record<string, unknown> = {}): Promise<Json> {
    const reply = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/products',
      headers: t.admin,
      payload: { sku: `sku-${Math.random().toString(36).slice(2)}`, name: 'Sale item', priceCents: 1999, available: 10, ...fields },
    });
    assert.equal(reply.statusCode, 201, reply.body);
    return reply.json();
  }

  function order(cookie: string, key: string | undefined, payload: unknown) {
    return t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, ...(key === undefined ? {} : { 'idempotency-key': key }) }, payload: payload as object });
  }

  async function stockOf(productId: number): Promise<number> {
    const result = await t.platform.db.primary.execute<{ sum: string }>(sql`select coalesce(sum(available), 0) as sum from product_stock where product_id = ${productId}`);
    return Number(result.rows[0]!.sum);
  }

  before(async () => {
    t = await createTestApp({ STOCK_SHARDS: '4', ORDER_CANCEL_WINDOW_S: '3600', RATE_LIMIT_CHECKOUT_MAX: '1000' });
    const ids = await insertCustomers(t.platform.db.primary, 2);
    aliceId = ids[0]!;
    [alice, bob] = (await mintSessionCookies(t.env, ids)) as [string, string];
  });
  after(() => t.close());

  it('reserves the units and answers the order waiting for payment, with its items, total, currency and payment window', async () => {
    const product = await createProduct({ priceCents: 1250 });
    const reply = await order(alice, 'k-place-1', { items: [{ productId: product.id, quantity: 3 }] });
    assert.equal(reply.statusCode, 201, reply.body);
    const body = reply.json();
    assert.equal(body.status, 'pending_payment');
    assert.equal(body.payment.provider, 'test');
    assert.equal(body.payment.status, 'requires_payment');
    assert.equal(Date.parse(body.payment.expiresAt) - Date.parse(body.createdAt), 600_000, 'PAYMENT_WINDOW_S defaults to 600');
    assert.deepEqual(body.items, [{ productId: product.id, name: 'Sale item', quantity: 3, priceCents: 1250 }]);
    // The order as read back names its products too (the order page listed "product 123").
    const read = await t.app.inject({ method: 'GET', url: `/api/v1/orders/${body.id}`, headers: { cookie: alice } });
    assert.deepEqual(read.json().items, body.items);
    assert.equal(body.totalCents, 3750);
    assert.equal(body.currency, 'USD');
    assert.ok(Date.parse(body.createdAt) > 0);
    assert.equal(await stockOf(product.id), 7);
    const outbox = await t.platform.db.primary.execute<{ data: Json }>(sql`select data from outbox where name = 'expire-order'`);
    assert.ok(outbox.rows.some((row) => row.data.orderId === body.id));
    // The product page follows the sale (live stock), not the cached figure.
    const detail = await t.app.inject({ method: 'GET', url: `/api/v1/products/${product.id}` });
    assert.equal(detail.json().available, 7);
  });

  it('shows each line by the name and SKU its product had when ordered, whatever the catalog calls it later', async () => {
    const product = await createProduct({ name: 'Blue mug', priceCents: 800 });
    const placed = await order(alice, 'k-line-snapshot', { items: [{ productId: product.id, quantity: 2 }] });
    assert.equal(placed.statusCode, 201, placed.body);
    const id = placed.json().id;
    const renamed = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${product.id}`, headers: t.admin, payload: { name: 'Red mug' } });
    assert.equal(renamed.statusCode, 200, renamed.body);
    const bought = [{ productId: product.id, name: 'Blue mug', quantity: 2, priceCents: 800 }];
    const own = await t.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: { cookie: alice } });
    assert.deepEqual(own.json().items, bought, "the buyer's order");
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/orders', headers: { cookie: alice } });
    assert.deepEqual(list.json().items.find((o: Json) => o.id === id).items, bought, "the buyer's order list");
    const admin = await t.app.inject({ method: 'GET', url: `/api/v1/admin/orders/${id}`, headers: t.admin });
    assert.deepEqual(admin.json().items, bought, "the admin's order detail");
    // The confirmation email's lines (a confirmation sent after the rename), SKU included.
    const mail = await createOrdersRepository().loadPlaced(t.platform.db.primary, id);
    assert.deepEqual(mail?.items, [{ productId: product.id, quantity: 2, unitPriceCents: 800, name: 'Blue mug', sku: product.sku }]);
  });

  it('requires a signed-in customer and an Idempotency-Key', async () => {
    const product = await createProduct();
    const anonymous = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': 'k' }, payload: { items: [{ productId: product.id, quantity: 1 }] } });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().error.code, 'NOT_SIGNED_IN');
    const noKey = await order(alice, undefined, { items: [{ productId: product.id, quantity: 1 }] });
    assert.equal(noKey.statusCode, 400);
    assert.equal(noKey.json().error.code, 'IDEMPOTENCY_KEY_REQUIRED');
    assert.equal(await stockOf(product.id), 10);
  });

  it('rejects fields a client must not set (price, status, total) and takes nothing', async () => {
    const product = await createProduct();
    for (const payload of [
      { items: [{ productId: product.id, quantity: 1, priceCents: 1 }] },
      { items: [{ productId: product.id, quantity: 1 }], status: 'cancelled' },
      { items: [{ productId: product.id, quantity: 1 }], totalCents: 1 },
      { items: [{ productId: product.id, quantity: 0 }] },
      { items: [{ productId: product.id, quantity: 1.5 }] },
      { items: [] },
    ]) {
      const reply = await order(alice, `k-bad-${Math.random()}`, payload);
      assert.equal(reply.statusCode, 400, JSON.stringify(payload));
      assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
    }
    assert.equal(await stockOf(product.id), 10);
  });

  it('replays a response recorded before order lines carried their product name (a retry across an upgrade)', async () => {
    const product = await createProduct();
    const payload = { items: [{ productId: product.id, quantity: 1 }] };
    const first = await order(alice, 'k-before-upgrade', payload);
    assert.equal(first.statusCode, 201, first.body);
    // The record as the version before wrote it: the same order, its lines without `name`.
    const redis = t.platform.redis;
    const keys = await redis.keys(`${t.config.redis.prefix}:idem:*`);
    let rewritten = 0;
    for (const key of keys) {
      const record = JSON.parse((await redis.get(key))!);
      if (record.done?.body?.id !== first.json().id) continue;
      for (const item of record.done.body.items) delete item.name;
      await redis.set(key, JSON.stringify(record), 'KEEPTTL');
      rewritten++;
    }
    assert.equal(rewritten, 1);
    const retry = await order(alice, 'k-before-upgrade', payload);
    assert.equal(retry.statusCode, 201, retry.body);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.deepEqual(retry.json().items, [{ productId: product.id, quantity: 1, priceCents: 1999 }]);
  });

  it('replays a retry with the same key, and refuses the key for another request', async () => {
    const product = await createProduct();
    const payload = { items: [{ productId: product.id, quantity: 2 }] };
    const first = await order(alice, 'k-replay', payload);
    assert.equal(first.statusCode, 201);
    const retry = await order(alice, 'k-replay', payload);
    assert.equal(retry.statusCode, 201);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.deepEqual(retry.json(), first.json());
    const reused = await order(alice, 'k-replay', { items: [{ productId: product.id, quantity: 1 }] });
    assert.equal(reused.statusCode, 422);
    assert.equal(reused.json().error.code, 'IDEMPOTENCY_KEY_REUSED');
    // Keys are scoped to the customer: Bob's same key is a different request.
    const bobs = await order(bob, 'k-replay', payload);
    assert.equal(bobs.statusCode, 201);
    assert.notEqual(bobs.json().id, first.json().id);
    assert.equal(await stockOf(product.id), 6);
  });

  it('falls back to the database guard when the idempotency record is gone', async () => {
    const product = await createProduct();
    const payload = { items: [{ productId: product.id, quantity: 1 }] };
    const first = await order(alice, 'k-lost-record', payload);
    assert.equal(first.statusCode, 201);
    const keys = await t.platform.redis.keys(`${t.config.redis.prefix}:idem:*`);
    await t.platform.redis.del(...keys);
    const retry = await order(alice, 'k-lost-record', payload);
    assert.equal(retry.statusCode, 201);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.json().id, first.json().id);
    assert.equal(await stockOf(product.id), 9);
  });

  it('replays an order to its retry when the idempotency record is gone, also when the order used up its buyer\'s cap', async () => {
    // One per customer, as at a drop: the retry of the order that took it is that order, not a refusal by the cap.
    const product = await createProduct({ maxPerCustomer: 1 });
    const payload = { items: [{ productId: product.id, quantity: 1 }] };
    const first = await order(bob, 'k-lost-record-capped', payload);
    assert.equal(first.statusCode, 201, first.body);
    const keys = await t.platform.redis.keys(`${t.config.redis.prefix}:idem:*`);
    await t.platform.redis.del(...keys);
    const retry = await order(bob, 'k-lost-record-capped', payload);
    assert.equal(retry.statusCode, 201, `the retry of a placed order got ${retry.body}`);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.json().id, first.json().id);
    // Another request under the key is still refused as one.
    await t.platform.redis.del(...(await t.platform.redis.keys(`${t.config.redis.prefix}:idem:*`)));
    const other = await order(bob, 'k-lost-record-capped', { items: [{ productId: product.id, quantity: 2 }] });
    assert.equal(other.statusCode, 422, other.body);
    assert.equal(other.json().error.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(await stockOf(product.id), 9);
  });

  it('refuses sold-out, archived and unknown products with their own codes, taking nothing', async () => {
    const product = await createProduct({ available: 2 });
    const tooMany = await order(alice, 'k-oos', { items: [{ productId: product.id, quantity: 3 }] });
    assert.equal(tooMany.statusCode, 409);
    assert.equal(tooMany.json().error.code, 'OUT_OF_STOCK');
    assert.equal(tooMany.json().error.details.available, 2);
    assert.equal(tooMany.json().error.details.requested, 3);

    const archived = await createProduct({ status: 'archived' });
    const other = await createProduct();
    const refused = await order(alice, 'k-archived', { items: [{ productId: other.id, quantity: 1 }, { productId: archived.id, quantity: 1 }] });
    assert.equal(refused.statusCode, 409);
    assert.equal(refused.json().error.code, 'PRODUCT_UNAVAILABLE');
    assert.equal(await stockOf(other.id), 10, 'no stock taken for the other line');

    const unknown = await order(alice, 'k-unknown', { items: [{ productId: 987654321, quantity: 1 }] });
    assert.equal(unknown.statusCode, 422);
    assert.equal(unknown.json().error.code, 'UNKNOWN_PRODUCT');
    const count = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from orders o join order_items i on i.order_id = o.id where i.product_id in (${archived.id}, ${other.id})`);
    assert.equal(Number(count.rows[0]!.n), 0);
  });

  it('keeps a sold-out refusal as the key\'s result, also when it was answered from memory', async () => {
    const product = await createProduct({ available: 1 });
    assert.equal((await order(bob, 'k-last-unit', { items: [{ productId: product.id, quantity: 1 }] })).statusCode, 201);
    const first = await order(alice, 'k-too-late-1', { items: [{ productId: product.id, quantity: 1 }] }); // the gate refuses
    const second = await order(alice, 'k-too-late-2', { items: [{ productId: product.id, quantity: 1 }] }); // remembered refusal
    for (const reply of [first, second]) {
      assert.equal(reply.statusCode, 409);
      assert.equal(reply.json().error.code, 'OUT_OF_STOCK');
      assert.equal(reply.json().error.details.available, 0);
    }
    const retry = await order(alice, 'k-too-late-2', { items: [{ productId: product.id, quantity: 1 }] });
    assert.equal(retry.statusCode, 409);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.deepEqual({ ...retry.json().error, requestId: undefined }, { ...second.json().error, requestId: undefined });
    const reused = await order(alice, 'k-too-late-2', { items: [{ productId: product.id, quantity: 2 }] });
    assert.equal(reused.statusCode, 422);
  });

  it('answers a replayed refusal with the retry\'s request id, in the body as in the X-Request-Id header', async () => {
    const product = await createProduct({ available: 1 });
    const first = await order(alice, 'k-replayed-refusal', { items: [{ productId: product.id, quantity: 2 }] });
    assert.equal(first.statusCode, 409, first.body);
    const retry = await order(alice, 'k-replayed-refusal', { items: [{ productId: product.id, quantity: 2 }] });
    assert.equal(retry.statusCode, 409);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.notEqual(retry.headers['x-request-id'], first.headers['x-request-id']);
    assert.equal(retry.json().error.requestId, retry.headers['x-request-id']);
    const { requestId: _first, ...refusal } = first.json().error;
    const { requestId: _retry, ...replayed } = retry.json().error;
    assert.deepEqual(replayed, refusal, 'the same refusal: code, message and details');
  });

  it('orders the cart and empties it', async () => {
    const a = await createProduct({ priceCents: 100 });
    const b = await createProduct({ priceCents: 250 });
    for (const [p, q] of [
      [a, 2],
      [b, 1],
    ] as const) {
      const put = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${p.id}`, headers: { cookie: alice }, payload: { quantity: q } });
      assert.equal(put.statusCode, 200, put.body);
    }
    const placed = await order(alice, 'k-cart', {});
    assert.equal(placed.statusCode, 201, placed.body);
    assert.equal(placed.json().totalCents, 450);
    const cart = await t.app.inject({ method: 'GET', url: '/api/v1/cart', headers: { cookie: alice } });
    assert.deepEqual(cart.json().items, []);
    const empty = await order(alice, 'k-cart-2', {});
    assert.equal(empty.statusCode, 422);
    assert.equal(empty.json().error.code, 'EMPTY_CART');
  });

  it('keeps a cart line added while the cart was being ordered', async () => {
    const ordered = await createProduct();
    const later = await createProduct();
    const put = (productId: number) => t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${productId}`, headers: { cookie: alice }, payload: { quantity: 1 } });
    assert.equal((await put(ordered.id)).statusCode, 200);
    // The order statement waits for the product's stock rows (held here), as at a sale's peak.
    const blocker = new pg.Client({ connectionString: t.database.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('select 1 from product_stock where product_id = $1 for update', [ordered.id]);
      const placing = order(alice, 'k-cart-added-meanwhile', {});
      await waitFor('the order statement waiting for the stock rows', async () => (await blocker.query("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()")).rows[0].n > 0 || undefined);
      // Another tab adds a product while the order is being placed.
      assert.equal((await put(later.id)).statusCode, 200);
      await blocker.query('commit');
      const placed = await placing;
      assert.equal(placed.statusCode, 201, placed.body);
      assert.deepEqual(placed.json().items.map((item: Json) => item.productId), [ordered.id]);
    } finally {
      await blocker.end();
    }
    const cart = await t.app.inject({ method: 'GET', url: '/api/v1/cart', headers: { cookie: alice } });
    assert.deepEqual(
      cart.json().items.map((item: Json) => [item.productId, item.quantity]),
      [[later.id, 1]],
      'the product added during checkout is still in the cart, the ordered one is gone',
    );
    await t.app.inject({ method: 'DELETE', url: '/api/v1/cart/items', headers: { cookie: alice } });
  });

  it('replays a cart order to its retry when the idempotency record is gone (the cart emptied by the first attempt)', async () => {
    const product = await createProduct();
    const put = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${product.id}`, headers: { cookie: alice }, payload: { quantity: 2 } });
    assert.equal(put.statusCode, 200);
    const first = await order(alice, 'k-cart-lost-record', {});
    assert.equal(first.statusCode, 201, first.body);
    const keys = await t.platform.redis.keys(`${t.config.redis.prefix}:idem:*`);
    await t.platform.redis.del(...keys);
    const retry = await order(alice, 'k-cart-lost-record', {});
    assert.equal(retry.statusCode, 201, `the retry of a placed cart order got ${retry.body}`);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.json().id, first.json().id);
    assert.equal(await stockOf(product.id), 8);
  });

  it('refuses to order a cart of more lines than an order may have (the same limit as `items`), taking nothing and keeping the cart', async () => {
    const products: Json[] = [];
    for (let i = 0; i <= MAX_ORDER_LINES; i++) products.push(await createProduct({ priceCents: 100, available: 3 }));
    for (const product of products) {
      const put = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${product.id}`, headers: { cookie: bob }, payload: { quantity: 1 } });
      assert.equal(put.statusCode, 200, put.body);
    }
    const direct = await order(bob, 'k-lines-direct', { items: products.map((product) => ({ productId: product.id, quantity: 1 })) });
    assert.equal(direct.statusCode, 400, direct.body);
    assert.equal(direct.json().error.code, 'VALIDATION_FAILED');
    const fromCart = await order(bob, 'k-lines-cart', {});
    assert.equal(fromCart.statusCode, 422, fromCart.body);
    assert.equal(fromCart.json().error.code, 'TOO_MANY_ORDER_LINES');
    assert.deepEqual(fromCart.json().error.details, { maxLines: MAX_ORDER_LINES, lines: MAX_ORDER_LINES + 1 });
    for (const product of products) assert.equal(await stockOf(product.id), 3);
    const held = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from order_items where product_id = ${products[0]!.id}`);
    assert.equal(Number(held.rows[0]!.n), 0);
    const cart = await t.app.inject({ method: 'GET', url: '/api/v1/cart', headers: { cookie: bob } });
    assert.equal(cart.json().items.length, MAX_ORDER_LINES + 1, 'the cart is kept for the buyer to trim');
    // One line fewer, and the cart is an order.
    await t.app.inject({ method: 'DELETE', url: `/api/v1/cart/items/${products[0]!.id}`, headers: { cookie: bob } });
    const fits = await order(bob, 'k-lines-cart-2', {});
    assert.equal(fits.statusCode, 201, fits.body);
    assert.equal(fits.json().items.length, MAX_ORDER_LINES);
  });

  it("refuses a product repeated in `items` past one line's most units, taking nothing", async () => {
    const product = await createProduct({ priceCents: 100, available: 5000 });
    const lines = Array.from({ length: 3 }, () => ({ productId: product.id, quantity: MAX_ORDER_LINE_QUANTITY }));
    const reply = await order(bob, 'k-repeated-lines', { items: lines });
    assert.equal(reply.statusCode, 422, `3 lines of ${MAX_ORDER_LINE_QUANTITY} units of one product: ${reply.body}`);
    assert.equal(reply.json().error.code, 'LINE_QUANTITY_TOO_LARGE');
    assert.deepEqual(reply.json().error.details, { productId: product.id, quantity: 3 * MAX_ORDER_LINE_QUANTITY, maxQuantity: MAX_ORDER_LINE_QUANTITY });
    assert.equal(await stockOf(product.id), 5000);
    const fits = await order(bob, 'k-repeated-lines-2', { items: [{ productId: product.id, quantity: 600 }, { productId: product.id, quantity: 400 }] });
    assert.equal(fits.statusCode, 201, fits.body);
    assert.deepEqual(fits.json().items.map((item: Json) => item.quantity), [MAX_ORDER_LINE_QUANTITY]);
    // The same answer when this instance knows the product's figure (its page was just viewed, as during a sale):
    // the order's shape is refused before its stock, not as sold out from memory (and kept under the key for 24 h).
    const scarce = await createProduct({ priceCents: 100, available: 5 });
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/products/${scarce.id}` })).json().available, 5);
    const known = await order(bob, 'k-repeated-lines-known', { items: Array.from({ length: 2 }, () => ({ productId: scarce.id, quantity: 600 })) });
    assert.equal(`${known.statusCode} ${known.json().error.code}`, '422 LINE_QUANTITY_TOO_LARGE', known.body);
  });

  it('refuses an order whose prices are not the ones the buyer was shown (PRICE_CHANGED with the current prices), taking and writing nothing', async () => {
    const product = await createProduct({ priceCents: 1000 });
    const repriced = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${product.id}`, headers: t.admin, payload: { priceCents: 1200 } });
    assert.equal(repriced.statusCode, 200, repriced.body);
    const shown = { items: [{ productId: product.id, quantity: 2 }], expectedTotalCents: 2000, expectedCurrency: 'USD' };
    const refused = await order(alice, 'k-price-1', shown);
    assert.equal(refused.statusCode, 409, refused.body);
    const error = refused.json().error;
    assert.equal(error.code, 'PRICE_CHANGED');
    assert.deepEqual(error.details, {
      expectedTotalCents: 2000,
      expectedCurrency: 'USD',
      totalCents: 2400,
      currency: 'USD',
      items: [{ productId: product.id, quantity: 2, priceCents: 1200 }],
    });
    assert.equal(await stockOf(product.id), 10, 'no units taken');
    const written = await t.platform.db.primary.execute(sql`select 1 from order_items where product_id = ${product.id}`);
    assert.equal(written.rows.length, 0, 'no order written');
    const counted = await t.platform.db.primary.execute(sql`select 1 from buyer_purchases where product_id = ${product.id}`);
    assert.equal(counted.rows.length, 0, 'nothing counted against the cap');
    // The refusal is the key's answer (as every 4xx): the same request replays it, the next attempt takes a new key.
    const retried = await order(alice, 'k-price-1', shown);
    assert.equal(retried.statusCode, 409);
    assert.equal(retried.headers['idempotent-replayed'], 'true');
    const again = await order(alice, 'k-price-1', { ...shown, expectedTotalCents: 2400 });
    assert.equal(again.statusCode, 422, again.body);
    assert.equal(again.json().error.code, 'IDEMPOTENCY_KEY_REUSED');
    // The same digits in another currency are another price.
    const otherCurrency = await order(alice, 'k-price-2', { ...shown, expectedTotalCents: 2400, expectedCurrency: 'EUR' });
    assert.equal(otherCurrency.statusCode, 409, otherCurrency.body);
    assert.equal(otherCurrency.json().error.code, 'PRICE_CHANGED');
    const placed = await order(alice, 'k-price-3', { ...shown, expectedTotalCents: 2400 });
    assert.equal(placed.statusCode, 201, placed.body);
    assert.equal(placed.json().totalCents, 2400);
    assert.equal(await stockOf(product.id), 8);
  });

  it('checks the total shown of a cart order and of a guest checkout, keeping the cart and writing no guest record when it differs', async () => {
    const product = await createProduct({ priceCents: 500 });
    const put = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${product.id}`, headers: { cookie: bob }, payload: { quantity: 3 } });
    assert.equal(put.statusCode, 200, put.body);
    const repriced = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${product.id}`, headers: t.admin, payload: { priceCents: 450 } });
    assert.equal(repriced.statusCode, 200, repriced.body);
    const refused = await order(bob, 'k-price-cart', { expectedTotalCents: 1500, expectedCurrency: 'USD' });
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(refused.json().error.code, 'PRICE_CHANGED');
    assert.equal(refused.json().error.details.totalCents, 1350);
    const cart = await t.app.inject({ method: 'GET', url: '/api/v1/cart', headers: { cookie: bob } });
    assert.deepEqual(cart.json().items.map((item: Json) => [item.productId, item.quantity]), [[product.id, 3]], 'the cart is kept');
    assert.equal(await stockOf(product.id), 10);

    const email = `price-guest-${Math.random().toString(36).slice(2)}@example.com`;
    const guest = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { 'idempotency-key': 'k-price-guest' },
      payload: { email, items: [{ productId: product.id, quantity: 1 }], expectedTotalCents: 500, expectedCurrency: 'USD' },
    });
    assert.equal(guest.statusCode, 409, guest.body);
    assert.equal(guest.json().error.code, 'PRICE_CHANGED');
    const record = await t.platform.db.primary.execute(sql`select 1 from customers where email = ${email}`);
    assert.equal(record.rows.length, 0, 'no guest record written');

    const placed = await order(bob, 'k-price-cart-2', { expectedTotalCents: 1350, expectedCurrency: 'USD' });
    assert.equal(placed.statusCode, 201, placed.body);
    assert.equal(placed.json().totalCents, 1350);
  });

  it('refuses an expected total without its currency, and a currency without the total', async () => {
    const product = await createProduct();
    for (const [key, extra] of [
      ['k-price-half-1', { expectedTotalCents: 1999 }],
      ['k-price-half-2', { expectedCurrency: 'USD' }],
    ] as const) {
      const reply = await order(alice, key, { items: [{ productId: product.id, quantity: 1 }], ...extra });
      assert.equal(reply.statusCode, 400, reply.body);
      assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
    }
    assert.equal(await stockOf(product.id), 10);
  });

  it('enforces the per-customer limit of a product and of a live sale event', async () => {
    const limited = await createProduct({ maxPerCustomer: 2 });
    assert.equal((await order(alice, 'k-lim-1', { items: [{ productId: limited.id, quantity: 2 }] })).statusCode, 201);
    const over = await order(alice, 'k-lim-2', { items: [{ productId: limited.id, quantity: 1 }] });
    assert.equal(over.statusCode, 409);
    assert.equal(over.json().error.code, 'PURCHASE_LIMIT_EXCEEDED');
    assert.equal(over.json().error.details.limit, 2);
    assert.equal((await order(bob, 'k-lim-3', { items: [{ productId: limited.id, quantity: 1 }] })).statusCode, 201);

    const saleItem = await createProduct();
    const now = Date.now();
    const event = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/sale-events',
      headers: t.admin,
      payload: { name: 'Flash', startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), maxPerCustomer: 1, productIds: [saleItem.id] },
    });
    assert.equal(event.statusCode, 201, event.body);
    const two = await order(alice, 'k-sale-1', { items: [{ productId: saleItem.id, quantity: 2 }] });
    assert.equal(two.statusCode, 409);
    assert.equal(two.json().error.code, 'PURCHASE_LIMIT_EXCEEDED');
    assert.equal((await order(alice, 'k-sale-2', { items: [{ productId: saleItem.id, quantity: 1 }] })).statusCode, 201);
  });

  it('shows customers only their own orders, newest first, and hides others behind 404', async () => {
    const product = await createProduct();
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await order(bob, `k-list-${i}`, { items: [{ productId: product.id, quantity: 1 }] })).json().id);
    const page1 = await t.app.inject({ method: 'GET', url: '/api/v1/orders?limit=2', headers: { cookie: bob } });
    assert.equal(page1.statusCode, 200);
    assert.deepEqual(
      page1.json().items.map((o: Json) => o.id),
      [ids[2], ids[1]],
    );
    const page2 = await t.app.inject({ method: 'GET', url: `/api/v1/orders?limit=2&cursor=${page1.json().nextCursor}`, headers: { cookie: bob } });
    assert.equal(page2.json().items[0].id, ids[0]);
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/orders/${ids[0]}`, headers: { cookie: bob } })).statusCode, 200);
    const stolen = await t.app.inject({ method: 'GET', url: `/api/v1/orders/${ids[0]}`, headers: { cookie: alice } });
    assert.equal(stolen.statusCode, 404);
    assert.equal(stolen.json().error.code, 'ORDER_NOT_FOUND');
    const cancelOther = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${ids[0]}/cancel`, headers: { cookie: alice } });
    assert.equal(cancelOther.statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/orders/${ids[0]}`, headers: { cookie: bob } })).json().status, 'pending_payment');
    const badCursor = await t.app.inject({ method: 'GET', url: '/api/v1/orders?cursor=nope', headers: { cookie: bob } });
    assert.equal(badCursor.statusCode, 400);
  });

  it('returns the stock of a cancelled order exactly once, however often cancel is called', async () => {
    const product = await createProduct({ available: 5 });
    const placed = (await order(alice, 'k-cancel', { items: [{ productId: product.id, quantity: 3 }] })).json();
    assert.equal(await stockOf(product.id), 2);
    const replies = await Promise.all(Array.from({ length: 5 }, () => t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.id}/cancel`, headers: { cookie: alice } })));
    for (const reply of replies) {
      assert.equal(reply.statusCode, 200);
      assert.equal(reply.json().status, 'cancelled');
      assert.equal(reply.json().payment.status, 'cancelled', 'a cancelled order asks for no payment');
    }
    assert.equal(await stockOf(product.id), 5);
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${placed.id}/cancel`, headers: t.admin });
    assert.equal(again.statusCode, 200);
    assert.equal(await stockOf(product.id), 5);
    // The gate follows: all five units can be bought again.
    const rebuy = await order(bob, 'k-rebuy', { items: [{ productId: product.id, quantity: 5 }] });
    assert.equal(rebuy.statusCode, 201, rebuy.body);
    const purchases = await t.platform.db.primary.execute<{ quantity: number }>(sql`select b.quantity from buyer_purchases b join customers c on b.buyer_email = lower(c.email) where c.id = ${aliceId} and b.product_id = ${product.id}`);
    assert.equal(purchases.rows[0]!.quantity, 0);
  });

  it('tells the buyer once when the shop cancels their unpaid order, and not when they cancel it themselves', async () => {
    const product = await createProduct({ available: 5 });
    const byShop = (await order(alice, 'k-shop-cancel', { items: [{ productId: product.id, quantity: 2 }] })).json();
    const replies = await Promise.all(Array.from({ length: 3 }, () => t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${byShop.id}/cancel`, headers: t.admin })));
    for (const reply of replies) assert.equal(reply.statusCode, 200, reply.body);
    const byBuyer = (await order(alice, 'k-own-cancel', { items: [{ productId: product.id, quantity: 1 }] })).json();
    assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/orders/${byBuyer.id}/cancel`, headers: { cookie: alice } })).statusCode, 200);
    const told = async (orderId: number) =>
      (await t.platform.db.primary.execute<{ data: Record<string, unknown> }>(sql`select data from outbox where name = 'send-reservation-expired' and (data->>'orderId')::bigint = ${orderId}`)).rows.map((row) => row.data);
    const email = (await t.platform.db.primary.execute<{ email: string }>(sql`select email from customers where id = ${aliceId}`)).rows[0]!.email;
    assert.deepEqual(
      (await told(byShop.id)).map((data) => ({ email: data.email, reason: data.reason, items: data.items })),
      [{ email, reason: 'cancelled', items: [{ name: product.name, quantity: 2 }] }],
      'the buyer who was still going to pay is told once that the shop cancelled the reservation',
    );
    assert.deepEqual(await told(byBuyer.id), [], 'a buyer who cancelled is not told what they did');
  });

  it('an order cancelled after its card was declined shows its payment cancelled, not failed (nothing was paid; no payment is wanted)', async () => {
    const product = await createProduct({ available: 5 });
    const placed = (await order(alice, 'k-declined-cancel', { items: [{ productId: product.id, quantity: 1 }] })).json();
    const declined = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.id}/pay`, headers: { cookie: alice }, payload: { token: 'tok_declined' } });
    assert.equal(declined.statusCode, 402, declined.body);
    const cancelled = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.id}/cancel`, headers: { cookie: alice } });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(cancelled.json().payment.status, 'cancelled', 'a cancelled order asks for no payment');
    const shown = await t.app.inject({ method: 'GET', url: `/api/v1/orders/${placed.id}`, headers: { cookie: alice } });
    assert.equal(shown.json().payment.status, 'cancelled');
  });
});

describe('admin order list', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '1000' });
  });
  after(() => t.close());
  const list = (query: string) => t.app.inject({ method: 'GET', url: `/api/v1/admin/orders?${query}`, headers: t.admin });

  it('refuses a period that ends before it starts, and a sale event that does not exist, with a 422 rather than an empty list', async () => {
    const [id] = await insertCustomers(t.platform.db.primary, 1);
    const [cookie] = await mintSessionCookies(t.env, [id!]);
    const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'adm-list-1', name: 'L', priceCents: 100, available: 3 } });
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: cookie!, 'idempotency-key': 'l-1' }, payload: { items: [{ productId: product.json().id, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);

    // The operator swapped the dates: the orders of that day exist, the list must not say there are none.
    const swapped = await list('from=2030-01-02T00:00:00Z&to=2020-01-01T00:00:00Z');
    assert.equal(swapped.statusCode, 422, swapped.body);
    assert.equal(swapped.json().error.code, 'INVALID_DATE_RANGE');
    assert.deepEqual(swapped.json().error.details, { from: '2030-01-02T00:00:00.000Z', to: '2020-01-01T00:00:00.000Z' });
    const empty = await list('from=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00%2B01:00');
    assert.equal(empty.statusCode, 422, 'the same instant in two offsets: an empty period');
    assert.equal(empty.json().error.code, 'INVALID_DATE_RANGE');

    const unknown = await list('saleEventId=987654');
    assert.equal(unknown.statusCode, 422, unknown.body);
    assert.equal(unknown.json().error.code, 'UNKNOWN_SALE_EVENT');
    assert.deepEqual(unknown.json().error.details, { saleEventId: 987654 });

    // A sensible period still lists the order.
    const period = await list(`from=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    assert.equal(period.statusCode, 200, period.body);
    assert.deepEqual(
      period.json().items.map((order: Json) => order.id),
      [placed.json().id],
    );
  });

  // An operator typing the status they think of (`shipped`, `PAID`) during a sale must be told the statuses there
  // are, in one issue: Ajv's own answer was one "must be equal to constant" per status and a "must match a schema
  // in anyOf", naming none of them.
  it('refuses an unknown status filter with one issue naming the statuses there are', async () => {
    for (const status of ['shipped', 'PAID', '']) {
      const reply = await list(`status=${status}`);
      assert.equal(reply.statusCode, 400, reply.body);
      assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
      assert.deepEqual(reply.json().error.details.issues, [
        { path: '/status', message: 'must be one of: pending_payment, paid, fulfilled, expired, cancelled, refunded' },
      ]);
    }
  });

  // A filter UI sending several statuses (`status=paid&status=fulfilled`) gave a "must be string" per status there is
  // before the one naming them.
  it('refuses a repeated status filter with the same one issue naming the statuses there are', async () => {
    const reply = await list('status=paid&status=fulfilled');
    assert.equal(reply.statusCode, 400, reply.body);
    assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
    assert.deepEqual(reply.json().error.details.issues, [
      { path: '/status', message: 'must be one of: pending_payment, paid, fulfilled, expired, cancelled, refunded' },
    ]);
  });

  async function customerWithEmail(email: string): Promise<string> {
    const result = await t.platform.db.primary.execute<{ id: string }>(sql`insert into customers (email, name, password_hash) values (${email}, 'Phone caller', '') returning id`);
    const [cookie] = await mintSessionCookies(t.env, [Number(result.rows[0]!.id)]);
    return cookie!;
  }
  async function productFor(sku: string, priceCents: number): Promise<number> {
    const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku, name: `Item ${sku}`, priceCents, available: 50 } });
    assert.equal(product.statusCode, 201, product.body);
    return product.json().id;
  }
  async function place(headers: Record<string, string>, payload: object): Promise<Json> {
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': `adm-${Math.random()}`, ...headers }, payload });
    assert.equal(placed.statusCode, 201, placed.body);
    return placed.json();
  }
  const detail = (id: number | string, headers: Record<string, string> = t.admin) => t.app.inject({ method: 'GET', url: `/api/v1/admin/orders/${id}`, headers });

  it('opens one order by id: lines, status, every timestamp, the buyer and the payment, without the client secret', async () => {
    const cookie = await customerWithEmail('Caller.One@Example.com');
    const productId = await productFor('adm-detail-1', 1250);
    const placed = await place({ cookie }, { items: [{ productId, quantity: 2 }] });

    const pending = await detail(placed.id);
    assert.equal(pending.statusCode, 200, pending.body);
    assert.equal(pending.json().status, 'pending_payment');
    assert.deepEqual(pending.json().items, [{ productId, name: 'Item adm-detail-1', quantity: 2, priceCents: 1250 }]);
    assert.deepEqual(pending.json().buyer, { email: 'Caller.One@Example.com', guest: false });
    assert.equal(pending.json().payment, null, 'no payment attempted yet');

    const paid = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.id}/pay`, headers: { cookie, 'idempotency-key': `pay-${placed.id}` }, payload: { token: 'tok_ok' } });
    assert.equal(paid.statusCode, 200, paid.body);
    const fulfilled = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${placed.id}/fulfill`, headers: t.admin });
    assert.equal(fulfilled.statusCode, 200, fulfilled.body);

    const reply = await detail(placed.id);
    assert.equal(reply.statusCode, 200, reply.body);
    const body = reply.json();
    assert.equal(body.id, placed.id);
    assert.equal(body.status, 'fulfilled');
    assert.equal(body.totalCents, 2500);
    assert.equal(body.currency, 'USD');
    assert.equal(body.createdAt, placed.createdAt);
    assert.ok(Date.parse(body.paidAt) >= Date.parse(body.createdAt), body.paidAt);
    assert.ok(Date.parse(body.fulfilledAt) >= Date.parse(body.paidAt), body.fulfilledAt);
    for (const field of ['cancelledAt', 'expiredAt', 'refundedAt', 'refundRequestedAt']) assert.equal(body[field], null, field);
    assert.equal(body.payment.provider, 'test');
    assert.equal(body.payment.status, 'captured');
    assert.equal(body.payment.amountCents, 2500);
    assert.equal(body.payment.currency, 'USD');
    assert.match(body.payment.intentId, /^tpi_/);
    assert.equal(body.payment.clientSecret, undefined);
    assert.doesNotMatch(reply.body, /secret/i);

    // A guest order names the guest's email.
    const guest = await place({}, { email: 'Guest.Caller@Example.com', items: [{ productId, quantity: 1 }] });
    const guestDetail = await detail(guest.id);
    assert.equal(guestDetail.statusCode, 200, guestDetail.body);
    assert.deepEqual(guestDetail.json().buyer, { email: 'guest.caller@example.com', guest: true });
  });

  it('answers 404 ORDER_NOT_FOUND for an unknown id, 400 for a malformed one, 401 without the admin token', async () => {
    const unknown = await detail(987654321);
    assert.equal(unknown.statusCode, 404, unknown.body);
    assert.equal(unknown.json().error.code, 'ORDER_NOT_FOUND');
    for (const id of ['abc', '0', '-1', '1.5', '99999999999999999999']) {
      const malformed = await detail(id);
      assert.equal(malformed.statusCode, 400, `${id}: ${malformed.body}`);
    }
    const anonymous = await detail(1, {});
    assert.equal(anonymous.statusCode, 401, anonymous.body);
  });

  it('lists under a sale event the orders counted in it when placed, whatever products the event lists later', async () => {
    const kept = await productFor('adm-sale-kept', 100);
    const added = await productFor('adm-sale-added', 100);
    const cookie = await customerWithEmail('sale.filter@example.com');
    const now = Date.now();
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/sale-events',
      headers: t.admin,
      payload: { name: 'Filter sale', startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), productIds: [kept] },
    });
    assert.equal(created.statusCode, 201, created.body);
    const event = created.json().id;

    const beforeAdded = await place({ cookie }, { items: [{ productId: added, quantity: 1 }] });
    const counted = await place({ cookie }, { items: [{ productId: kept, quantity: 1 }] });
    const countedCancelled = await place({ cookie }, { items: [{ productId: kept, quantity: 1 }] });
    assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${countedCancelled.id}/cancel`, headers: t.admin })).statusCode, 200);
    // Mid-sale the operator swaps the event's products: `kept` leaves it, `added` joins it.
    const edited = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/sale-events/${event}`, headers: t.admin, payload: { productIds: [added] } });
    assert.equal(edited.statusCode, 200, edited.body);
    const afterAdded = await place({ cookie }, { items: [{ productId: added, quantity: 1 }] });

    const filtered = await list(`saleEventId=${event}`);
    assert.equal(filtered.statusCode, 200, filtered.body);
    assert.deepEqual(
      filtered.json().items.map((o: Json) => o.id),
      [afterAdded.id, countedCancelled.id, counted.id],
      'the orders counted in the event (a cancelled one too), not the one placed before its product joined it',
    );
    const page = await list(`saleEventId=${event}&limit=2&status=cancelled`);
    assert.deepEqual(page.json().items.map((o: Json) => o.id), [countedCancelled.id]);
    const ofAdded = await list(`saleEventId=${event}&from=${encodeURIComponent(new Date(now - 60_000).toISOString())}`);
    assert.ok(!ofAdded.json().items.some((o: Json) => o.id === beforeAdded.id), 'placed in the window, before its product joined the event');
  });

  it("filters by the buyer's email, any case, accounts and guests alike, with the other filters and the cursor", async () => {
    const productId = await productFor('adm-email-1', 300);
    const cookie = await customerWithEmail('Phone.Buyer@Example.com');
    const other = await customerWithEmail('someone.else@example.com');
    const a1 = await place({ cookie }, { items: [{ productId, quantity: 1 }] });
    await place({ cookie: other }, { items: [{ productId, quantity: 1 }] });
    const a2 = await place({ cookie }, { items: [{ productId, quantity: 1 }] });
    const g1 = await place({}, { email: 'Phone.Buyer@Example.com', items: [{ productId, quantity: 1 }] });
    await place({}, { email: 'phone.buyer+tag@example.com', items: [{ productId, quantity: 1 }] });
    const cancelled = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${a1.id}/cancel`, headers: t.admin });
    assert.equal(cancelled.statusCode, 200, cancelled.body);

    const ids = (reply: { json(): Json }) => reply.json().items.map((o: Json) => o.id);
    const all = await list('email=PHONE.BUYER%40example.COM');
    assert.equal(all.statusCode, 200, all.body);
    assert.deepEqual(ids(all), [g1.id, a2.id, a1.id], 'the account and the guest with that email, newest first; not another address');

    const pending = await list('email=phone.buyer%40example.com&status=pending_payment');
    assert.deepEqual(ids(pending), [g1.id, a2.id]);
    const period = await list(`email=phone.buyer%40example.com&from=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`);
    assert.deepEqual(ids(period), [g1.id, a2.id, a1.id]);

    const first = await list('email=phone.buyer%40example.com&limit=2');
    assert.deepEqual(ids(first), [g1.id, a2.id]);
    assert.equal(typeof first.json().nextCursor, 'string');
    const second = await list(`email=phone.buyer%40example.com&limit=2&cursor=${encodeURIComponent(first.json().nextCursor)}`);
    assert.deepEqual(ids(second), [a1.id]);
    assert.equal(second.json().nextCursor, null);
    const forged = await list(`email=phone.buyer%40example.com&cursor=${Buffer.from('{"before":0}').toString('base64url')}`);
    assert.deepEqual([forged.statusCode, forged.json().error.code, forged.json().error.message], [400, 'INVALID_CURSOR', 'cursor is not one this API returned']);

    const nobody = await list('email=nobody%40example.com');
    assert.equal(nobody.statusCode, 200);
    assert.deepEqual(ids(nobody), []);
    for (const bad of ['not-an-email', '', `${'a'.repeat(250)}%40example.com`]) {
      const refused = await list(`email=${bad}`);
      assert.equal(refused.statusCode, 400, `${bad}: ${refused.body}`);
      assert.equal(refused.json().error.code, 'VALIDATION_FAILED', refused.body);
    }
  });
});

describe('a product pulled from sale while buyers keep ordering it', () => {
  it('refuses it PRODUCT_UNAVAILABLE from memory after PostgreSQL said so once, and sells it again at once when put back', async () => {
    const t = await createTestApp({ STOCK_VIEW_REFRESH_MS: '60000', RATE_LIMIT_CHECKOUT_MAX: '100000' });
    try {
      const [cookie] = await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 1));
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'pulled-1', name: 'P', priceCents: 100, available: 50 } });
      const productId = created.json().id as number;
      const buy = (key: string) => t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: cookie!, 'idempotency-key': key }, payload: { items: [{ productId, quantity: 1 }] } });
      assert.equal((await buy('p-0')).statusCode, 201);
      // A pricing mistake at the peak: the operator archives the product; buyers and bots keep pressing.
      assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/admin/products/${productId}/archive`, headers: t.admin })).statusCode, 200);
      const first = await buy('p-1');
      assert.equal(first.statusCode, 409, first.body);
      assert.deepEqual(first.json().error.details, { productId, status: 'archived' });
      // A backend adds its transactions to pg_stat_database at most once a second (PGSTAT_MIN_INTERVAL), so a count
      // read after a fixed wait could miss some. Every connection of the app's pool is told to report at the end of
      // its next transaction (pg_stat_force_next_flush, which reads pg_class so that it always has something to
      // report), all at once, before the count is read: the count is then exact, whatever the time gone by.
      const pool = t.platform.db.pools.primary;
      const flushed = async () => {
        const clients = await Promise.all(Array.from({ length: Math.max(pool.totalCount, 1) }, () => pool.connect()));
        try {
          // No other session of this database did work that could be left unreported.
          const pids = await Promise.all(clients.map(async (client) => (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid));
          const others = await clients[0]!.query<{ pid: number }>(
            "select pid from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and pid <> all($1::int[])",
            [pids],
          );
          assert.deepEqual(others.rows, [], 'every session of the database reports its transactions');
          for (const client of clients) await client.query('select pg_stat_force_next_flush() from pg_class limit 1');
          // The transactions of these reads, counted along: one a connection, and one more.
          return clients.length * 2 + 1;
        } finally {
          for (const client of clients) client.release();
        }
      };
      const read = async () => {
        const rows = await t.platform.db.primary.execute<{ n: string }>(sql`select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`);
        return Number(rows.rows[0]!.n);
      };
      await flushed();
      const before = await read();
      for (let i = 0; i < 60; i++) {
        const reply = await buy(`p-storm-${i}`);
        assert.equal(reply.statusCode, 409, reply.body);
        assert.equal(reply.json().error.code, 'PRODUCT_UNAVAILABLE');
      }
      const reads = await flushed();
      // Not the storm's: the read of `before` and the reads and reports just asked for.
      const spent = (await read()) - before - 1 - reads;
      assert.ok(spent < 20, `60 refused attempts on a pulled product cost ${spent} PostgreSQL transactions`);
      // Fixed and put back on sale: the next order goes through, without waiting for the memory to lapse.
      assert.equal((await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${productId}`, headers: t.admin, payload: { status: 'active', priceCents: 90 } })).statusCode, 200);
      const again = await buy('p-back');
      assert.equal(again.statusCode, 201, again.body);
      assert.equal(again.json().totalCents, 90);
    } finally {
      await t.close();
    }
  });
});

describe('units that come back on the instance that refused them', () => {
  it('sells units a cancellation or a refund gave back at once, although this instance remembered the product short of them', async () => {
    // A long memory: without the fix every order below would be refused from it ("only 1 left").
    const t = await createTestApp({ STOCK_VIEW_REFRESH_MS: '60000', RATE_LIMIT_CHECKOUT_MAX: '100000' });
    try {
      const [cookie] = await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 1));
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'back-1', name: 'B', priceCents: 100, available: 3 } });
      const productId = created.json().id as number;
      const buy = (key: string, quantity: number) =>
        t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: cookie!, 'idempotency-key': key }, payload: { items: [{ productId, quantity }] } });
      const refuseAllButOne = async (key: string) => {
        const refused = await buy(key, 19);
        assert.equal(refused.statusCode, 409, refused.body);
        assert.deepEqual(refused.json().error.details.shortages, [{ productId, requested: 19, available: 1 }]);
      };

      const first = await buy('back-a', 2);
      assert.equal(first.statusCode, 201, first.body);
      await refuseAllButOne('back-a-big');
      const cancelled = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${first.json().id}/cancel`, headers: { cookie: cookie! } });
      assert.equal(cancelled.statusCode, 200, cancelled.body);
      const afterCancel = await buy('back-b', 2);
      assert.equal(afterCancel.statusCode, 201, afterCancel.body);

      await refuseAllButOne('back-b-big');
      const paid = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${afterCancel.json().id}/pay`, headers: { cookie: cookie!, 'idempotency-key': 'back-b-pay' }, payload: { token: 'tok_ok' } });
      assert.equal(paid.statusCode, 200, paid.body);
      const refunded = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${afterCancel.json().id}/refund`, headers: t.admin });
      assert.equal(refunded.statusCode, 200, refunded.body);
      const afterRefund = await buy('back-c', 2);
      assert.equal(afterRefund.statusCode, 201, afterRefund.body);

      await refuseAllButOne('back-c-big');
      const adjusted = await t.app.inject({ method: 'POST', url: `/api/v1/admin/products/${productId}/stock/adjustments`, headers: { ...t.admin, 'idempotency-key': 'back-adjust' }, payload: { delta: 1 } });
      assert.equal(adjusted.statusCode, 200, adjusted.body);
      const afterAdjust = await buy('back-d', 2);
      assert.equal(afterAdjust.statusCode, 201, afterAdjust.body);
    } finally {
      await t.close();
    }
  });
});

describe('order cancellation window', () => {
  it('lets the customer cancel only within the window, and the admin always', async () => {
    const t = await createTestApp({ ORDER_CANCEL_WINDOW_S: '0' });
    try {
      const [id] = await insertCustomers(t.platform.db.primary, 1);
      const [cookie] = await mintSessionCookies(t.env, [id!]);
      const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'win-1', name: 'W', priceCents: 100, available: 3 } });
      const placed = await t.app.inject({
        method: 'POST',
        url: '/api/v1/orders',
        headers: { cookie: cookie!, 'idempotency-key': 'w' },
        payload: { items: [{ productId: product.json().id, quantity: 1 }] },
      });
      const late = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${placed.json().id}/cancel`, headers: { cookie: cookie! } });
      assert.equal(late.statusCode, 409);
      assert.equal(late.json().error.code, 'CANCEL_WINDOW_CLOSED');
      const admin = await t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${placed.json().id}/cancel`, headers: t.admin });
      assert.equal(admin.statusCode, 200);
      assert.equal(admin.json().status, 'cancelled');
    } finally {
      await t.close();
    }
  });

  // 409 ORDER_NOT_CANCELLABLE says why: "a paid order is refunded instead" fits a paid order only; an expired, refunded
  // or fulfilled order gets a message about its own status (a cancelled one is not refused). The details stay.
  it('says in ORDER_NOT_CANCELLABLE why the order cannot be cancelled, speaking of a refund only for a paid order', () => {
    assert.match(new OrderNotCancellableError(7, 'paid').message, /refund/);
    for (const status of ['expired', 'refunded', 'fulfilled'] as const) {
      const error = new OrderNotCancellableError(7, status);
      assert.doesNotMatch(error.message, /a paid order is refunded instead/, `${status}: ${error.message}`);
      assert.match(error.message, new RegExp(status), `${status}: ${error.message}`);
      assert.deepEqual(error.details, { orderId: 7, id: 7, status });
    }
  });
});

describe('stock gate after a refusal by PostgreSQL', () => {
  it('puts a too generous gate right at the first order PostgreSQL refuses for want of stock, so shoppers and the next buyers see the product sold out', async () => {
    const t = await createTestApp({ STOCK_VIEW_REFRESH_MS: '0', RATE_LIMIT_CHECKOUT_MAX: '1000' });
    try {
      const ids = await insertCustomers(t.platform.db.primary, 2);
      const [alice, bob] = (await mintSessionCookies(t.env, ids)) as [string, string];
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'generous-1', name: 'G', priceCents: 100, available: 3 } });
      const productId = created.json().id as number;
      const shown = async () => (await t.app.inject({ method: 'GET', url: `/api/v1/products/${productId}` })).json().available;
      assert.equal(await shown(), 3, 'the gate is built from PostgreSQL');
      // The gate errs generous (as after a Redis failover, rebuilt while orders were still in their statement):
      // PostgreSQL has sold the 3 units the gate still offers.
      await t.platform.db.primary.execute(sql`update product_stock set available = 0 where product_id = ${productId}`);
      const refused = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: alice, 'idempotency-key': 'g-1' }, payload: { items: [{ productId, quantity: 1 }] } });
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal(refused.json().error.code, 'OUT_OF_STOCK');
      assert.equal(await shown(), 0, 'after PostgreSQL refused the units the gate let through, the product shows sold out');
      const gate = await t.platform.redis.get(`{${t.config.redis.prefix}}:stock:${productId}:a`);
      assert.equal(gate, '0', 'the gate holds what PostgreSQL holds, so the next buyers are refused without PostgreSQL');
      const next = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: bob, 'idempotency-key': 'g-2' }, payload: { items: [{ productId, quantity: 1 }] } });
      assert.equal(next.json().error.code, 'OUT_OF_STOCK');
    } finally {
      await t.close();
    }
  });
});

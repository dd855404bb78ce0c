import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { insertCustomers, mintSessionCookies, sessionCookieOf } from '../../../test/helpers/commerce.ts';
import type { Json } from '../../../test/helpers/http.ts';
import { createInventoryRepository, createStockGate } from '../inventory/index.ts';
import { expiredCounterFor } from './order-expiry.ts';
import { createOrderExpiry, createOrderLifecycleRepository } from './index.ts';

/** Helpers shared by the suites below: each suite has its own app (database, Redis prefix). */
function fixture(env: Record<string, string>) {
  const f = {
    t: undefined as unknown as TestApp,
    cookies: [] as string[],
    customerIds: [] as number[],
    async start() {
      f.t = await createTestApp({ STOCK_SHARDS: '4', RATE_LIMIT_CHECKOUT_MAX: '100000', ORDER_CANCEL_WINDOW_S: '3600', ...env });
      f.customerIds = await insertCustomers(f.t.platform.db.primary, 3, 'caps');
      f.cookies = await mintSessionCookies(f.t.env, f.customerIds);
    },
    async product(fields: Record<string, unknown> = {}): Promise<number> {
      const reply = await f.t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/products',
        headers: f.t.admin,
        payload: { sku: `cap-${Math.random().toString(36).slice(2)}`, name: 'Capped item', priceCents: 1000, available: 100, ...fields },
      });
      assert.equal(reply.statusCode, 201, reply.body);
      return reply.json().id;
    },
    /** A sale event listing the products, live from a minute ago for `liveMs`. */
    async saleEvent(productIds: number[], maxPerCustomer: number | null, liveMs = 3_600_000): Promise<number> {
      const now = Date.now();
      const reply = await f.t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/sale-events',
        headers: f.t.admin,
        payload: { name: `Sale ${Math.random()}`, startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + liveMs).toISOString(), maxPerCustomer, productIds },
      });
      assert.equal(reply.statusCode, 201, reply.body);
      return reply.json().id;
    },
    async endSaleEvent(id: number): Promise<void> {
      const reply = await f.t.app.inject({ method: 'PATCH', url: `/api/v1/admin/sale-events/${id}`, headers: f.t.admin, payload: { endsAt: new Date(Date.now() - 1000).toISOString() } });
      assert.equal(reply.statusCode, 200, reply.body);
    },
    order(cookie: string, productId: number, quantity: number, headers: Record<string, string> = {}) {
      return f.t.app.inject({
        method: 'POST',
        url: '/api/v1/orders',
        headers: { cookie, 'idempotency-key': `k-${Math.random()}`, ...headers },
        payload: { items: [{ productId, quantity }] },
      });
    },
    guestOrder(email: string, productId: number, quantity: number) {
      return f.t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': `g-${Math.random()}` }, payload: { email, items: [{ productId, quantity }] } });
    },
    async placed(cookie: string, productId: number, quantity: number): Promise<Json> {
      const reply = await f.order(cookie, productId, quantity);
      assert.equal(reply.statusCode, 201, reply.body);
      return reply.json();
    },
    async refused(reply: { statusCode: number; body: string; json(): Json }, limit: number, saleEventId: number | null): Promise<void> {
      assert.equal(reply.statusCode, 409, reply.body);
      const error = reply.json().error;
      assert.equal(error.code, 'PURCHASE_LIMIT_EXCEEDED');
      assert.equal(error.details.limit, limit);
      assert.equal(error.details.saleEventId, saleEventId);
    },
    /** Units the customer holds in the sale event's count (null: no row). */
    async heldInSale(saleEventId: number, customerId: number, productId: number): Promise<number | null> {
      const result = await f.t.platform.db.primary.execute<{ quantity: number }>(
        sql`select s.quantity from sale_event_buyer_purchases s join customers c on s.buyer_email = lower(c.email) where s.sale_event_id = ${saleEventId} and c.id = ${customerId} and s.product_id = ${productId}`,
      );
      return result.rows[0]?.quantity ?? null;
    },
    async heldForLife(customerId: number, productId: number): Promise<number | null> {
      const result = await f.t.platform.db.primary.execute<{ quantity: number }>(sql`select b.quantity from buyer_purchases b join customers c on b.buyer_email = lower(c.email) where c.id = ${customerId} and b.product_id = ${productId}`);
      return result.rows[0]?.quantity ?? null;
    },
    /** Units an email holds (lifetime, or in a sale event), whoever bought them: accounts and guest checkouts alike. */
    async heldByBuyer(email: string, productId: number, saleEventId?: number): Promise<number> {
      const result = await f.t.platform.db.primary.execute<{ n: string }>(
        saleEventId === undefined
          ? sql`select coalesce(sum(i.quantity), 0) as n from order_items i join orders o on o.id = i.order_id join customers c on c.id = o.customer_id
                where lower(c.email) = lower(${email}) and i.product_id = ${productId} and o.status in ('pending_payment', 'paid', 'fulfilled')`
          : sql`select coalesce(sum(i.quantity), 0) as n from order_items i join orders o on o.id = i.order_id join customers c on c.id = o.customer_id
                where lower(c.email) = lower(${email}) and i.product_id = ${productId} and ${saleEventId} = any(i.sale_event_ids) and o.status in ('pending_payment', 'paid', 'fulfilled')`,
      );
      return Number(result.rows[0]!.n);
    },
    async stock(productId: number): Promise<number> {
      const result = await f.t.platform.db.primary.execute<{ sum: string }>(sql`select coalesce(sum(available), 0) as sum from product_stock where product_id = ${productId}`);
      return Number(result.rows[0]!.sum);
    },
  };
  return f;
}

describe('per-sale purchase caps', () => {
  const f = fixture({});
  before(() => f.start());
  after(() => f.t.close());

  it('counts each sale event separately: the cap of one sale is not used up by an earlier sale', async () => {
    const [alice] = f.cookies as [string];
    const [aliceId] = f.customerIds as [number];
    const productId = await f.product();
    const first = await f.saleEvent([productId], 2);
    await f.placed(alice, productId, 2);
    await f.refused(await f.order(alice, productId, 1), 2, first);
    await f.endSaleEvent(first);

    // Between sales no sale cap applies (the product has none of its own).
    await f.placed(alice, productId, 3);
    const second = await f.saleEvent([productId], 2);
    await f.placed(alice, productId, 1);
    await f.placed(alice, productId, 1);
    await f.refused(await f.order(alice, productId, 1), 2, second);

    assert.equal(await f.heldInSale(first, aliceId, productId), 2);
    assert.equal(await f.heldInSale(second, aliceId, productId), 2);
    assert.equal(await f.heldForLife(aliceId, productId), 7, 'the lifetime count still sees every unit');
    assert.equal(await f.stock(productId), 93);
  });

  it('counts an order in every live sale event that lists the product; the strictest cap refuses', async () => {
    const [, bob] = f.cookies as [string, string];
    const [, bobId] = f.customerIds as [number, number];
    const productId = await f.product();
    const loose = await f.saleEvent([productId], 5);
    const strict = await f.saleEvent([productId], 3);
    const uncapped = await f.saleEvent([productId], null);
    await f.placed(bob, productId, 3);
    await f.refused(await f.order(bob, productId, 1), 3, strict);
    // Lifting the strict cap mid-sale: the loose one still counts the 3 units bought so far.
    const lifted = await f.t.app.inject({ method: 'PATCH', url: `/api/v1/admin/sale-events/${strict}`, headers: f.t.admin, payload: { maxPerCustomer: null } });
    assert.equal(lifted.statusCode, 200, lifted.body);
    await f.placed(bob, productId, 2);
    await f.refused(await f.order(bob, productId, 1), 5, loose);
    // A cap set mid-sale sees what was bought before it: the uncapped event counted all along.
    const capped = await f.t.app.inject({ method: 'PATCH', url: `/api/v1/admin/sale-events/${uncapped}`, headers: f.t.admin, payload: { maxPerCustomer: 4 } });
    assert.equal(capped.statusCode, 200, capped.body);
    await f.endSaleEvent(loose);
    await f.refused(await f.order(bob, productId, 1), 4, uncapped);
    for (const event of [loose, strict, uncapped]) assert.equal(await f.heldInSale(event, bobId, productId), 5);
  });

  it("keeps the product's own cap for a customer's whole life, across and outside sales", async () => {
    const [, , carol] = f.cookies as [string, string, string];
    const productId = await f.product({ maxPerCustomer: 3 });
    const sale = await f.saleEvent([productId], 2);
    await f.placed(carol, productId, 2);
    await f.refused(await f.order(carol, productId, 1), 2, sale);
    await f.endSaleEvent(sale);
    await f.placed(carol, productId, 1);
    await f.refused(await f.order(carol, productId, 1), 3, null);
    await f.saleEvent([productId], 2);
    await f.refused(await f.order(carol, productId, 1), 3, null);
  });

  it('gives the headroom back when an order is cancelled or refunded, exactly once', async () => {
    const [alice] = f.cookies as [string];
    const [aliceId] = f.customerIds as [number];
    const productId = await f.product({ available: 10 });
    const sale = await f.saleEvent([productId], 2);
    const cancelled = await f.placed(alice, productId, 2);
    await f.refused(await f.order(alice, productId, 1), 2, sale);
    const cancels = await Promise.all(
      [0, 1, 2].map((i) =>
        i === 0
          ? f.t.app.inject({ method: 'POST', url: `/api/v1/orders/${cancelled.id}/cancel`, headers: { cookie: alice } })
          : f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${cancelled.id}/cancel`, headers: f.t.admin }),
      ),
    );
    for (const reply of cancels) assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(await f.heldInSale(sale, aliceId, productId), 0);
    assert.equal(await f.stock(productId), 10);

    const paid = await f.placed(alice, productId, 2);
    const pay = await f.t.app.inject({ method: 'POST', url: `/api/v1/orders/${paid.id}/pay`, headers: { cookie: alice }, payload: { token: 'tok_ok' } });
    assert.equal(pay.statusCode, 200, pay.body);
    await f.refused(await f.order(alice, productId, 1), 2, sale);
    const refunds = await Promise.all([1, 2, 3].map(() => f.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${paid.id}/refund`, headers: f.t.admin })));
    for (const reply of refunds) assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(await f.heldInSale(sale, aliceId, productId), 0, 'refunded once, not three times (never below zero either)');
    assert.equal(await f.heldForLife(aliceId, productId), 0);
    assert.equal(await f.stock(productId), 10);
    await f.placed(alice, productId, 2);
    assert.equal(await f.heldInSale(sale, aliceId, productId), 2);
  });

  it('counts guests per email (case-insensitive) within a sale, whatever the cookie', async () => {
    const productId = await f.product();
    const sale = await f.saleEvent([productId], 1);
    const first = await f.guestOrder('Flash.Guest@example.com', productId, 1);
    assert.equal(first.statusCode, 201, first.body);
    await f.refused(await f.guestOrder('flash.guest@EXAMPLE.com', productId, 1), 1, sale);
    const other = await f.guestOrder('someone.else@example.com', productId, 1);
    assert.equal(other.statusCode, 201, other.body);
  });

  it("counts a guest checkout with an account's email (any case) against that account's caps, and a guest's purchases against the account opened later", async () => {
    const register = async (email: string) => {
      const reply = await f.t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email, password: 'a long password', name: 'Buyer' } });
      assert.equal(reply.statusCode, 201, reply.body);
      return sessionCookieOf(reply.headers['set-cookie'])!;
    };
    const payAsGuest = async (placed: { json(): Json }) => {
      const reply = await f.t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${placed.json().accessToken}/pay`, payload: { token: 'tok_ok' } });
      assert.equal(reply.statusCode, 200, reply.body);
    };
    // Lifetime cap 3: the account buys 2, a guest checkout with its email buys 1 (paid: an unpaid one does not
    // count against the account, see the next test), then both are refused.
    const lifetime = await f.product({ maxPerCustomer: 3 });
    const dana = await register('Dana.Buyer@example.com');
    const first = await f.placed(dana, lifetime, 2);
    const asGuest = await f.guestOrder('dana.buyer@EXAMPLE.com', lifetime, 1);
    assert.equal(asGuest.statusCode, 201, asGuest.body);
    await payAsGuest(asGuest);
    const again = await f.guestOrder('DANA.BUYER@example.com', lifetime, 1);
    await f.refused(again, 3, null);
    assert.equal(again.json().error.details.alreadyPurchased, 3);
    await f.refused(await f.order(dana, lifetime, 1), 3, null);
    assert.equal(await f.heldByBuyer('dana.buyer@example.com', lifetime), 3);
    // Cancelling the account's order gives the headroom back to the email, guest checkouts included.
    const cancel = await f.t.app.inject({ method: 'POST', url: `/api/v1/orders/${first.id}/cancel`, headers: { cookie: dana } });
    assert.equal(cancel.statusCode, 200, cancel.body);
    assert.equal(await f.heldByBuyer('dana.buyer@example.com', lifetime), 1);
    assert.equal((await f.guestOrder('dana.buyer@example.com', lifetime, 2)).statusCode, 201);

    // A sale's cap 1: a guest buys first, then opens an account with the same email.
    const inSale = await f.product();
    const sale = await f.saleEvent([inSale], 1);
    const guestFirst = await f.guestOrder('erin.buyer@example.com', inSale, 1);
    assert.equal(guestFirst.statusCode, 201, guestFirst.body);
    await payAsGuest(guestFirst);
    const erin = await register('Erin.Buyer@Example.com');
    await f.refused(await f.order(erin, inSale, 1), 1, sale);
    assert.equal(await f.heldByBuyer('erin.buyer@example.com', inSale, sale), 1);
    assert.equal(await f.stock(inSale), 99);
  });

  it("lets an account buy past unpaid guest checkouts made with its email, and refuses to pay those past the cap", async () => {
    const reply = await f.t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'Fay.Buyer@example.com', password: 'a long password', name: 'Fay' } });
    assert.equal(reply.statusCode, 201, reply.body);
    const fay = sessionCookieOf(reply.headers['set-cookie'])!;
    const productId = await f.product({ maxPerCustomer: 5 });
    const sale = await f.saleEvent([productId], 2);
    // Anyone who knows the email can check out as a guest with it, and need not pay.
    const squatter = await f.guestOrder('fay.buyer@example.com', productId, 2);
    assert.equal(squatter.statusCode, 201, squatter.body);
    await f.refused(await f.guestOrder('FAY.BUYER@example.com', productId, 1), 2, sale);

    const own = await f.order(fay, productId, 2);
    assert.equal(own.statusCode, 201, `the account is not blocked by unpaid guest checkouts of its email: ${own.body}`);
    await f.refused(await f.order(fay, productId, 1), 2, sale);
    const paid = await f.t.app.inject({ method: 'POST', url: `/api/v1/orders/${own.json().id}/pay`, headers: { cookie: fay }, payload: { token: 'tok_ok' } });
    assert.equal(paid.statusCode, 200, paid.body);

    // The guest order would take the email past the sale's cap: it is not paid (the authorization is voided).
    const payGuest = await f.t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${squatter.json().accessToken}/pay`, payload: { token: 'tok_ok' } });
    assert.equal(payGuest.statusCode, 409, payGuest.body);
    const refusal = payGuest.json().error;
    assert.equal(refusal.code, 'ORDER_NOT_PAYABLE');
    // The refusal says why (the cap), with what a checkout's PURCHASE_LIMIT_EXCEEDED says: the guest order's 2 on top of
    // the account's 2 paid pass the sale's 2. Not "cannot be paid (pending_payment)", the one status that is payable.
    assert.equal(
      refusal.message,
      `order ${squatter.json().id} cannot be paid: its buyer's paid and unpaid units would pass the purchase cap of product ${productId} (at most 2 per customer in sale event ${sale})`,
    );
    assert.deepEqual(refusal.details, { orderId: squatter.json().id, status: 'pending_payment', reason: 'PURCHASE_LIMIT', productId, limit: 2, alreadyPurchased: 2, requested: 2, saleEventId: sale });
    const paidUnits = await f.t.platform.db.primary.execute<{ n: number }>(sql`
      select coalesce(sum(i.quantity), 0)::int as n from order_items i join orders o on o.id = i.order_id join customers c on c.id = o.customer_id
      where lower(c.email) = 'fay.buyer@example.com' and i.product_id = ${productId} and o.status = 'paid'`);
    assert.equal(paidUnits.rows[0]!.n, 2);
    assert.equal(await f.heldByBuyer('fay.buyer@example.com', productId, sale), 4);
    assert.equal(await f.stock(productId), 96);
  });

  it('lets an account buy past unpaid guest checkouts made with a +tag of its email', async () => {
    const reply = await f.t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'ivy@example.com', password: 'a long password', name: 'Ivy' } });
    assert.equal(reply.statusCode, 201, reply.body);
    const ivy = sessionCookieOf(reply.headers['set-cookie'])!;
    const productId = await f.product();
    await f.saleEvent([productId], 2);
    // A tag makes another guest record of the same buyer (caps count per mailbox): as easy to make as the plain one.
    for (const email of ['ivy+a@example.com', 'IVY+b@example.com']) {
      const squatter = await f.guestOrder(email, productId, 1);
      assert.equal(squatter.statusCode, 201, squatter.body);
    }
    const own = await f.order(ivy, productId, 2);
    assert.equal(own.statusCode, 201, `the account is not blocked by unpaid guest checkouts under tags of its email: ${own.body}`);
  });

  it("refuses to pay a guest order past the cap when the account's email has a +tag", async () => {
    const reply = await f.t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'hal+shop@example.com', password: 'a long password', name: 'Hal' } });
    assert.equal(reply.statusCode, 201, reply.body);
    const hal = sessionCookieOf(reply.headers['set-cookie'])!;
    const productId = await f.product();
    const sale = await f.saleEvent([productId], 2);
    const guest = await f.guestOrder('hal@example.com', productId, 2);
    assert.equal(guest.statusCode, 201, guest.body);
    const own = await f.order(hal, productId, 2);
    assert.equal(own.statusCode, 201, own.body);
    const paid = await f.t.app.inject({ method: 'POST', url: `/api/v1/orders/${own.json().id}/pay`, headers: { cookie: hal }, payload: { token: 'tok_ok' } });
    assert.equal(paid.statusCode, 200, paid.body);
    const payGuest = await f.t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${guest.json().accessToken}/pay`, payload: { token: 'tok_ok' } });
    assert.equal(payGuest.statusCode, 409, `one buyer (hal@example.com) pays for at most the sale's 2: ${payGuest.body}`);
    const after = await f.t.app.inject({ method: 'GET', url: `/api/v1/guest-orders/${guest.json().accessToken}` });
    assert.equal(after.json().status, 'pending_payment');
    assert.equal(await f.heldInSale(sale, own.json().id === undefined ? 0 : (await f.t.platform.db.primary.execute<{ id: number }>(sql`select id::int from customers where guest and email = 'hal@example.com'`)).rows[0]!.id, productId), 4);
  });

  it('lets a guest cancel their unpaid order by its link, which gives its cap headroom and units back at once', async () => {
    const productId = await f.product();
    const sale = await f.saleEvent([productId], 1);
    const abandoned = await f.guestOrder('gil.guest@example.com', productId, 1);
    assert.equal(abandoned.statusCode, 201, abandoned.body);
    await f.refused(await f.guestOrder('gil.guest@example.com', productId, 1), 1, sale);

    const cancel = () => f.t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${abandoned.json().accessToken}/cancel` });
    const cancelled = await cancel();
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(cancelled.json().status, 'cancelled');
    assert.equal((await cancel()).json().status, 'cancelled', 'cancelling again answers the cancelled order');
    assert.equal(await f.stock(productId), 100);
    const again = await f.guestOrder('gil.guest@example.com', productId, 1);
    assert.equal(again.statusCode, 201, again.body);

    // A paid order is refunded, not cancelled; a forged link finds nothing.
    const pay = await f.t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${again.json().accessToken}/pay`, payload: { token: 'tok_ok' } });
    assert.equal(pay.statusCode, 200, pay.body);
    const paidCancel = await f.t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${again.json().accessToken}/cancel` });
    assert.equal(paidCancel.statusCode, 409, paidCancel.body);
    assert.equal(paidCancel.json().error.code, 'ORDER_NOT_CANCELLABLE');
    const forged = await f.t.app.inject({ method: 'POST', url: `/api/v1/guest-orders/${again.json().id}.AAAAAAAAAAAAAAAAAAAAAA/cancel` });
    assert.equal(forged.statusCode, 404, forged.body);
    assert.equal(await f.heldInSale(sale, (await f.t.platform.db.primary.execute<{ id: number }>(sql`select id::int from customers where guest and email = 'gil.guest@example.com'`)).rows[0]!.id, productId), 1);
  });

  it('refuses bad quantities with 400 and a cap overrun with 409, and changes nothing', async () => {
    const [alice] = f.cookies as [string];
    const [aliceId] = f.customerIds as [number];
    const productId = await f.product({ available: 10 });
    const sale = await f.saleEvent([productId], 2);
    for (const quantity of [0, -1, 1.5, 2_000_000_000]) {
      const reply = await f.order(alice, productId, quantity);
      assert.equal(reply.statusCode, 400, `${quantity}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
    }
    await f.refused(await f.order(alice, productId, 3), 2, sale);
    // A two-line order refused on its second line leaves the first line's counts and stock alone.
    const other = await f.product({ available: 10 });
    const twoLines = await f.t.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { cookie: alice, 'idempotency-key': 'two-lines' },
      payload: { items: [{ productId: other, quantity: 1 }, { productId, quantity: 3 }] },
    });
    await f.refused(twoLines, 2, sale);
    assert.equal(await f.heldInSale(sale, aliceId, productId), null);
    assert.equal(await f.heldForLife(aliceId, other), null);
    assert.equal(await f.stock(productId), 10);
    assert.equal(await f.stock(other), 10);
    const orders = await f.t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from order_items where product_id in (${productId}, ${other})`);
    assert.equal(Number(orders.rows[0]!.n), 0);
  });
});

describe('per-sale caps and expiry', () => {
  const f = fixture({ PAYMENT_WINDOW_S: '1' });
  before(() => f.start());
  after(() => f.t.close());

  it('an expired reservation gives its cap headroom back, once, even with two sweepers at once', async () => {
    const [alice, bob] = f.cookies as [string, string];
    const [aliceId, bobId] = f.customerIds as [number, number];
    const productId = await f.product({ available: 10 });
    const sale = await f.saleEvent([productId], 2);
    await f.placed(alice, productId, 2);
    await f.placed(bob, productId, 1);
    await f.refused(await f.order(alice, productId, 1), 2, sale);
    assert.equal(await f.stock(productId), 7);

    const gate = createStockGate({
      redis: f.t.platform.redis,
      prefix: f.t.config.redis.prefix,
      gateTtlS: f.t.config.checkout.stockGateTtlS,
      snapshot: (id, tokens) => createInventoryRepository({ shards: 4 }).snapshot(f.t.platform.db.primary, id, tokens),
    });
    const expiries = [0, 1].map(() =>
      createOrderExpiry({
        db: f.t.platform.db,
        lifecycle: createOrderLifecycleRepository({ paymentWindowS: 1 }),
        gate,
        expired: expiredCounterFor(f.t.platform.metrics.registry),
        logger: pino({ level: 'silent' }),
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const swept = await Promise.all(expiries.map((expiry) => expiry.sweepOnce()));
    const again = await Promise.all(expiries.map((expiry) => expiry.sweepOnce()));
    assert.equal(swept[0]! + swept[1]!, 2, 'both reservations expired, each by one sweeper');
    assert.deepEqual(again, [0, 0]);
    assert.equal(await f.heldInSale(sale, aliceId, productId), 0);
    assert.equal(await f.heldInSale(sale, bobId, productId), 0);
    assert.equal(await f.heldForLife(aliceId, productId), 0);
    assert.equal(await f.stock(productId), 10, 'units back once');

    // The headroom is real: Alice may reserve her two again (and the gate sells them).
    const rebuy = await f.placed(alice, productId, 2);
    assert.equal(rebuy.status, 'pending_payment');
    await f.refused(await f.order(alice, productId, 1), 2, sale);
    assert.equal(await f.heldInSale(sale, aliceId, productId), 2);
  });
});

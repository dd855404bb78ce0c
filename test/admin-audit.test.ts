import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/platform/logger/logger.ts';
import type { WebServices } from '../src/web/compose.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';

/** Every log line the app writes, parsed. */
const lines: { level: number; msg: string; admin?: Record<string, unknown>; [key: string]: unknown }[] = [];
const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });

interface Action {
  id: number;
  actor: string | null;
  method: string;
  route: string;
  target: Record<string, unknown>;
  productId: number | null;
  status: number;
  requestId: string;
  client: string;
  change: Record<string, { before: unknown; after: unknown }> | null;
}

/**
 * Who changed what through the admin API, reconstructed after a sale: every successful mutation leaves an
 * `admin action` log line and a row read back through GET /api/v1/admin/actions; refused requests leave neither.
 */
describe('admin audit trail', () => {
  let t: TestApp;
  let web: WebServices;
  let productId: number;

  before(async () => {
    t = await createTestApp({}, undefined, {
      logger,
      services: (composed) => {
        web = composed;
      },
    });
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'AUDIT-TV', name: 'TV', priceCents: 99_900, available: 10 } });
    assert.equal(created.statusCode, 201, created.body);
    productId = created.json().id;
  });
  after(() => t?.close());

  const admin = (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method, url: `/api/v1/admin${url}`, headers: { ...t.admin, ...headers }, payload, remoteAddress: '10.8.0.7' });
  const actionLines = () => lines.filter((line) => line.msg === 'admin action').map((line) => line.admin!);
  /**
   * The product's recorded actions, newest first, once `count` are there or `withinMs` passed. Each row is written
   * after its reply (onResponse): the audit service's writes in flight are awaited (settle) before every read, and
   * the read is polled, not bounded by a number of tries (a loaded machine's writes can take seconds).
   */
  async function actionsOf(id: number, count: number, withinMs = 30_000): Promise<Action[]> {
    for (const deadline = Date.now() + withinMs; ; ) {
      await web.audit.settle();
      const reply = await admin('GET', `/actions?productId=${id}`);
      assert.equal(reply.statusCode, 200, reply.body);
      const items: Action[] = reply.json().items;
      if (items.length >= count || Date.now() > deadline) return items;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('records a price change and a stock adjustment with the actor, route, target, request id and client, in the log and in admin_actions', async () => {
    const price = await admin('PATCH', `/products/${productId}`, { priceCents: 900 }, { 'x-admin-actor': 'alice (pricing)', 'x-request-id': 'req-audit-price' });
    assert.equal(price.statusCode, 200, price.body);
    const stock = await admin('POST', `/products/${productId}/stock/adjustments`, { delta: 5 }, { 'x-admin-actor': 'bob', 'idempotency-key': 'restock-1' });
    assert.equal(stock.statusCode, 200, stock.body);

    const logged = actionLines().filter((line) => (line.target as { id?: number }).id === productId);
    assert.deepEqual(
      logged.map((line) => [line.method, line.route, line.actor, line.status, line.client]),
      [
        ['PATCH', '/api/v1/admin/products/:id', 'alice (pricing)', 200, '10.8.0.7'],
        ['POST', '/api/v1/admin/products/:id/stock/adjustments', 'bob', 200, '10.8.0.7'],
      ],
    );
    assert.equal(logged[0]!.requestId, 'req-audit-price');

    const rows = await actionsOf(productId, 3);
    assert.deepEqual(
      rows.map((row) => [row.method, row.route, row.actor, row.status, row.client, row.target, row.productId]),
      [
        ['POST', '/api/v1/admin/products/:id/stock/adjustments', 'bob', 200, '10.8.0.7', { id: productId }, productId],
        ['PATCH', '/api/v1/admin/products/:id', 'alice (pricing)', 200, '10.8.0.7', { id: productId }, productId],
        // The create: the product it made is the one its reply names.
        ['POST', '/api/v1/admin/products', null, 201, '127.0.0.1', {}, productId],
      ],
      'the admin actions, newest first',
    );
    assert.equal(rows[1]!.requestId, 'req-audit-price');
    // The values before and after, as the writes had them: who set the TV to $9, and from what.
    assert.deepEqual(
      rows.map((row) => row.change),
      [
        { available: { before: 10, after: 15 } },
        { priceCents: { before: 99_900, after: 900 } },
        // The create: what it made, every field null → value.
        {
          sku: { before: null, after: 'AUDIT-TV' },
          name: { before: null, after: 'TV' },
          categoryId: { before: null, after: null },
          priceCents: { before: null, after: 99_900 },
          currency: { before: null, after: 'USD' },
          status: { before: null, after: 'active' },
          maxPerCustomer: { before: null, after: null },
          available: { before: null, after: 10 },
        },
      ],
    );
    assert.deepEqual(
      logged.map((line) => line.change),
      [{ priceCents: { before: 99_900, after: 900 } }, { available: { before: 10, after: 15 } }],
    );

    // Never the token, never the body wholesale.
    const text = JSON.stringify(actionLines());
    assert.ok(!text.includes(t.admin.authorization.slice('Bearer '.length)), 'the admin token is in the log');
    assert.ok(!text.includes('restock-1'), 'the idempotency key is in the log');
  });

  it('writes nothing for a refused request: no token, a wrong token, a malformed X-Admin-Actor, a body that fails validation', async () => {
    const before = (await actionsOf(productId, 0)).length;
    const noToken = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${productId}`, payload: { priceCents: 1 } });
    const wrongToken = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${productId}`, headers: { authorization: 'Bearer nope' }, payload: { priceCents: 1 } });
    const longActor = await admin('PATCH', `/products/${productId}`, { priceCents: 1 }, { 'x-admin-actor': 'x'.repeat(65) });
    const badBody = await admin('PATCH', `/products/${productId}`, { priceCents: -1 }, { 'x-admin-actor': 'mallory' });
    assert.deepEqual([noToken.statusCode, wrongToken.statusCode, longActor.statusCode, badBody.statusCode], [401, 401, 400, 400]);
    assert.equal(longActor.json().error.code, 'INVALID_ADMIN_ACTOR');
    // The price stayed, and nothing was recorded.
    assert.equal((await admin('GET', `/products/${productId}`)).json().priceCents, 900);
    // A second to be written in, as a refused one would have been.
    assert.equal((await actionsOf(productId, before + 1, 1000)).length, before);
    assert.ok(!actionLines().some((line) => line.actor === 'mallory'));
  });

  it('records the stock count a PUT replaced, a status change and a sale event’s window before → after', async () => {
    assert.equal((await admin('PUT', `/products/${productId}/stock`, { available: 3 }, { 'x-admin-actor': 'carol' })).statusCode, 200);
    assert.equal((await admin('PATCH', `/products/${productId}`, { status: 'draft', name: 'TV 55"' })).statusCode, 200);
    const [status, stock] = await actionsOf(productId, 5);
    assert.deepEqual([stock!.actor, stock!.change], ['carol', { available: { before: 15, after: 3 } }]);
    assert.deepEqual([status!.actor, status!.change], [null, { name: { before: 'TV', after: 'TV 55"' }, status: { before: 'active', after: 'draft' } }]);

    const sale = await admin('POST', '/sale-events', { name: 'Audit sale', startsAt: '2027-01-01T10:00:00.000Z', endsAt: '2027-01-01T12:00:00.000Z', productIds: [productId] });
    assert.equal(sale.statusCode, 201, sale.body);
    const saleId: number = sale.json().id;
    const moved = await admin('PATCH', `/sale-events/${saleId}`, { endsAt: '2027-01-01T14:00:00.000Z', waitingRoom: { enabled: true } }, { 'x-admin-actor': 'dave' });
    assert.equal(moved.statusCode, 200, moved.body);
    const line = lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === '/api/v1/admin/sale-events/:id');
    assert.deepEqual(line?.admin?.change, {
      endsAt: { before: '2027-01-01T12:00:00.000Z', after: '2027-01-01T14:00:00.000Z' },
      waitingRoom: { before: { enabled: false, admissionPerSecond: null, paused: false }, after: { enabled: true, admissionPerSecond: null, paused: false } },
    });
    // The create is filed under the new event's id, as its later changes are (their `:id`).
    const created = lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === '/api/v1/admin/sale-events' && l.admin?.method === 'POST');
    assert.deepEqual(created?.admin?.target, { id: saleId }, 'the sale event created is the target of its create');
  });

  // A product's lifetime cap per buyer is lowered or lifted during a sale as a sale event's is, and as the event's is
  // recorded before → after: who made the limit 1 (or took it off) must be in the trail too.
  it('records a product’s maxPerCustomer before → after, a limit set and one taken off', async () => {
    const created = await admin('POST', '/products', { sku: 'AUDIT-CAP', name: 'Capped', priceCents: 500, available: 10, maxPerCustomer: 5 });
    assert.equal(created.statusCode, 201, created.body);
    const id: number = created.json().id;
    assert.equal((await admin('PATCH', `/products/${id}`, { maxPerCustomer: 1 }, { 'x-admin-actor': 'erin' })).statusCode, 200);
    assert.equal((await admin('PATCH', `/products/${id}`, { maxPerCustomer: null, priceCents: 450 })).statusCode, 200);
    const [liftedAndRepriced, lowered] = await actionsOf(id, 3);
    assert.deepEqual([lowered!.actor, lowered!.change], ['erin', { maxPerCustomer: { before: 5, after: 1 } }]);
    assert.deepEqual(liftedAndRepriced!.change, { priceCents: { before: 500, after: 450 }, maxPerCustomer: { before: 1, after: null } });
  });

  // A product renamed or moved to another category reads differently in the shop: who did it, and from what, is in
  // the trail as a price change is.
  it('records a product’s name and category before → after, a category taken off too', async () => {
    const suffix = Math.random().toString(36).slice(2);
    const category = async (slug: string) => {
      const reply = await admin('POST', '/categories', { slug: `${slug}-${suffix}`, name: slug });
      assert.equal(reply.statusCode, 201, reply.body);
      return reply.json().id as number;
    };
    const [tvs, outlet] = [await category('tvs'), await category('outlet')];
    const created = await admin('POST', '/products', { sku: `audit-moved-${suffix}`, name: 'TV 42"', priceCents: 30_000, available: 1, categoryId: tvs });
    assert.equal(created.statusCode, 201, created.body);
    const id: number = created.json().id;
    assert.equal((await admin('PATCH', `/products/${id}`, { name: 'TV 42" (b-stock)', categoryId: outlet })).statusCode, 200);
    assert.equal((await admin('PATCH', `/products/${id}`, { categoryId: null })).statusCode, 200);
    const [uncategorised, moved] = await actionsOf(id, 3);
    assert.deepEqual(moved!.change, { name: { before: 'TV 42"', after: 'TV 42" (b-stock)' }, categoryId: { before: tvs, after: outlet } });
    assert.deepEqual(uncategorised!.change, { categoryId: { before: outlet, after: null } });
  });

  // A category renamed, re-slugged or moved under another changes where its products are browsed: who did it, and
  // from what, is recorded as a product's change is.
  it('records a category’s name and parent before → after, and not the slug it resent', async () => {
    const suffix = Math.random().toString(36).slice(2);
    const home = await admin('POST', '/categories', { slug: `home-${suffix}`, name: 'Home' });
    const kitchen = await admin('POST', '/categories', { slug: `kitchen-${suffix}`, name: 'Kitchen' });
    assert.deepEqual([home.statusCode, kitchen.statusCode], [201, 201]);
    const moved = await admin('PATCH', `/categories/${kitchen.json().id}`, { slug: `kitchen-${suffix}`, name: 'Kitchen & dining', parentId: home.json().id });
    assert.equal(moved.statusCode, 200, moved.body);
    const line = lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === '/api/v1/admin/categories/:id');
    assert.deepEqual(line?.admin?.change, { name: { before: 'Kitchen', after: 'Kitchen & dining' }, parentId: { before: null, after: home.json().id } });
  });

  it('files a category’s create under its new id, as a sale event’s', async () => {
    const created = await admin('POST', '/categories', { slug: `garden-${Math.random().toString(36).slice(2)}`, name: 'Garden' });
    assert.equal(created.statusCode, 201, created.body);
    const line = lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === '/api/v1/admin/categories' && l.admin?.method === 'POST');
    assert.deepEqual(line?.admin?.target, { id: created.json().id }, 'the category created is the target of its create');
  });

  // A value resent as it is was not changed: an auditor reading `priceCents 700 → 700` looks for a change that never
  // happened. The request is still an action (recorded), with only what differs, or no change at all.
  it('records no change for the fields a PATCH resends as they are, on a product and on a sale event', async () => {
    const created = await admin('POST', '/products', { sku: `audit-same-${Math.random().toString(36).slice(2)}`, name: 'Same', priceCents: 700, available: 1 });
    assert.equal(created.statusCode, 201, created.body);
    const id: number = created.json().id;
    assert.equal((await admin('PATCH', `/products/${id}`, { priceCents: 700, status: 'active', maxPerCustomer: null })).statusCode, 200);
    assert.equal((await admin('PATCH', `/products/${id}`, { priceCents: 650, status: 'active' })).statusCode, 200);
    const [repriced, unchanged] = await actionsOf(id, 3);
    assert.equal(unchanged!.change, null, 'a PATCH that changed nothing is recorded as a change');
    assert.deepEqual(repriced!.change, { priceCents: { before: 700, after: 650 } });

    const sale = await admin('POST', '/sale-events', { name: 'Same sale', startsAt: '2027-03-01T10:00:00.000Z', endsAt: '2027-03-01T12:00:00.000Z', productIds: [id] });
    assert.equal(sale.statusCode, 201, sale.body);
    const resent = await admin('PATCH', `/sale-events/${sale.json().id}`, { name: 'Same sale', endsAt: '2027-03-01T12:00:00.000Z', productIds: [id], waitingRoom: { enabled: false } });
    assert.equal(resent.statusCode, 200, resent.body);
    const line = lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === '/api/v1/admin/sale-events/:id');
    assert.equal(line?.admin?.change, null, 'a sale event PATCH that changed nothing is recorded as a change');
  });

  it('records no change for a stock PUT of the count the product has', async () => {
    const created = await admin('POST', '/products', { sku: `audit-stock-${Math.random().toString(36).slice(2)}`, name: 'Counted', priceCents: 100, available: 4 });
    assert.equal(created.statusCode, 201, created.body);
    const id: number = created.json().id;
    assert.equal((await admin('PUT', `/products/${id}/stock`, { available: 4 })).statusCode, 200);
    const [recount] = await actionsOf(id, 2);
    assert.deepEqual([recount!.route, recount!.change], ['/api/v1/admin/products/:id/stock', null]);
  });

  it('records the products a PATCH lists in a sale event or takes off it, before → after (a live sale’s capped products)', async () => {
    const other = await admin('POST', '/products', { sku: `audit-${Math.random().toString(36).slice(2)}`, name: 'Other', priceCents: 100, available: 1 });
    assert.equal(other.statusCode, 201, other.body);
    const otherId: number = other.json().id;
    const sale = await admin('POST', '/sale-events', { name: 'Audit products', startsAt: '2027-02-01T10:00:00.000Z', endsAt: '2027-02-01T12:00:00.000Z', productIds: [productId] });
    assert.equal(sale.statusCode, 201, sale.body);
    const swapped = await admin('PATCH', `/sale-events/${sale.json().id}`, { productIds: [otherId], maxPerCustomer: 2 });
    assert.equal(swapped.statusCode, 200, swapped.body);
    const line = lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === '/api/v1/admin/sale-events/:id');
    assert.deepEqual(line?.admin?.change, {
      maxPerCustomer: { before: null, after: 2 },
      productIds: { before: [productId], after: [otherId] },
    });
  });

  it('records an order cancelled or refunded and a degrade mode switched, before → after', async () => {
    const [buyer] = (await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 1, 'audit'))) as [string];
    const place = async () => {
      const reply = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: buyer, 'idempotency-key': `audit-${Math.random()}` }, payload: { items: [{ productId, quantity: 1 }] } });
      assert.equal(reply.statusCode, 201, reply.body);
      return reply.json().id as number;
    };
    const lastChange = (route: string) => lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === route)?.admin?.change;
    assert.equal((await admin('PATCH', `/products/${productId}`, { status: 'active' })).statusCode, 200);

    const cancelled = await place();
    assert.equal((await admin('POST', `/orders/${cancelled}/cancel`, undefined, { 'x-admin-actor': 'erin' })).statusCode, 200);
    assert.deepEqual(lastChange('/api/v1/admin/orders/:id/cancel'), { status: { before: 'pending_payment', after: 'cancelled' } });
    // Cancelling again changes nothing: no change recorded.
    assert.equal((await admin('POST', `/orders/${cancelled}/cancel`)).statusCode, 200);
    assert.equal(lastChange('/api/v1/admin/orders/:id/cancel'), null);

    const refunded = await place();
    const paid = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${refunded}/pay`, headers: { cookie: buyer }, payload: { token: 'tok_ok' } });
    assert.equal(paid.statusCode, 200, paid.body);
    assert.equal((await admin('POST', `/orders/${refunded}/refund`)).statusCode, 200);
    assert.deepEqual(lastChange('/api/v1/admin/orders/:id/refund'), { status: { before: 'paid', after: 'refunded' } });

    assert.equal((await admin('PUT', '/mode', { mode: 'elevated', reason: 'audit' })).statusCode, 200);
    assert.deepEqual(lastChange('/api/v1/admin/mode'), { mode: { before: 'normal', after: 'elevated' }, forced: { before: null, after: 'elevated' } });
    assert.equal((await admin('PUT', '/mode', { mode: 'auto' })).statusCode, 200);
    assert.deepEqual(lastChange('/api/v1/admin/mode'), { mode: { before: 'elevated', after: 'normal' }, forced: { before: 'elevated', after: null } });
  });

  // A fulfil moves the order paid → fulfilled, as a cancel or a refund moves it: its change is recorded the same way.
  it('records a fulfil, paid → fulfilled, and nothing when the order was fulfilled already', async () => {
    const [buyer] = (await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 1, 'fulfil-audit'))) as [string];
    const lastChange = () => lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === '/api/v1/admin/orders/:id/fulfill')?.admin?.change;
    assert.equal((await admin('PATCH', `/products/${productId}`, { status: 'active' })).statusCode, 200);
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: buyer, 'idempotency-key': 'fulfil-audit-1' }, payload: { items: [{ productId, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    const id = placed.json().id as number;
    const paid = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/pay`, headers: { cookie: buyer }, payload: { token: 'tok_ok' } });
    assert.equal(paid.statusCode, 200, paid.body);

    assert.equal((await admin('POST', `/orders/${id}/fulfill`)).statusCode, 200);
    assert.deepEqual(lastChange(), { status: { before: 'paid', after: 'fulfilled' } });
    assert.equal((await admin('POST', `/orders/${id}/fulfill`)).statusCode, 200);
    assert.equal(lastChange(), null);
  });

  // Once a catalog item is deleted, or when one appears, the trail alone must say what it was: a create records every
  // field null → value, a delete every field value → null (as a sale event's delete does).
  it('records what a product create made, every field null → value, and nothing for a create sent again', async () => {
    const sku = `audit-new-${Math.random().toString(36).slice(2)}`;
    const body = { sku, name: 'New TV', priceCents: 49_900, available: 7, maxPerCustomer: 2 };
    const created = await admin('POST', '/products', body, { 'x-admin-actor': 'gina' });
    assert.equal(created.statusCode, 201, created.body);
    const id: number = created.json().id;
    const again = await admin('POST', '/products', body, { 'x-admin-actor': 'gina' });
    assert.equal(again.headers['idempotent-replayed'], 'true');
    const [replayed, first] = await actionsOf(id, 2);
    assert.equal(first!.actor, 'gina');
    assert.deepEqual(first!.change, {
      sku: { before: null, after: sku },
      name: { before: null, after: 'New TV' },
      categoryId: { before: null, after: null },
      priceCents: { before: null, after: 49_900 },
      currency: { before: null, after: created.json().currency },
      status: { before: null, after: 'active' },
      maxPerCustomer: { before: null, after: 2 },
      available: { before: null, after: 7 },
    });
    assert.equal(replayed!.change, null, 'a create sent again made nothing');
  });

  it('records what a category create made and what a category delete removed, every field null → value and value → null', async () => {
    const slug = `porch-${Math.random().toString(36).slice(2)}`;
    const parent = await admin('POST', '/categories', { slug: `${slug}-home`, name: 'Home' });
    const created = await admin('POST', '/categories', { slug, name: 'Porch', parentId: parent.json().id });
    assert.equal(created.statusCode, 201, created.body);
    const id: number = created.json().id;
    const made = lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === '/api/v1/admin/categories' && l.admin?.method === 'POST');
    assert.deepEqual(made?.admin?.change, { slug: { before: null, after: slug }, name: { before: null, after: 'Porch' }, parentId: { before: null, after: parent.json().id } });
    const deleted = await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/categories/${id}`, headers: { ...t.admin, 'x-admin-actor': 'hana' } });
    assert.equal(deleted.statusCode, 204, deleted.body);
    const removed = lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === '/api/v1/admin/categories/:id' && l.admin?.method === 'DELETE');
    assert.deepEqual([removed?.admin?.actor, removed?.admin?.target], ['hana', { id }]);
    assert.deepEqual(removed?.admin?.change, { slug: { before: slug, after: null }, name: { before: 'Porch', after: null }, parentId: { before: parent.json().id, after: null } });
  });

  it('records what a sale event create made, every field null → value', async () => {
    const sale = await admin('POST', '/sale-events', { name: 'Made sale', startsAt: '2027-04-01T10:00:00.000Z', endsAt: '2027-04-01T12:00:00.000Z', productIds: [productId], maxPerCustomer: 3 });
    assert.equal(sale.statusCode, 201, sale.body);
    const line = lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === '/api/v1/admin/sale-events' && l.admin?.method === 'POST');
    assert.deepEqual(line?.admin?.change, {
      name: { before: null, after: 'Made sale' },
      startsAt: { before: null, after: '2027-04-01T10:00:00.000Z' },
      endsAt: { before: null, after: '2027-04-01T12:00:00.000Z' },
      trafficMultiplier: { before: null, after: 1 },
      maxPerCustomer: { before: null, after: 3 },
      productIds: { before: null, after: [productId] },
      waitingRoom: { before: null, after: { enabled: false, admissionPerSecond: null, paused: false } },
    });
  });

  it('pages the actions newest first with a cursor, and refuses a cursor it did not write', async () => {
    const first = await admin('GET', '/actions?limit=1');
    assert.equal(first.statusCode, 200, first.body);
    const page1 = first.json();
    assert.equal(page1.items.length, 1);
    assert.equal(typeof page1.nextCursor, 'string');
    const page2 = (await admin('GET', `/actions?limit=1&cursor=${page1.nextCursor}`)).json();
    assert.ok(page2.items[0].id < page1.items[0].id);
    const forged = await admin('GET', '/actions?cursor=not-a-cursor');
    assert.deepEqual([forged.statusCode, forged.json().error.code], [400, 'INVALID_CURSOR']);
  });
});

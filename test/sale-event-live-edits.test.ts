import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { request } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';

/**
 * A sale event edited while it is live, as a merchandising team does the week before Black Friday, on two
 * `salescale serve` processes sharing one database and one Redis: an edit made through one instance applies to
 * the next order on the other, and overlapping events' caps all apply, the refusal naming one deterministically.
 */
describe('a live sale event edited on one instance, orders on another', () => {
  let t: TestApp;
  let a: Instance;
  let b: Instance;
  let cookies: string[];

  before(async () => {
    t = await createTestApp();
    [a, b] = await Promise.all([startInstance({ env: t.env }), startInstance({ env: t.env })]);
    cookies = await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 3, 'live-edit'));
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await t?.close();
  });

  const admin = (at: Instance, method: string, path: string, body?: unknown) => request(`${at.url}/api/v1/admin${path}`, { method, headers: { authorization: t.admin.authorization }, body });
  const order = (at: Instance, cookie: string, productId: number, quantity = 1) =>
    request(`${at.url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': randomUUID() }, body: { items: [{ productId, quantity }] } });
  async function product(): Promise<number> {
    const created = await admin(a, 'POST', '/products', { sku: `le-${randomUUID()}`, name: 'Doorbuster', priceCents: 1000, available: 100 });
    assert.equal(created.status, 201);
    return created.body.id;
  }
  async function sale(body: Record<string, unknown>): Promise<number> {
    const now = Date.now();
    const created = await admin(b, 'POST', '/sale-events', { name: 'Black Friday', startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), ...body });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.id;
  }

  it('applies a cap lowered, a product removed and listed again, and a window ended early, to the next order on the other instance', async () => {
    const id = await product();
    const event = await sale({ maxPerCustomer: 3, productIds: [id] });
    assert.equal((await order(a, cookies[0]!, id, 2)).status, 201);

    assert.equal((await admin(b, 'PATCH', `/sale-events/${event}`, { maxPerCustomer: 2 })).status, 200);
    const refused = await order(a, cookies[0]!, id);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.deepEqual(refused.body.error.details, { productId: id, limit: 2, alreadyPurchased: 2, requested: 1, saleEventId: event });

    // Off the sale: no sale cap; listed again: the counts kept, with what was bought meanwhile left out of them.
    assert.equal((await admin(b, 'PATCH', `/sale-events/${event}`, { productIds: [] })).status, 200);
    assert.equal((await order(a, cookies[0]!, id)).status, 201);
    assert.equal((await admin(b, 'PATCH', `/sale-events/${event}`, { productIds: [id] })).status, 200);
    assert.equal((await order(a, cookies[0]!, id)).body.error?.code, 'PURCHASE_LIMIT_EXCEEDED');

    // Ended early (endsAt now): the cap no longer applies.
    assert.equal((await admin(b, 'PATCH', `/sale-events/${event}`, { endsAt: new Date().toISOString() })).status, 200);
    assert.equal((await order(a, cookies[0]!, id)).status, 201);
  });

  it('applies every cap of overlapping live events to a product and names the lowest-id event whose cap refuses', async () => {
    const id = await product();
    const loose = await sale({ maxPerCustomer: 5, productIds: [id] });
    const tight = await sale({ maxPerCustomer: 1, productIds: [id] });
    assert.ok(loose < tight);
    assert.equal((await order(a, cookies[1]!, id)).status, 201);
    const second = await order(b, cookies[1]!, id);
    assert.equal(second.status, 409);
    assert.equal(second.body.error.details.saleEventId, tight, 'the tighter cap refuses');
    const many = await order(a, cookies[2]!, id, 6);
    assert.equal(many.status, 409);
    assert.equal(many.body.error.details.saleEventId, loose, 'both caps passed: the lowest id is named');
  });
});

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { request } from './helpers/http.ts';
import { createQueuedProduct, createQueuedSale } from './helpers/waiting-room.ts';

/**
 * The waiting room at its edges, on one in-process instance listening on a real socket: what its routes
 * and the checkout answer to input no client of ours sends.
 */
describe('waiting room at its edges', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    t = await createTestApp({
      RATE_LIMIT_GENERAL_MAX: '1000000',
      RATE_LIMIT_CUSTOMER_MAX: '1000000',
      RATE_LIMIT_SALE_MAX: '1000000',
      RATE_LIMIT_CHECKOUT_MAX: '1000000',
      WAITING_ROOM_EVENTS_REFRESH_MS: '100',
      WAITING_ROOM_TICK_MS: '20',
      WAITING_ROOM_TICKETS_PER_ADDRESS: '1000',
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await t?.close();
  });

  /** A live queued sale of one new product: its ids. */
  async function liveSale(o: { admissionPerSecond?: number } = {}): Promise<{ eventId: number; productId: number }> {
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'edge' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: o.admissionPerSecond ?? 1000 });
    return { eventId, productId };
  }

  it('answers a ticket or a pass whose signature holds a non-ASCII character with 404 / 403, not 500', async () => {
    const { eventId, productId } = await liveSale();
    const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    // The signature is 43 characters; one of them swapped for 'é' keeps 43 characters but not 43 bytes.
    const ticket = `${joined.body.ticket.slice(0, -1)}é`;
    for (const suffix of ['', '/events']) {
      const reply = await t.app.inject({ method: 'GET', url: `/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}${suffix}` });
      assert.equal(reply.statusCode, 404, `GET …/queue/<ticket>${suffix}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'TICKET_NOT_FOUND');
    }

    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'edge-pass');
    const [session] = await mintSessionCookies(t.env, [customerId!]);
    const pass = `${'e30'}.${'A'.repeat(42)}é`;
    const order = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { cookie: session!, 'idempotency-key': `edge-${eventId}`, 'waiting-room-pass': pass, 'content-type': 'application/json' },
      payload: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
    });
    assert.equal(order.statusCode, 403, `checkout with a pass holding 'é': ${order.body}`);
    assert.equal(order.json().error.code, 'PASS_INVALID');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/platform/logger/logger.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../helpers/commerce.ts';

const lines: { msg: string; admin?: Record<string, unknown> }[] = [];
const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });

/**
 * An admin cancel or refund records its status change in the audit trail (`change: { status: { before, after } }`);
 * a fulfil records `change: null` although it moves the order paid → fulfilled. Fulfilling it again changes nothing.
 */
describe('admin fulfil audit change', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({}, undefined, { logger });
  });
  after(() => t?.close());

  const lastChange = () => lines.findLast((l) => l.msg === 'admin action' && l.admin?.route === '/api/v1/admin/orders/:id/fulfill')?.admin?.change;

  it('records paid → fulfilled, and nothing when the order was fulfilled already', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'QA-FULFIL-AUDIT', name: 'Lamp', priceCents: 1_500, available: 5 } });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal((await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${created.json().id}`, headers: t.admin, payload: { status: 'active' } })).statusCode, 200);
    const [cookie] = (await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 1, 'qa-fulfil-audit'))) as [string];
    const placed = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': 'qa-fulfil-audit-1' }, payload: { items: [{ productId: created.json().id, quantity: 1 }] } });
    assert.equal(placed.statusCode, 201, placed.body);
    const id = placed.json().id as number;
    const paid = await t.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/pay`, headers: { cookie }, payload: { token: 'tok_ok' } });
    assert.equal(paid.statusCode, 200, paid.body);

    const fulfil = () => t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${id}/fulfill`, headers: t.admin });
    assert.equal((await fulfil()).statusCode, 200);
    assert.deepEqual(lastChange(), { status: { before: 'paid', after: 'fulfilled' } });
    assert.equal((await fulfil()).statusCode, 200);
    assert.equal(lastChange(), null);
  });
});

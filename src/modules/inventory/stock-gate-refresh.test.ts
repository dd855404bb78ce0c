import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { startInstance, type Instance } from '../../../test/helpers/instances.ts';
import { createOrderLifecycleRepository } from '../orders/index.ts';

/**
 * Units given back to PostgreSQL by an instance that died right after its commit, before it rebuilt the
 * stock gate (a worker's expiry sweep killed by a rolling update): the gate still holds its old figure, so a
 * sold-out product stays sold out for everyone until the figure expires (`STOCK_GATE_TTL_S`, 300 s by
 * default) though PostgreSQL has the units again. The give-back's transaction leaves a job behind, and a
 * real worker process rebuilds the gate from it.
 */
describe('stock given back by an instance that died before it rebuilt the gate', () => {
  let t: TestApp;
  let worker: Instance | undefined;
  before(async () => {
    t = await createTestApp({ OUTBOX_POLL_INTERVAL_MS: '50' });
  });
  after(async () => {
    await worker?.stop('SIGTERM');
    await t?.close();
  });

  const order = (productId: number, quantity: number) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: { email: `gate-${randomUUID()}@example.com`, items: [{ productId, quantity }] },
    });

  it('puts the units back on sale within seconds, not after the gate figure expires', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `gate-${randomUUID()}`, name: 'Doorbuster', priceCents: 100, available: 3 } });
    assert.equal(created.statusCode, 201, created.body);
    const productId: number = created.json().id;
    assert.equal((await order(productId, 3)).statusCode, 201);
    assert.equal((await order(productId, 1)).statusCode, 409, 'sold out at the gate');

    // The expiry sweep as a worker runs it, then the worker dies: its commit is the last thing it did.
    const sweep = createOrderLifecycleRepository({ paymentWindowS: 0 });
    const expired = await t.platform.db.primary.transaction((tx) => sweep.expire(tx, { limit: 10, email: false }));
    assert.equal(expired.length, 1);
    assert.equal((await order(productId, 1)).statusCode, 409, 'the gate still holds the old figure');

    worker = await startInstance({ env: { ...t.env, OUTBOX_POLL_INTERVAL_MS: '50' }, command: 'worker' });
    // A worker process relays and runs the refresh: seconds on a loaded machine.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const reply = await order(productId, 1);
      if (reply.statusCode === 201) break;
      assert.equal(reply.statusCode, 409, reply.body);
      assert.ok(Date.now() < deadline, 'the 3 units given back were still refused at the gate 30 s after a worker started');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { createOrderLifecycleRepository } from './index.ts';
import { RELEASE_IDLE_TIMEOUT_MS } from './orders.repository.ts';

/**
 * A process that returns units (an expiry sweep on a worker) and freezes before its commit — SIGSTOP, a paused
 * VM, a long GC pause — holds the product's stock rows, and every checkout of that product waits behind it (the
 * full chaos run's frozen worker: 176 checkouts over 5 s). PostgreSQL must end the frozen transaction.
 */
describe('units returned by a process that freezes before its commit', () => {
  let t: TestApp;
  before(async () => {
    // One stock row per product: the frozen transaction holds all of it (with several, checkout skips a locked row).
    t = await createTestApp({ STOCK_SHARDS: '1' });
  });
  after(() => t.close());

  const order = (productId: number) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { 'idempotency-key': randomUUID() },
      payload: { email: `frozen-${randomUUID()}@example.com`, items: [{ productId, quantity: 1 }] },
    });

  it('does not hold the checkouts of the product for longer than the idle timeout', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `frozen-${randomUUID()}`, name: 'Frozen', priceCents: 100, available: 50 } });
    assert.equal(created.statusCode, 201, created.body);
    const productId: number = created.json().id;
    assert.equal((await order(productId)).statusCode, 201);

    const sweep = createOrderLifecycleRepository({ paymentWindowS: 0 });
    let frozenEnded: unknown;
    // The frozen process wakes once the checkout is answered (or after 30 s), and then tries to commit.
    const thaw = new AbortController();
    const FROZEN_MS = 30_000;
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const frozen = t.platform.db.primary
      .transaction(async (tx) => {
        assert.equal((await sweep.expire(tx, { limit: 10, email: false })).length, 1);
        holding();
        // Frozen with the stock rows held, then it would commit.
        await sleep(FROZEN_MS, undefined, { signal: thaw.signal }).catch(() => undefined);
      })
      .catch((error: unknown) => (frozenEnded = error));
    // The checkout starts once the sweep holds the stock rows (not after a fixed pause a loaded machine can outlast:
    // a checkout before it did not wait, the thaw came before the idle timeout and the transaction committed).
    await Promise.race([held, frozen]);

    const started = performance.now();
    const reply = await order(productId);
    const waitedMs = performance.now() - started;
    thaw.abort();
    assert.equal(reply.statusCode, 201, reply.body);
    // Let go at the idle timeout, not held for the freeze: 10 s of room for a loaded machine, and still far below it.
    assert.ok(waitedMs < RELEASE_IDLE_TIMEOUT_MS + 10_000, `a checkout of the product waited ${Math.round(waitedMs)} ms behind the frozen transaction`);
    await frozen;
    assert.ok(frozenEnded, 'the frozen transaction was ended by PostgreSQL, not committed');
  });
});

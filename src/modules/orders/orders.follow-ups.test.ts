import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderFollowUps, type OrderPlaced } from './orders.follow-ups.ts';

const order: OrderPlaced = {
  orderId: 7,
  email: 'buyer@example.com',
  items: [
    { productId: 1, name: 'Mug', quantity: 2, unitPriceCents: 900 },
    { productId: 2, name: 'Cap', quantity: 1, unitPriceCents: 1500 },
  ],
  totalCents: 3300,
  currency: 'EUR',
  placedAt: '2026-11-27T10:00:00.000Z',
};

describe('order follow-ups', () => {
  it('keeps the jobs’ own defaults without delays (and with zero delays)', () => {
    for (const jobs of [orderFollowUps(order), orderFollowUps(order, { emailMs: 0, analyticsMs: 0, inventoryMs: 0 })]) {
      assert.deepEqual(
        jobs.map((job) => [job.name, job.opts]),
        [
          ['update-stock', undefined],
          ['update-stock', undefined],
          ['send-order-confirmation', undefined],
          ['update-analytics', undefined],
        ],
      );
    }
  });

  it('defers each kind of follow-up by its delay in a degrade mode, with the same payloads', () => {
    const jobs = orderFollowUps(order, { emailMs: 5000, analyticsMs: 10_000, inventoryMs: 1000 });
    assert.deepEqual(
      jobs.map((job) => [job.name, job.opts?.delay]),
      [
        ['update-stock', 1000],
        ['update-stock', 1000],
        ['send-order-confirmation', 5000],
        ['update-analytics', 10_000],
      ],
    );
    assert.deepEqual(
      jobs.map((job) => job.data),
      orderFollowUps(order).map((job) => job.data),
    );
  });
});

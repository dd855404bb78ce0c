import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderNotCancellableError } from '../../src/modules/orders/orders.errors.ts';

/**
 * 409 `ORDER_NOT_CANCELLABLE` tells the caller why the order cannot be cancelled. "A paid order is refunded instead"
 * fits a paid order only: an expired, refunded or fulfilled order gets a message about its own status (a cancelled one
 * is not refused: cancelling it again answers it).
 * The details (`id`, `status`) stay as they are.
 */
describe('ORDER_NOT_CANCELLABLE message fits the status', () => {
  it('speaks of a refund only for a paid order', () => {
    assert.match(new OrderNotCancellableError(7, 'paid').message, /refund/);
    for (const status of ['expired', 'refunded', 'fulfilled'] as const) {
      const error = new OrderNotCancellableError(7, status);
      assert.doesNotMatch(error.message, /a paid order is refunded instead/, `${status}: ${error.message}`);
      assert.match(error.message, new RegExp(status), `${status}: ${error.message}`);
      assert.deepEqual(error.details, { id: 7, status });
    }
  });
});

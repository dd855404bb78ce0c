import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotFoundError } from './errors.ts';

describe('NotFoundError', () => {
  it('names a resource of several words in words in its message, and by its identifier in its code', () => {
    const error = new NotFoundError('sale_event', 5);
    assert.equal(error.code, 'SALE_EVENT_NOT_FOUND');
    assert.equal(error.message, 'sale event 5 does not exist');
    assert.deepEqual(error.details, { id: 5 });
    assert.equal(new NotFoundError('product', 7).message, 'product 7 does not exist');
  });
});

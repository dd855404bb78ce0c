import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StockGate } from './stock-gate.ts';
import { createStockView } from './stock-view.ts';

/** A gate whose `reserve` refuses product 5 (0 left) when the test says so: its reply is read then. */
function slowRefusingGate(): { gate: StockGate; answer: () => void } {
  let answer!: () => void;
  const gate: StockGate = {
    reserve: () =>
      new Promise((resolve) => {
        answer = () => resolve({ ok: false, shortages: [{ productId: 5, requested: 1, available: 0 }], sinceLossMs: Number.MAX_SAFE_INTEGER, lossAtMs: 0 });
      }),
    confirm: async () => {},
    release: async () => {},
    invalidate: async () => {},
    peek: async (ids) => new Map(ids.map((id) => [id, 1])),
    ensure: async () => true,
    forgetAll: async () => 0,
  };
  return { gate, answer: () => answer() };
}

/**
 * A checkout's gate refusal is remembered (`remember`, orders.service.ts) so a sold-out storm costs one gate call per
 * product per interval. A `reserve` evaluated by Redis before another process gave the units back, whose reply is
 * read after that process's notice was heard (reply and notice travel on two connections), must not be remembered:
 * the instance would refuse the returned units from memory for STOCK_VIEW_REFRESH_MS. `peek` keeps the same promise.
 */
describe('stock view: remembering a checkout refusal', () => {
  it('does not remember a refusal whose reserve began before a notice (or an invalidation) arrived', async () => {
    const { gate, answer } = slowRefusingGate();
    const view = createStockView({ gate, refreshMs: 60_000 });
    // What orders.service.ts does: the view's generation before the reserve, the refusal remembered with it.
    const since = view.generation();
    const reserving = view.gate.reserve('token', [{ productId: 5, quantity: 1 }]);
    // The worker's expiry gave one unit back, rebuilt the gate and published: this instance hears it.
    view.forget([5]);
    answer();
    const result = await reserving;
    if (!result.ok) for (const s of result.shortages) view.remember(s.productId, s.available, since);
    assert.equal(view.knownShortages([{ productId: 5, quantity: 1 }]), undefined, 'a refusal older than the notice is not remembered');
  });

  it('remembers a refusal when nothing was invalidated meanwhile', async () => {
    const { gate, answer } = slowRefusingGate();
    const view = createStockView({ gate, refreshMs: 60_000 });
    const since = view.generation();
    const reserving = view.gate.reserve('token', [{ productId: 5, quantity: 1 }]);
    answer();
    const result = await reserving;
    if (!result.ok) for (const s of result.shortages) view.remember(s.productId, s.available, since);
    assert.deepEqual(view.knownShortages([{ productId: 5, quantity: 1 }]), [{ productId: 5, requested: 1, available: 0 }]);
  });

  it('does not remember a not-for-sale refusal whose attempt began before an invalidation', () => {
    const { gate } = slowRefusingGate();
    const view = createStockView({ gate, refreshMs: 60_000 });
    const since = view.generation();
    view.forget([6]);
    view.rememberRefusal(6, new Error('not for sale'), since);
    assert.equal(view.knownRefusal([{ productId: 6 }]), undefined);
  });
});

import type { StockGate } from './stock-gate.ts';

/**
 * Live stock for product replies: the gate's figures, remembered per process for `refreshMs` so a
 * hot product page costs one Redis read per product per interval, not one per request. Replies
 * therefore follow sales within `refreshMs` on every instance.
 */
export function createStockView(deps: { gate: StockGate; refreshMs: number; clock?: () => number }) {
  const now = deps.clock ?? Date.now;
  const remembered = new Map<number, { value: number | undefined; at: number }>();
  const MAX_REMEMBERED = 50_000;

  return {
    async peek(productIds: readonly number[]): Promise<Map<number, number>> {
      const result = new Map<number, number>();
      const stale: number[] = [];
      const t = now();
      for (const id of productIds) {
        const entry = remembered.get(id);
        if (entry && t - entry.at < deps.refreshMs) {
          if (entry.value !== undefined) result.set(id, entry.value);
        } else stale.push(id);
      }
      if (stale.length > 0) {
        const fresh = await deps.gate.peek(stale);
        // A product without a gate figure (first view, or stock changed outside checkout): build it
        // now, so the reply shows the truth rather than whatever the catalog cache held.
        const missing = stale.filter((id) => !fresh.has(id));
        if (missing.length > 0) {
          const built = await Promise.all(missing.map((id) => deps.gate.ensure(id)));
          const again = await deps.gate.peek(missing.filter((_, i) => built[i]));
          for (const [id, value] of again) fresh.set(id, value);
        }
        if (remembered.size > MAX_REMEMBERED) remembered.clear();
        for (const id of stale) {
          const value = fresh.get(id);
          remembered.set(id, { value, at: t });
          if (value !== undefined) result.set(id, value);
        }
      }
      return result;
    },

    async invalidate(productId: number): Promise<void> {
      remembered.delete(productId);
      await deps.gate.invalidate(productId);
    },
  };
}

import type { StockGate } from './stock-gate.ts';

/**
 * Live stock for product replies: the gate's figures, remembered per process for `refreshMs` so a
 * hot product page costs one Redis read per product per interval, not one per request. Replies
 * therefore follow sales within `refreshMs` on every instance.
 *
 * Checkout uses the same memory to answer "sold out" for a product the gate refused within the last
 * `refreshMs` without asking Redis again (a flash sale's sold-out storm costs one gate call per
 * product per interval per instance). A unit that comes back (a refusal released, or stock changed outside
 * checkout on another instance or in the worker: a cancellation, an expired reservation, a refund, an admin's
 * stock change) is therefore offered again at most `refreshMs` later; an order is never placed on the memory
 * alone. So for a product PostgreSQL refused as not for sale: put back on sale, it is sold again at most
 * `refreshMs` later.
 *
 * On the instance that changed the stock it is at once: every change outside checkout invalidates the gate
 * (`StockGate.invalidate`), and the gate this process's services use is `view.gate`, whose `invalidate` also
 * forgets this memory of the product. (A view's memory of units it did not see come back refused "only 1 left"
 * on the very instance that had just cancelled the order holding them, for `refreshMs`.)
 *
 * On the other instances it is at once too, as a rule: every process's invalidation, and every release that gave a
 * reservation's units back (an order refused or failed after its reservation, while another instance may have read
 * "sold out"), publishes the product on Redis (`publishingStockGate`, stock-view-notices.ts) and each web instance's
 * view (this one's included) `forget`s it on receipt. Pub/sub is
 * at most once, so `refreshMs` remains the bound when a message is lost.
 */
export function createStockView(deps: { gate: StockGate; refreshMs: number; clock?: () => number }) {
  const now = deps.clock ?? Date.now;
  const remembered = new Map<number, { value: number | undefined; at: number }>();
  /**
   * Refusals PostgreSQL gave because a product is not for sale (archived or draft): the gate keeps no figure for
   * such a product, so without this memory every attempt on it (a product pulled at a sale's peak, its buyers and
   * bots still pressing) was a gate rebuild and an order statement in PostgreSQL, where a sold-out one costs none.
   */
  const refusals = new Map<number, { refusal: Error; at: number }>();
  const MAX_REMEMBERED = 50_000;
  /**
   * Bumped by every invalidation: a gate read that began before one does not remember its figure, which
   * may predate the units that came back.
   */
  let generation = 0;
  const forgetListeners = new Set<(productIds: readonly number[] | undefined) => void>();
  const tell = (productIds: readonly number[] | undefined) => {
    for (const listener of forgetListeners) {
      try {
        listener(productIds);
      } catch {
        // The listener's failure is its own; this memory is forgotten all the same.
      }
    }
  };

  function forget(productId: number): void {
    generation++;
    remembered.delete(productId);
    refusals.delete(productId);
    tell([productId]);
  }

  /** Forgets all this process remembers (not the gate's figures). */
  function forgetMemory(): void {
    generation++;
    remembered.clear();
    refusals.clear();
    tell(undefined);
  }

  /** Forgets the product here, rebuilds its gate, and forgets it again (a read that began meanwhile is not remembered). */
  async function invalidate(productId: number): Promise<void> {
    forget(productId);
    try {
      await deps.gate.invalidate(productId);
    } finally {
      forget(productId);
    }
  }

  /** The gate, through this view: an invalidation (stock given back or changed outside checkout) also forgets this process's memory. */
  const gate: StockGate = {
    reserve: (token, lines) => deps.gate.reserve(token, lines),
    confirm: (token, productIds) => deps.gate.confirm(token, productIds),
    release: (token, productIds) => deps.gate.release(token, productIds),
    invalidate,
    peek: (productIds) => deps.gate.peek(productIds),
    ensure: (productId) => deps.gate.ensure(productId),
    async forgetAll() {
      forgetMemory();
      return deps.gate.forgetAll();
    },
  };

  return {
    gate,

    async peek(productIds: readonly number[]): Promise<Map<number, number>> {
      const result = new Map<number, number>();
      const stale: number[] = [];
      const t = now();
      const readFrom = generation;
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
          if (generation === readFrom) remembered.set(id, { value, at: t });
          if (value !== undefined) result.set(id, value);
        }
      }
      return result;
    },

    /** Lines the remembered figures say cannot be served now; undefined when none (or nothing fresh is known). */
    knownShortages(lines: readonly { productId: number; quantity: number }[]): { productId: number; requested: number; available: number }[] | undefined {
      const t = now();
      const shortages = [];
      for (const line of lines) {
        const entry = remembered.get(line.productId);
        if (entry?.value !== undefined && t - entry.at < deps.refreshMs && entry.value < line.quantity) {
          shortages.push({ productId: line.productId, requested: line.quantity, available: Math.max(0, entry.value) });
        }
      }
      return shortages.length > 0 ? shortages : undefined;
    },

    /** The refusal remembered (within `refreshMs`) for a product of these lines that is not for sale; undefined when none. */
    knownRefusal(lines: readonly { productId: number }[]): Error | undefined {
      const t = now();
      for (const line of lines) {
        const entry = refusals.get(line.productId);
        if (entry && t - entry.at < deps.refreshMs) return entry.refusal;
      }
      return undefined;
    },

    /**
     * The invalidation counter: taken before a gate or PostgreSQL call whose answer is then remembered (`remember`,
     * `rememberRefusal`), so an answer that may predate units that came back meanwhile is not.
     */
    generation(): number {
      return generation;
    },

    /**
     * Records PostgreSQL's refusal of a product not for sale; not when `since` (the `generation()` taken before the
     * attempt) is given and an invalidation or notice came since.
     */
    rememberRefusal(productId: number, refusal: Error, since?: number): void {
      if (since !== undefined && since !== generation) return;
      if (refusals.size > MAX_REMEMBERED) refusals.clear();
      refusals.set(productId, { refusal, at: now() });
    },

    /**
     * Records a figure the gate just answered (e.g. with a refusal); not when `since` (the `generation()` taken before
     * the gate call) is given and an invalidation or notice came since: the figure may predate units given back, and
     * remembering it would refuse them for `refreshMs` (a reserve's reply read after another process's notice).
     */
    remember(productId: number, available: number, since?: number): void {
      if (since !== undefined && since !== generation) return;
      if (remembered.size > MAX_REMEMBERED) remembered.clear();
      remembered.set(productId, { value: available, at: now() });
    },

    /** Stock changed outside checkout: forgets the product here and rebuilds its gate (`gate.invalidate`). */
    invalidate,

    /**
     * Another process gave units of these products back (and rebuilt their gates): forgets them here, as an
     * invalidation does (a read begun before does not remember its figure). `stock-view-notices.ts`.
     */
    forget(productIds: readonly number[]): void {
      for (const id of productIds) forget(id);
    },

    /** Forgets everything remembered here (a notice may have been missed). */
    forgetMemory,

    /**
     * Calls `listener` whenever this view forgets products: with their ids (an invalidation here, a notice from another
     * process), or with undefined when it forgot everything (a re-subscription, `forgetAll`). For other memories of
     * what the gate said (the waiting room's memory of products not for sale) that must follow the same signals.
     * Returns the function that stops calling it. A listener that throws is ignored.
     */
    onForget(listener: (productIds: readonly number[] | undefined) => void): () => void {
      forgetListeners.add(listener);
      return () => forgetListeners.delete(listener);
    },
  };
}

import { randomUUID } from 'node:crypto';
import { NotFoundError } from '../../shared/errors.ts';
import type { CatalogService, Product } from '../catalog/index.ts';
import { CartBusyError, CartFullError, CartOrderInProgressError, CartLineQuantityError, CartPurchaseLimitError, CartMixedCurrenciesError, NotEnoughStockForCartError } from './cart.errors.ts';
import { MAX_CART_LINES, MAX_LINE_QUANTITY, type Cart, type CartItem, type CartMerge } from './cart.schemas.ts';
import type { CartOwner, CartStore, MergeResult } from './cart.store.ts';

/**
 * How often a cart change is checked and tried again when other changes of the same cart keep coming first (a new
 * line the cart's kept currency cannot vouch for, a merge); each lost try means another change was written.
 */
const SET_ATTEMPTS = 20;

/**
 * How long an order of a cart holds its claim on the cart without renewing it (renewed every third of it while the
 * order runs): the longest a process that died while ordering blocks the cart's next order.
 */
const ORDERING_LEASE_MS = 30_000;

/** The claim `whileOrdering` holds on a cart while it is ordered. */
export interface OrderingClaim {
  /** Not given back when the order ends: it stops being renewed and lapses after ORDERING_LEASE_MS (30 s). */
  keep(): void;
}

/** What checkout takes from a cart. */
export interface CartLine {
  productId: number;
  quantity: number;
}

export function createCartService(deps: { store: CartStore; catalog: CatalogService }) {
  const { store, catalog } = deps;

  /**
   * The lines as the buyer sees them, in product order: priced from the catalog now, each purchasable or with the
   * reason it is not. The one rule of what an order of the cart can take (see `unavailable`).
   */
  async function itemsOf(lines: ReadonlyMap<number, number>): Promise<CartItem[]> {
    const items: CartItem[] = await Promise.all(
      [...lines].map(async ([productId, quantity]): Promise<CartItem> => {
        try {
          const p = await catalog.getProduct(productId);
          return { productId, quantity, name: p.name, priceCents: p.priceCents, currency: p.currency, available: p.available, purchasable: true, unavailableReason: null };
        } catch (error) {
          // Archived, draft or deleted since it was added: shown (from the cache, as a product for sale is), but
          // not purchasable. An outage is not that: it propagates (503), rather than showing every line as no longer for sale.
          if (!(error instanceof NotFoundError)) throw error;
          const p = await catalog.findProduct(productId);
          const unavailableReason = p === undefined ? 'deleted' : p.status === 'draft' ? 'draft' : 'archived';
          return { productId, quantity, name: p?.name ?? '', priceCents: p?.priceCents ?? 0, currency: p?.currency ?? '', available: 0, purchasable: false, unavailableReason };
        }
      }),
    );
    items.sort((a, b) => a.productId - b.productId);
    // The cart's currency is its first line for sale's (as currencyOf reads it); a line repriced into
    // another since it was added cannot be ordered with the others, so it is not purchasable, nor counted.
    const currency = items.find((item) => item.purchasable)?.currency ?? null;
    for (const item of items) {
      if (item.purchasable && item.currency !== currency) Object.assign(item, { purchasable: false, unavailableReason: 'other_currency' });
    }
    return items;
  }

  async function view(owner: CartOwner): Promise<Cart> {
    const items = await itemsOf(await store.get(owner));
    const currency = items.find((item) => item.purchasable)?.currency ?? null;
    const purchasable = items.filter((item) => item.purchasable);
    return {
      items,
      totalCents: purchasable.reduce((sum, item) => sum + item.priceCents * item.quantity, 0),
      currency,
    };
  }

  /** A product for sale, or undefined when it is not (archived or removed since it was added). Outages propagate. */
  async function productForSale(productId: number): Promise<Product | undefined> {
    try {
      return await catalog.getProduct(productId);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      return undefined;
    }
  }

  /**
   * The cart's currency: that of its first line (in product order) still for sale, or undefined when it
   * has none. Its lines share one, as setItem keeps them, unless a product was repriced into another
   * currency since it was added: the view then shows that line as not purchasable, and this rule (the
   * view's) keeps the cart's currency from depending on the order Redis returns the lines in.
   * Checkout refuses mixed currencies, so the cart refuses them first.
   */
  async function currencyOf(lines: Map<number, number>): Promise<string | undefined> {
    for (const id of [...lines.keys()].sort((a, b) => a - b)) {
      const product = await productForSale(id);
      if (product !== undefined) return product.currency;
    }
    return undefined;
  }

  /** The merge's report: lines left and lines capped (with the quantity kept), in product order. */
  function reportOf(result: MergeResult, left: CartMerge['left']): { report: CartMerge; guestCartEmpty: boolean } {
    for (const line of result.full) left.push({ ...line, reason: 'CART_FULL' });
    left.sort((a, b) => a.productId - b.productId);
    const capped = [...result.capped].sort((a, b) => a.productId - b.productId);
    return { report: { merged: result.moved, left, capped }, guestCartEmpty: result.guestLinesLeft === 0 };
  }

  /** Refuses `quantity` units of `product` in a line (holding `held`): past MAX_LINE_QUANTITY, the stock, its per-customer cap. */
  function requireLineQuantity(product: Product, held: number, quantity: number): void {
    if (quantity > MAX_LINE_QUANTITY) throw new CartLineQuantityError(product.id, held, quantity, MAX_LINE_QUANTITY);
    if (quantity > product.available) throw new NotEnoughStockForCartError(product.id, quantity, product.available);
    if (product.maxPerCustomer !== null && quantity > product.maxPerCustomer) throw new CartPurchaseLimitError(product.id, product.maxPerCustomer, quantity);
  }

  /**
   * Writes a line of `quantity` units (`add`: adds that many in the Redis script itself, within the line's maximum);
   * the product must be for sale and in stock, and the quantity within its per-customer cap (what the buyer already
   * bought is checkout's to count) and MAX_LINE_QUANTITY. The room, currency and line maximum are checked against the
   * cart as read (to refuse early, with the reason), then again in the Redis script that writes the line, against the
   * cart as it is then (see CartStore.writeLine): changes at once (two tabs, a bundle, a script) cannot take more than
   * the last places nor put two currencies in one cart, and different products added at once in the cart's currency,
   * as adds to one line, never lose to each other. Only a new line the cart's kept currency cannot vouch for (another
   * currency, a cart without one) loses to a change that came first, and checks again.
   */
  async function writeLine(owner: CartOwner, productId: number, quantity: number, add: boolean): Promise<Cart> {
    const product = await catalog.getProduct(productId);
    const maxQuantity = Math.min(MAX_LINE_QUANTITY, product.available, product.maxPerCustomer ?? MAX_LINE_QUANTITY);
    for (let attempt = 1; ; attempt++) {
      const lines = await store.get(owner);
      const held = lines.get(productId) ?? 0;
      requireLineQuantity(product, held, add ? held + quantity : quantity);
      if (!lines.has(productId) && lines.size >= MAX_CART_LINES) throw new CartFullError(MAX_CART_LINES);
      const cartCurrency = await currencyOf(lines);
      if (cartCurrency !== undefined && cartCurrency !== product.currency) throw new CartMixedCurrenciesError(productId, product.currency, cartCurrency);
      const written = await store.writeLine(owner, {
        productId,
        mode: add ? 'add' : 'set',
        quantity,
        maxQuantity,
        maxLines: MAX_CART_LINES,
        currency: product.currency,
        readLines: lines.keys(),
      });
      if (written.status === 'written') break;
      if (written.status === 'full') throw new CartFullError(MAX_CART_LINES);
      if (written.status === 'over') {
        // Other adds to the line came first: the sum with what it holds now is refused as the read one would be.
        requireLineQuantity(product, written.held, written.held + quantity);
        throw new Error(`cart add of product ${productId} refused under ${maxQuantity} units`); // unreachable: one check above refuses it
      }
      if (attempt >= SET_ATTEMPTS) throw new CartBusyError();
    }
    return view(owner);
  }

  return {
    view,

    /**
     * Sets a line's quantity (adding the product if new); the product must be for sale and in stock, and the
     * quantity within its per-customer cap (what the buyer already bought is checkout's to count). The
     * room and currency are checked against the cart as read, and the line is written only while the cart
     * still holds those products (see CartStore.set): two changes at once (two tabs, a script) cannot both
     * take the last place, nor add two currencies to an empty cart. The one that lost checks again.
     */
    async setItem(owner: CartOwner, productId: number, quantity: number): Promise<Cart> {
      return writeLine(owner, productId, quantity, false);
    },

    /**
     * Adds `quantity` units to a line (adding the product if new), in one step: the sum is checked as setItem checks
     * a quantity (stock, per-customer cap, MAX_LINE_QUANTITY, room, currency), the sum made and checked in the Redis
     * script that writes it, so adds at once (two tabs, a burst) all count without trying again.
     */
    async addItem(owner: CartOwner, productId: number, quantity: number): Promise<Cart> {
      return writeLine(owner, productId, quantity, true);
    },

    async removeItem(owner: CartOwner, productId: number): Promise<Cart> {
      await store.remove(owner, productId);
      return view(owner);
    },

    clear: (owner: CartOwner) => store.clear(owner),

    /**
     * Runs `order` (read the cart, place its order, take the ordered lines out) as the cart's only order at the time,
     * on any instance: another order of the same cart meanwhile (another tab, with its own key) is refused with
     * CartOrderInProgressError before it reads the cart, so one cart becomes one order, and its retry finds the
     * cart that order left. The claim is renewed while `order` runs and lapses ORDERING_LEASE_MS after a crash.
     * `order` calls `claim.keep()` when the cart may still hold lines an order placed (its outcome unknown, or its
     * lines not taken out): the claim is then not given back but lapses ORDERING_LEASE_MS after `order` ends, so no
     * other tab orders those lines again meanwhile, and the buyer's retry under the same key finds the order.
     */
    async whileOrdering<T>(owner: CartOwner, order: (claim: OrderingClaim) => Promise<T>): Promise<T> {
      const token = randomUUID();
      if (!(await store.claimOrdering(owner, token, ORDERING_LEASE_MS))) throw new CartOrderInProgressError();
      const renewal = setInterval(() => void store.renewOrdering(owner, token, ORDERING_LEASE_MS).catch(() => undefined), ORDERING_LEASE_MS / 3);
      renewal.unref();
      let kept = false;
      try {
        return await order({
          keep: () => {
            kept = true;
          },
        });
      } finally {
        clearInterval(renewal);
        // Not given back (Redis unreachable): it lapses with its lease.
        if (!kept) await store.releaseOrdering(owner, token).catch(() => undefined);
      }
    },

    /** After the cart was ordered: its ordered lines leave it; a line added or changed meanwhile stays. */
    removeOrdered: (owner: CartOwner, lines: readonly CartLine[]) => store.removeOrdered(owner, lines),

    /**
     * At sign-in or registration: the guest's cart joins the customer's, under the rules adding a product
     * follows. The customer's cart is kept as it is, even a line above a cap lowered since (a product in both: the
     * guest's quantity added, up to MAX_LINE_QUANTITY,
     * the product's per-customer cap and the units in stock); a product sold out and new to the cart stays in the
     * guest cart (OUT_OF_STOCK), as adding it would be refused; a guest line joins when its product is priced in the
     * cart's currency (a line no longer for sale has none and joins as it would stay: not purchasable) and,
     * if the product is new to the cart, while the cart has fewer than MAX_CART_LINES lines (in product
     * order). The rest stays in the guest cart, reported, as are the units a line's maximum cut from the sum
     * (`capped`); `guestCartEmpty` says whether anything is left
     * there (its cookie can then go). Undefined when the guest cart holds nothing.
     * Each line moves once however many sign-ins race (see CartStore.merge); the currency and room are checked
     * against the account cart as read, and the lines move only while it still holds those products (as setItem
     * writes): a line another device adds meanwhile makes the merge check again, so it cannot join a second currency.
     */
    async mergeGuest(guest: `g:${string}`, customerId: number): Promise<{ report: CartMerge; guestCartEmpty: boolean } | undefined> {
      const guestLines = await store.get(guest);
      if (guestLines.size === 0) return undefined;
      // Read once: a retry is for the account cart (its lines, so its currency and room), not for the products.
      const guestProducts: { productId: number; quantity: number; product: Product | undefined }[] = [];
      for (const [productId, quantity] of [...guestLines].sort((a, b) => a[0] - b[0])) guestProducts.push({ productId, quantity, product: await productForSale(productId) });
      for (let attempt = 1; ; attempt++) {
        const accountLines = await store.get(customerId);
        let cartCurrency = await currencyOf(accountLines);
        const movable: { id: number; maxQuantity: number }[] = [];
        const left: CartMerge['left'] = [];
        for (const { productId, quantity, product } of guestProducts) {
          if (product !== undefined && cartCurrency !== undefined && product.currency !== cartCurrency) {
            left.push({ productId, quantity, reason: 'MIXED_CURRENCIES' });
            continue;
          }
          // As adding it would: no more than the units in stock, nor its per-customer cap, which no checkout would take.
          const maxQuantity = product === undefined ? MAX_LINE_QUANTITY : Math.min(MAX_LINE_QUANTITY, product.maxPerCustomer ?? MAX_LINE_QUANTITY, product.available);
          if (maxQuantity === 0 && !accountLines.has(productId)) {
            left.push({ productId, quantity, reason: 'OUT_OF_STOCK' });
            continue;
          }
          cartCurrency ??= product?.currency;
          movable.push({ id: productId, maxQuantity });
        }
        const result = await store.merge(guest, customerId, { products: movable, maxLines: MAX_CART_LINES, ifLines: accountLines.keys(), currency: cartCurrency });
        if (result === undefined) {
          if (attempt >= SET_ATTEMPTS) throw new CartBusyError();
          continue;
        }
        return reportOf(result, left);
      }
    },

    /**
     * Which of these lines cannot be ordered, as the cart shows them (`unavailableReason`: archived, draft, deleted,
     * other_currency), in product order: what stops an order of the cart, all named at once rather than one per attempt.
     */
    async unavailable(lines: readonly CartLine[]): Promise<{ productId: number; status: string }[]> {
      const items = await itemsOf(new Map(lines.map((line) => [line.productId, line.quantity])));
      return items.flatMap((item) => (item.unavailableReason === null ? [] : [{ productId: item.productId, status: item.unavailableReason }]));
    },
    /** The cart's lines for checkout. */
    async lines(owner: CartOwner): Promise<CartLine[]> {
      return [...(await store.get(owner))].map(([productId, quantity]) => ({ productId, quantity }));
    },
  };
}

export type CartService = ReturnType<typeof createCartService>;

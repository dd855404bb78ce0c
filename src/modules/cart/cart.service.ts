import { NotFoundError } from '../../shared/errors.ts';
import type { CatalogService } from '../catalog/index.ts';
import { CartFullError, CartMixedCurrenciesError, NotEnoughStockForCartError } from './cart.errors.ts';
import { MAX_CART_LINES, MAX_LINE_QUANTITY, type Cart } from './cart.schemas.ts';
import type { CartOwner, CartStore } from './cart.store.ts';

/** What checkout takes from a cart. */
export interface CartLine {
  productId: number;
  quantity: number;
}

export function createCartService(deps: { store: CartStore; catalog: CatalogService }) {
  const { store, catalog } = deps;

  async function view(owner: CartOwner): Promise<Cart> {
    const lines = await store.get(owner);
    const items = await Promise.all(
      [...lines].map(async ([productId, quantity]) => {
        try {
          const p = await catalog.getProduct(productId);
          return { productId, quantity, name: p.name, priceCents: p.priceCents, currency: p.currency, available: p.available, purchasable: true };
        } catch {
          // Archived, draft or deleted since it was added: shown, but not purchasable.
          const p = await catalog.getProductForAdmin(productId).catch(() => undefined);
          return { productId, quantity, name: p?.name ?? '', priceCents: p?.priceCents ?? 0, currency: p?.currency ?? '', available: 0, purchasable: false };
        }
      }),
    );
    items.sort((a, b) => a.productId - b.productId);
    const purchasable = items.filter((item) => item.purchasable);
    return {
      items,
      totalCents: purchasable.reduce((sum, item) => sum + item.priceCents * item.quantity, 0),
      currency: purchasable[0]?.currency ?? null,
    };
  }

  /**
   * The currency of the cart's other purchasable lines (they share one, as setItem keeps them), or
   * undefined when it has none: checkout refuses mixed currencies, so the cart refuses them first.
   */
  async function currencyOf(lines: Map<number, number>, except: number): Promise<string | undefined> {
    for (const id of lines.keys()) {
      if (id === except) continue;
      try {
        return (await catalog.getProduct(id)).currency;
      } catch (error) {
        // Archived or removed since it was added: not purchasable, so it sets no currency. Outages propagate.
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    return undefined;
  }

  return {
    view,

    /** Sets a line's quantity (adding the product if new); the product must be for sale and in stock. */
    async setItem(owner: CartOwner, productId: number, quantity: number): Promise<Cart> {
      const product = await catalog.getProduct(productId);
      if (quantity > product.available) throw new NotEnoughStockForCartError(productId, quantity, product.available);
      const lines = await store.get(owner);
      if (!lines.has(productId) && lines.size >= MAX_CART_LINES) throw new CartFullError(MAX_CART_LINES);
      const cartCurrency = await currencyOf(lines, productId);
      if (cartCurrency !== undefined && cartCurrency !== product.currency) throw new CartMixedCurrenciesError(productId, product.currency, cartCurrency);
      await store.set(owner, productId, quantity);
      return view(owner);
    },

    async removeItem(owner: CartOwner, productId: number): Promise<Cart> {
      await store.remove(owner, productId);
      return view(owner);
    },

    clear: (owner: CartOwner) => store.clear(owner),

    /** At sign-in: the guest's cart joins the customer's, once (see CartStore.merge). */
    mergeGuest: (guest: `g:${string}`, customerId: number) => store.merge(guest, customerId, MAX_LINE_QUANTITY),

    /** The cart's lines for checkout. */
    async lines(owner: CartOwner): Promise<CartLine[]> {
      return [...(await store.get(owner))].map(([productId, quantity]) => ({ productId, quantity }));
    },
  };
}

export type CartService = ReturnType<typeof createCartService>;

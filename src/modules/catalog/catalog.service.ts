import { isSingleLine } from '../../lib/single-line.ts';
import { chargeableStep } from '../../lib/minor-units.ts';
import { createIdCursor, InvalidCursorError } from '../../shared/cursor.ts';
import { IdempotencyKeyReusedError, NameNotSingleLineError } from '../../shared/errors.ts';
import { getCreatedFields, getDeletedFields, getFieldChanges, type FieldChanges } from '../../shared/field-changes.ts';
import type { Cache } from '../../platform/cache/cache.ts';
import type { Database, Db } from '../../platform/db/client.ts';
import type { ReplicaReads } from '../../platform/db/replica-reads.ts';
import { isStillReferenced, PG_FOREIGN_KEY_VIOLATION, PG_UNIQUE_VIOLATION, pgError } from '../../platform/db/errors.ts';
import {
  CategoryCycleError,
  CategoryInUseError,
  CategoryNotFoundError,
  CurrencyRequiredError,
  InvalidPriceRangeError,
  PriceNotChargeableError,
  PriceRequiredError,
  ProductNameLengthError,
  ProductNotFoundError,
  SkuTakenError,
  SlugTakenError,
  StockOutOfRangeError,
  UnknownCategoryError,
  UnknownCurrencyError,
} from './catalog.errors.ts';
import type { AuditedProductFields, CatalogRepository, ProductWrite } from './catalog.repository.ts';
import { MAX_STOCK, PRODUCT_NAME_MAX } from './catalog.limits.ts';
import type { AdminListProductsQuery, AdminProduct, Category, CreateCategoryBody, CreateProductBody, ListProductsQuery, Product, UpdateCategoryBody, UpdateProductBody } from './catalog.schemas.ts';

export interface CatalogTtls {
  productS: number;
  popularS: number;
  categoriesS: number;
}

/**
 * Live stock, kept by checkout outside the catalog (the inventory module's stock gate). Cached
 * products are cached without it: the figure a reply shows is overlaid per request, so it follows
 * sales within the view's refresh interval instead of a cache TTL.
 */
export interface StockView {
  /** Current available units of the products the view knows; the others keep the database figure. */
  peek(productIds: readonly number[]): Promise<Map<number, number>>;
  /** Tells the view that stock changed outside checkout (an admin set it). */
  invalidate(productId: number): Promise<void>;
}

export interface CatalogServiceDeps {
  db: Database;
  cache: Cache;
  /** Read per call so that a degrade mode can lengthen them at run time. */
  ttls: () => CatalogTtls;
  stock?: StockView;
  repo: CatalogRepository;
  /** Where stock is written, and its initial count read: the inventory module's repository. */
  inventory: CatalogStock;
  /** The units orders awaiting payment hold, which the admin product shows: the orders module's `getUnitsHeldByUnpaidOrders`. */
  held: UnpaidOrderHolds;
  /** Cache fills read the replica only once it has replayed the catalog's writes; without it, always the replica. */
  replicaReads?: ReplicaReads;
}

/**
 * The inventory operations the catalog uses: the stock it writes when it creates a product or an admin sets or
 * adjusts it, and the one read it needs, the stock a product was created with (a create sent again compares it).
 */
export interface CatalogStock {
  create(db: Db, productId: number, available: number): Promise<void>;
  /** The stock the product was created with; undefined when it was not recorded (products older than the record). */
  initial(db: Db, productId: number): Promise<number | undefined>;
  /** Sets the count; returns the one it replaced, read under the stock's lock. */
  set(db: Db, productId: number, available: number): Promise<{ before: number }>;
  /** Adds `delta` units under the stock's lock, once per (product, key); see the inventory repository. */
  adjust(
    db: Db,
    input: { productId: number; key: string; delta: number; max: number },
  ): Promise<{ kind: 'applied' | 'replayed' | 'out-of-range'; before: number; after: number } | { kind: 'key-reused' } | { kind: 'not-found' }>;
}

/**
 * Units of each product held by orders awaiting payment (absent: none), read with the caller's connection or
 * transaction. The orders module owns those lines; the catalog only shows the figure beside the stock.
 */
export type UnpaidOrderHolds = (db: Db, productIds: readonly number[]) => Promise<Map<number, number>>;

/** A page of the product listing. */
export interface ProductListPage {
  items: Product[];
  nextCursor: string | null;
}

/** A page of the admin listing. */
export interface AdminProductListPage {
  items: AdminProduct[];
  nextCursor: string | null;
}

export const CATALOG_TAGS = {
  products: 'products',
  categories: 'categories',
  product: (id: number) => `product:${id}`,
};

/**
 * The shape of the cached products, in their keys: an instance of a release whose Product has other fields
 * never reads another release's entries during a rolling deploy (a missing field would fail the reply's
 * serialization). Bump it when Product gains or loses a field. Tags are shared, so writes on either
 * release invalidate both.
 */
/** What a product create records in the admin audit trail, null → value: its identity, the audited fields, its initial stock. */
const PRODUCT_CREATED_FIELDS = ['sku', 'name', 'categoryId', 'priceCents', 'currency', 'status', 'maxPerCustomer', 'available'] as const;
/** A category's audited fields (create, update, delete). */
const CATEGORY_FIELDS = ['slug', 'name', 'parentId'] as const;

const SHAPE = 's2';

/** List queries are cached briefly: the product tag invalidates them on every catalog write anyway. */
const LIST_TTL_S = 60;

const cursor = createIdCursor('after', 0);
/** The admin listing's cursor: newest first, so it names the id the next page is below (not a public listing's cursor). */
const adminCursor = createIdCursor('before', 1);

/**
 * Codes of the runtime's ICU currency list that no payment can be taken in, as ISO 4217's maintenance agency (SIX,
 * "List One: Current currency & funds" and its amendments) records them: ICU keeps a withdrawn currency for old data.
 * Withdrawn: HRK (kuna, euro from 2023-01-01), CUC (Cuban convertible peso, 2021), ZWL (Zimbabwe dollar, ZWG from
 * 2024-06-25), ANG (Netherlands Antillean guilder, XCG from 2025-03-31), BGN (lev, euro from 2026-01-01), SLL (old
 * leone, redenominated to SLE in 2022, not legal tender since 2023-12-31).
 * Review on each Node upgrade (its ICU adds and drops codes; catalog.currencies.test.ts pins the list it ships and
 * fails when it changes) and on each ISO 4217 amendment.
 */
const WITHDRAWN_CURRENCIES = new Set(['HRK', 'CUC', 'ZWL', 'ANG', 'BGN', 'SLL']);
/**
 * X codes are ISO 4217's codes for what is not a national currency: units of account (XDR, the IMF's SDR; XSU, the
 * SUCRE; XUA, …), precious metals, testing (XTS) and no currency (XXX). These are currencies shoppers pay in:
 * the CFA francs, the East Caribbean dollar, the Caribbean guilder and the CFP franc.
 */
const X_CURRENCIES_IN_USE = new Set(['XAF', 'XOF', 'XCD', 'XCG', 'XPF']);

/** The ISO 4217 currencies in use (the runtime's ICU list, less the above): the schema only checks a code's shape. */
const CURRENCIES = new Set(
  Intl.supportedValuesOf('currency').filter((code) => !WITHDRAWN_CURRENCIES.has(code) && (!code.startsWith('X') || X_CURRENCIES_IN_USE.has(code))),
);

/**
 * Whether an update keeps a field as the product has it: not sent, or sent as stored. An update (an admin form, a PIM
 * sync sending the whole product back) resending a value stored before a rule was tightened changes nothing of it,
 * so the rule is not checked on it: a withdrawn currency a product is priced in, a name migration 0034 left past
 * the limit once in NFC. `stored` is undefined on a create, where nothing is kept.
 */
function kept<T>(sent: T | undefined, stored: T | undefined): boolean {
  return sent === undefined || (stored !== undefined && sent === stored);
}

/** Refuses setting a product to a currency not in use; `current` is the product's own (on an update), which it keeps. */
function requireKnownCurrency(currency: string | undefined, current?: string): void {
  if (currency !== undefined && !kept(currency, current) && !CURRENCIES.has(currency)) throw new UnknownCurrencyError(currency);
}

/**
 * Refuses a price sent (`priceCents`, in `currency`: the one sent, else the product's) that card payments cannot charge
 * exactly (`chargeableStep`). A stored price is not checked again when the update leaves it as it is: the same number
 * in the same currency (`stored`, the product's own on an update; see `kept`).
 */
function requireChargeablePrice(priceCents: number | undefined, currency: string, stored?: { priceCents: number; currency: string }): void {
  if (priceCents === undefined) return;
  if (stored && kept(priceCents, stored.priceCents) && kept(currency, stored.currency)) return;
  const step = chargeableStep(currency);
  if (priceCents % step !== 0) throw new PriceNotChargeableError(currency, priceCents, step);
}

/**
 * Refuses an update changing a product's currency without its price: `priceCents` counts the currency's minor unit (a
 * cent, a whole yen, a thousandth of a dinar), so the number kept under another currency is another price.
 */
function requirePriceWithCurrency(body: { currency?: string; priceCents?: number }, stored: { currency: string }): void {
  if (body.currency !== undefined && !kept(body.currency, stored.currency) && body.priceCents === undefined) {
    throw new PriceRequiredError(body.currency, stored.currency);
  }
}

export function encodeCursor(lastId: number): string {
  return cursor.encode(lastId);
}

export function decodeCursor(text: string): number {
  const after = cursor.decode(text);
  if (after === undefined) throw new InvalidCursorError();
  return after;
}

/**
 * A product's name as stored: in Unicode NFC, so that a name pasted decomposed (NFD, as macOS and some PIM exports
 * write "e" + U+0300) and a query typed composed are the same text to the name search (and the other way round).
 * Its length limit holds for that form (the schema counted the name as sent, up to `PRODUCT_NAME_INPUT_MAX`): 400
 * `VALIDATION_FAILED` past it.
 * `current` is the product's own name (on an update): resent as stored, it is kept (see `kept`), not written again, and
 * not checked: one stored before a rule (a line break) stays.
 */
function nfcName<T extends { name?: string }>(body: T, current?: string): T {
  if (body.name === undefined) return body;
  if (kept(body.name, current)) {
    const { name: _name, ...rest } = body;
    return rest as T;
  }
  // One line, no bidi override: the create's schema checked it, the update's leaves it here (see `SINGLE_LINE`).
  requireSingleLineName(body.name);
  const name = body.name.normalize('NFC');
  if ([...name].length > PRODUCT_NAME_MAX) throw new ProductNameLengthError(PRODUCT_NAME_MAX);
  return { ...body, name };
}

/**
 * Refuses a name set anew (`stored`: the row's own, kept when resent as it is, see `kept`) that is not one line or holds
 * a bidi override: 400 VALIDATION_FAILED at /name, as the create's schema answers it (`SINGLE_LINE`).
 */
function requireSingleLineName(name: string | undefined, stored?: string): void {
  if (name !== undefined && !kept(name, stored) && !isSingleLine(name)) throw new NameNotSingleLineError();
}

/** Whether `product` is what `body` creates (every field as asked, the SKU as typed; the stock may have moved since). */
function isCreatedFrom(product: Product, body: CreateProductBody): boolean {
  return (
    product.sku === body.sku &&
    product.name === body.name &&
    product.description === (body.description ?? '') &&
    product.priceCents === body.priceCents &&
    product.currency === (body.currency ?? 'USD') &&
    product.categoryId === (body.categoryId ?? null) &&
    product.status === (body.status ?? 'active') &&
    product.maxPerCustomer === (body.maxPerCustomer ?? null)
  );
}

export function createCatalogService(deps: CatalogServiceDeps) {
  const { db, cache } = deps;
  const { repo, inventory } = deps;
  /** Where a cache fill reads: the replica, or the primary while the replica has not replayed the last write. */
  const { replicaReads } = deps;
  const reader = async () => (replicaReads ? replicaReads.reader() : db.replica);
  /** After a committed write: its position is recorded before the entries go stale, so no fill after that misses it. */
  async function changed(tags: string[]): Promise<void> {
    await replicaReads?.wrote();
    await cache.invalidateTags(tags);
  }

  async function withLiveStock<T extends Product>(items: T[]): Promise<T[]> {
    if (!deps.stock || items.length === 0) return items;
    let live: Map<number, number>;
    try {
      live = await deps.stock.peek(items.map((p) => p.id));
    } catch {
      return items; // the cached figure is still a good answer for browsing
    }
    return items.map((p) => {
      const available = live.get(p.id);
      if (available === undefined || available === p.available) return p;
      const last = liveCopies.get(p) as T | undefined;
      if (last?.available === Math.max(0, available)) return last;
      const copy = { ...p, available: Math.max(0, available) };
      liveCopies.set(p, copy);
      return copy;
    });
  }

  /*
   * Answers built from cached values stay the same objects while the cached value is the same object
   * and its live figure has not moved, so the routes reuse their JSON (`createReplyBytes`): the last
   * copy of each cached product with its live figure, and the last answer built from each cached page.
   */
  const liveCopies = new WeakMap<Product, Product>();
  const livePages = new WeakMap<ProductListPage, ProductListPage>();
  async function withLivePage(page: ProductListPage): Promise<ProductListPage> {
    const items = await withLiveStock(page.items);
    const last = livePages.get(page);
    if (last !== undefined && last.items.length === items.length && last.items.every((item, i) => item === items[i])) return last;
    const answer = { ...page, items };
    livePages.set(page, answer);
    return answer;
  }

  async function categoriesCached(): Promise<Category[]> {
    return cache.getOrSet('categories:all', async () => repo.listCategories(await reader()), {
      ttlSeconds: deps.ttls().categoriesS,
      tags: [CATALOG_TAGS.categories],
    });
  }

  /** The currencies active products are priced in, sorted; cached as a listing is (any product write invalidates it). */
  async function activeCurrenciesCached(): Promise<string[]> {
    return cache.getOrSet(`products:${SHAPE}:currencies`, async () => repo.listActiveCurrencies(await reader()), {
      ttlSeconds: Math.min(LIST_TTL_S, deps.ttls().productS),
      tags: [CATALOG_TAGS.products],
      name: 'products-currencies',
    });
  }

  /**
   * The listing's currency rules. A `currency` filter is checked as a product's currency is (`CURRENCIES`), except that
   * one active products are still priced in (a withdrawn currency they kept) finds them. A price range counts one
   * currency's minor unit, so without a `currency` it is refused while active products use several: in a shop priced
   * in one currency it means what it always meant, and no client of such a shop has to send one.
   */
  async function requireListingCurrency(query: ListProductsQuery): Promise<void> {
    if (query.currency !== undefined) {
      if (!CURRENCIES.has(query.currency) && !(await activeCurrenciesCached()).includes(query.currency)) throw new UnknownCurrencyError(query.currency);
      return;
    }
    if (query.minPrice === undefined && query.maxPrice === undefined) return;
    const inUse = await activeCurrenciesCached();
    if (inUse.length > 1) throw new CurrencyRequiredError(inUse);
  }

  /** The category and all its descendants, so a filter on "electronics" includes "laptops". */
  function withDescendants(all: Category[], rootId: number): number[] {
    // A set, not a list: a cycle in the stored tree (which writes refuse) must still end the walk.
    const ids = new Set([rootId]);
    for (const id of ids) {
      for (const c of all) if (c.parentId === id) ids.add(c.id);
    }
    return [...ids];
  }

  function productCached(id: number): Promise<Product | null> {
    return cache.getOrSet(`product:${SHAPE}:${id}`, async () => (await repo.findById(await reader(), id)) ?? null, {
      ttlSeconds: deps.ttls().productS,
      tags: [CATALOG_TAGS.product(id)],
    });
  }

  async function invalidateProduct(id: number): Promise<void> {
    await changed([CATALOG_TAGS.product(id), CATALOG_TAGS.products]);
  }

  /**
   * After a committed write that decides what checkout may sell (a status, a stock count): the caches and the stock
   * gate re-read the product. The write is done, so a Redis failure here must not fail the reply (a 503 told the admin
   * it had not happened, and kept it out of the audit trail): the cache retries its invalidation and the gate sends
   * its own again until Redis answers (`StockGate.invalidate`).
   */
  async function invalidateProductAndStock(id: number): Promise<void> {
    await Promise.all([invalidateProduct(id), deps.stock?.invalidate(id)]).catch(() => undefined);
  }

  /**
   * The product a write just changed, read in the write's own transaction: the reply of a write PostgreSQL committed
   * must not depend on a read after the commit, which a full pool (503 DATABASE_BUSY) or a lost connection can
   * refuse, telling the admin it was not done and keeping it out of the audit trail while it was. `held`: the units
   * unpaid orders hold, when the write read them before it took its locks (see `heldBeforeLocking`).
   */
  async function readBack(tx: Db, id: number, held?: Map<number, number>): Promise<AdminProduct> {
    const product = await repo.findById(tx, id);
    if (!product) throw new ProductNotFoundError(id);
    if (held) return { ...product, heldByUnpaidOrders: held.get(id) ?? 0 };
    return (await withHeld(tx, [product]))[0]!;
  }

  /**
   * The units unpaid orders hold of `id`, for a stock write to read in its transaction before it locks the stock rows:
   * checkout waits on those locks, and the read goes through every order awaiting payment (a sale's thousands), so it
   * is not made while a hot product's checkouts queue behind the admin's restock.
   */
  function heldBeforeLocking(tx: Db, id: number): Promise<Map<number, number>> {
    return deps.held(tx, [id]);
  }

  /** The admin's products: each with the units orders awaiting payment hold, read on `db` (one query for them all). */
  async function withHeld(db: Db, items: Product[]): Promise<AdminProduct[]> {
    const held = await deps.held(db, items.map((p) => p.id));
    return items.map((p) => ({ ...p, heldByUnpaidOrders: held.get(p.id) ?? 0 }));
  }

  async function requireProduct(id: number): Promise<Product> {
    const product = await repo.findById(db.primary, id);
    if (!product) throw new ProductNotFoundError(id);
    return product;
  }

  function translateProductWriteError(error: unknown, sku: string | undefined, categoryId: number | null | undefined): never {
    const pg = pgError(error);
    if (pg?.code === PG_UNIQUE_VIOLATION && sku !== undefined) throw new SkuTakenError(sku);
    if (pg?.code === PG_FOREIGN_KEY_VIOLATION && categoryId != null) throw new UnknownCategoryError(categoryId);
    throw error;
  }

  return {
    async listProducts(query: ListProductsQuery): Promise<ProductListPage> {
      if (query.minPrice !== undefined && query.maxPrice !== undefined && query.minPrice > query.maxPrice) {
        throw new InvalidPriceRangeError(query.minPrice, query.maxPrice);
      }
      await requireListingCurrency(query);
      // A cursor names the last id a page returned, whatever the filter: passed with another filter, it pages on after
      // that id (as with `category`, `q` or a price range).
      const afterId = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      // Names are stored in NFC (see `nfcName`): the query is too, so a decomposed "Cre\u0300me" finds "Crème". Trimmed,
      // as the storefront's: a query pasted with blanks around it still finds the name, and an all-blank one is no filter.
      const q = query.q?.normalize('NFC').trim() || undefined;
      let categoryIds: number[] | undefined;
      if (query.category !== undefined) {
        const all = await categoriesCached();
        const root = all.find((c) => c.slug === query.category);
        if (!root) throw new UnknownCategoryError(query.category);
        categoryIds = withDescendants(all, root.id);
      }
      const key = `products:${SHAPE}:list:${JSON.stringify([categoryIds, query.currency, query.minPrice, query.maxPrice, q, afterId, query.limit])}`;
      return cache.getOrSet(
        key,
        async () => {
          const rows = await repo.listActive(await reader(), { ...query, q, categoryIds, afterId, limit: query.limit + 1 });
          const items = rows.slice(0, query.limit);
          const nextCursor = rows.length > query.limit ? encodeCursor(items[items.length - 1]!.id) : null;
          return { items, nextCursor };
        },
        { ttlSeconds: Math.min(LIST_TTL_S, deps.ttls().productS), tags: [CATALOG_TAGS.products], name: 'products-list' },
      ).then(withLivePage);
    },

    async listPopular(limit: number): Promise<Product[]> {
      const top = await cache.getOrSet(`products:${SHAPE}:popular`, async () => repo.listPopular(await reader(), 100), {
        ttlSeconds: deps.ttls().popularS,
        tags: [CATALOG_TAGS.products],
      });
      return withLiveStock(top.slice(0, limit));
    },

    /** The public view: only active products exist for shoppers. */
    async getProduct(id: number): Promise<Product> {
      const product = await productCached(id);
      if (product?.status !== 'active') throw new ProductNotFoundError(id);
      return (await withLiveStock([product]))[0]!;
    },

    /**
     * A product whatever its status, from the cache (the entry getProduct reads): for what a shopper already
     * holds, such as a cart line whose product was archived since. Its stock is the cached figure. Undefined
     * when it does not exist.
     */
    async findProduct(id: number): Promise<Product | undefined> {
      return (await productCached(id)) ?? undefined;
    },

    /** The admin view: any status, always from the primary (read-your-writes), with the units unpaid orders hold. */
    async getProductForAdmin(id: number): Promise<AdminProduct> {
      return (await withHeld(db.primary, [await requireProduct(id)]))[0]!;
    },

    /**
     * The admin listing: every product whatever its status (`status` narrows it), newest first, keyset-paged, from the
     * primary and uncached as the admin view (read-your-writes), with the units unpaid orders hold (one query per page).
     * `q` is trimmed and in NFC, as the public search's.
     */
    async listProductsForAdmin(query: AdminListProductsQuery): Promise<AdminProductListPage> {
      let beforeId: number | undefined;
      if (query.cursor !== undefined) {
        beforeId = adminCursor.decode(query.cursor);
        if (beforeId === undefined) throw new InvalidCursorError();
      }
      const q = query.q?.normalize('NFC').trim() || undefined;
      const rows = await repo.listForAdmin(db.primary, { status: query.status, q, beforeId, limit: query.limit + 1 });
      const items = rows.slice(0, query.limit);
      const nextCursor = rows.length > query.limit ? adminCursor.encode(items[items.length - 1]!.id) : null;
      return { items: await withHeld(db.primary, items), nextCursor };
    },

    /**
     * Creates a product. The same create sent again (its reply lost to a timeout, a double click) finds the product it
     * made under the SKU with every field as asked, `available` included (the stock it was created with), and answers
     * it with `replayed`, its stock left as it is now (units may have sold); another product under the SKU, or a
     * create asking for another initial stock, is 409 `SKU_TAKEN`, naming the product that holds it. `change`: what the
     * create made (PRODUCT_CREATED_FIELDS null → value, as its transaction read it back); none for a create sent again.
     */
    async createProduct(asSent: CreateProductBody): Promise<{ product: AdminProduct; replayed: boolean; change?: FieldChanges }> {
      requireKnownCurrency(asSent.currency);
      requireChargeablePrice(asSent.priceCents, asSent.currency ?? 'USD');
      const body = nfcName(asSent);
      const { available = 0, ...values } = body;
      let product: AdminProduct;
      try {
        product = await db.primary.transaction(async (tx) => {
          const created = await repo.insert(tx, values);
          await inventory.create(tx, created, available);
          return readBack(tx, created);
        });
      } catch (error) {
        if (pgError(error)?.code === PG_UNIQUE_VIOLATION) {
          const holder = await repo.findBySku(db.primary, body.sku);
          if (holder && isCreatedFrom(holder, body)) {
            // The initial stock is part of the create: the one sent again asks for the stock it first asked for.
            const initial = await inventory.initial(db.primary, holder.id);
            if (initial === undefined || initial === available) return { product: (await withHeld(db.primary, [holder]))[0]!, replayed: true };
          }
          throw new SkuTakenError(body.sku, holder?.id);
        }
        translateProductWriteError(error, body.sku, body.categoryId);
      }
      await invalidateProduct(product.id);
      return { product, replayed: false, change: getCreatedFields(product, PRODUCT_CREATED_FIELDS) };
    },

    /** Updates a product; `change` has its name, category, price, currency, status and per-buyer cap before → after, for those the update named and changed. */
    async updateProduct(id: number, body: UpdateProductBody | ProductWrite): Promise<{ product: AdminProduct; change: FieldChanges }> {
      let written: { before: AuditedProductFields; product: AdminProduct } | undefined;
      try {
        written = await db.primary.transaction(async (tx) => {
          // Checked against the product's currency and name, under its row's lock: keeping a value is not setting it.
          const before = await repo.update(tx, id, (stored) => {
            requireKnownCurrency(body.currency, stored.currency);
            requirePriceWithCurrency(body, stored);
            requireChargeablePrice(body.priceCents, body.currency ?? stored.currency, stored);
            return nfcName(body, stored.name);
          });
          return before && { before, product: await readBack(tx, id) };
        });
      } catch (error) {
        translateProductWriteError(error, undefined, body.categoryId);
      }
      if (!written) throw new ProductNotFoundError(id);
      const { before, product } = written;
      // A status change decides whether checkout may sell it: the stock gate re-reads it.
      await (body.status === undefined ? invalidateProduct(id) : invalidateProductAndStock(id));
      return { product, change: getFieldChanges(body, before, product, ['name', 'categoryId', 'priceCents', 'currency', 'status', 'maxPerCustomer']) };
    },

    async archiveProduct(id: number): Promise<{ product: AdminProduct; change: FieldChanges }> {
      return this.updateProduct(id, { status: 'archived' });
    },

    /** Sets the stock count; `change.available` is the count it replaced (read under the stock rows' lock) → the new one, when they differ. */
    async setStock(id: number, available: number): Promise<{ product: AdminProduct; change: FieldChanges }> {
      await requireProduct(id);
      const { before, product } = await db.primary.transaction(async (tx) => {
        const held = await heldBeforeLocking(tx, id);
        return { ...(await inventory.set(tx, id, available)), product: await readBack(tx, id, held) };
      });
      await invalidateProductAndStock(id);
      return { product, change: getFieldChanges({ available }, { available: before }, { available }, ['available']) };
    },

    /**
     * Adds `delta` units (negative: removes them) to the stock as it is at that moment, under the stock rows' lock:
     * the units checkout takes meanwhile stay taken. Once per (product, `key`): a retry gets the product with
     * `replayed`, and nothing is added again. 409 `STOCK_OUT_OF_RANGE` when the result would leave 0–MAX_STOCK.
     */
    async adjustStock(id: number, key: string, delta: number): Promise<{ product: AdminProduct; replayed: boolean; change: FieldChanges }> {
      const { adjusted, product } = await db.primary.transaction(async (tx) => {
        const held = await heldBeforeLocking(tx, id);
        const adjusted = await inventory.adjust(tx, { productId: id, key, delta, max: MAX_STOCK });
        return { adjusted, product: adjusted.kind === 'applied' || adjusted.kind === 'replayed' ? await readBack(tx, id, held) : undefined };
      });
      if (adjusted.kind === 'not-found') throw new ProductNotFoundError(id);
      if (adjusted.kind === 'key-reused') throw new IdempotencyKeyReusedError();
      if (adjusted.kind === 'out-of-range') throw new StockOutOfRangeError(id, adjusted.before, delta, MAX_STOCK);
      await invalidateProductAndStock(id);
      const change = { available: { before: adjusted.before, after: adjusted.after } };
      return { product: product!, replayed: adjusted.kind === 'replayed', change };
    },

    async listCategories(): Promise<Category[]> {
      return categoriesCached();
    },

    async getCategory(id: number): Promise<Category> {
      const category = await repo.findCategory(db.primary, id);
      if (!category) throw new CategoryNotFoundError(id);
      return category;
    },

    /** Creates a category; `change` has its slug, name and parent null → value, as the insert returned them. */
    async createCategory(body: CreateCategoryBody): Promise<{ category: Category; change: FieldChanges }> {
      try {
        const category = await repo.insertCategory(db.primary, body);
        if (!category) throw new CategoryCycleError(body.parentId ?? 0, body.parentId ?? 0);
        await changed([CATALOG_TAGS.categories, CATALOG_TAGS.products]);
        return { category, change: getCreatedFields(category, CATEGORY_FIELDS) };
      } catch (error) {
        const pg = pgError(error);
        if (pg?.code === PG_UNIQUE_VIOLATION) throw new SlugTakenError(body.slug);
        if (pg?.code === PG_FOREIGN_KEY_VIOLATION && body.parentId != null) throw new UnknownCategoryError(body.parentId);
        throw error;
      }
    },

    /** Updates a category; `change` has its slug, name and parent before → after, for those the update named and changed. */
    async updateCategory(id: number, body: UpdateCategoryBody): Promise<{ category: Category; change: FieldChanges }> {
      const { parentId } = body;
      let written: { before: Category; category: Category } | undefined;
      try {
        written = await db.primary.transaction(async (tx) => {
          if (parentId != null) {
            // Checked and written under the tree's lock: two moves at once cannot both pass on one tree and make a cycle.
            await repo.lockCategoryTree(tx);
            if (withDescendants(await repo.listCategories(tx), id).includes(parentId)) throw new CategoryCycleError(id, parentId);
          }
          // A name set anew is one line; one stored before the rule, resent as it is, is kept.
          return repo.updateCategory(tx, id, body, (before) => requireSingleLineName(body.name, before.name));
        });
      } catch (error) {
        const pg = pgError(error);
        if (pg?.code === PG_UNIQUE_VIOLATION && body.slug) throw new SlugTakenError(body.slug);
        if (pg?.code === PG_FOREIGN_KEY_VIOLATION && body.parentId != null) throw new UnknownCategoryError(body.parentId);
        throw error;
      }
      if (!written) throw new CategoryNotFoundError(id);
      await changed([CATALOG_TAGS.categories, CATALOG_TAGS.products]);
      const { before, category } = written;
      return { category, change: getFieldChanges(body, before, category, CATEGORY_FIELDS) };
    },

    /** Deletes a category nothing refers to; `change` has its slug, name and parent → null, as the delete removed them. */
    async deleteCategory(id: number): Promise<{ change: FieldChanges }> {
      let deleted: Category | undefined;
      try {
        deleted = await repo.deleteCategory(db.primary, id);
      } catch (error) {
        if (isStillReferenced(pgError(error))) throw new CategoryInUseError(id);
        throw error;
      }
      if (!deleted) throw new CategoryNotFoundError(id);
      await changed([CATALOG_TAGS.categories, CATALOG_TAGS.products]);
      return { change: getDeletedFields(deleted, CATEGORY_FIELDS) };
    },
  };
}

export type CatalogService = ReturnType<typeof createCatalogService>;

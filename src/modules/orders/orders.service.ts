import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from '../../platform/db/client.ts';
import { PG_RAISE_EXCEPTION, PG_UNIQUE_VIOLATION, pgError } from '../../platform/db/errors.ts';
import { StockGateUnavailableError, type StockGate } from '../inventory/index.ts';
import {
  CancelWindowClosedError,
  InvalidDateRangeError,
  OrderNotCancellableError,
  CheckoutUnavailableError,
  MixedCurrenciesError,
  OrderNotFoundError,
  OutOfStockError,
  PriceChangedError,
  ProductUnavailableError,
  PurchaseLimitExceededError,
  LineQuantityTooLargeError,
  TooManyOrderLinesError,
  UnknownProductError,
  UnknownSaleEventError,
} from './orders.errors.ts';
import { currentTraceContext, ORDER_ATTRIBUTES, outsideTrace, setSpanAttributes } from '../../platform/telemetry/trace-context.ts';
import type { OrderPlacer } from './order-batcher.ts';
import type { CheckoutMetrics } from './orders.metrics.ts';
import type { AdminOrderFilters, ExpectedTotal, OrderLine, OrdersRepository } from './orders.repository.ts';
import { MAX_ORDER_LINE_QUANTITY, MAX_ORDER_LINES } from './orders.limits.ts';
import type { AdminOrderDetail, Order } from './orders.schemas.ts';
import { answerOnly, IdempotencyKeyReusedError, isRefusal, noEffect } from '../../shared/errors.ts';
import type { FieldChanges } from '../../shared/field-changes.ts';

/** Per-process memory of recent gate refusals (see the inventory module's stock view). */
export interface StockHints {
  knownShortages(lines: readonly OrderLine[]): { productId: number; requested: number; available: number }[] | undefined;
  /** Records a gate's refusal figure, unless an invalidation came since `since` (`generation()` before the reserve). */
  remember(productId: number, available: number, since?: number): void;
  /** The view's invalidation counter, taken before a call whose answer is remembered. */
  generation?(): number;
  /** A refusal remembered for a product of these lines that is not for sale (see `rememberRefusal`). */
  knownRefusal?(lines: readonly OrderLine[]): Error | undefined;
  /** Records PostgreSQL's refusal of a product not for sale (archived, draft), answered from memory for a while. */
  rememberRefusal?(productId: number, refusal: Error, since?: number): void;
}

export interface OrderServiceDeps {
  db: Database;
  gate: StockGate;
  repo: OrdersRepository;
  /**
   * The guest record of an email, if an earlier guest order wrote one (undefined: none); none is created. The customers
   * module's own lookup (`CustomerService.existingGuestId`), not a second copy of its query here.
   */
  guestCustomerId: (email: string) => Promise<number | undefined>;
  /** How orders reach PostgreSQL (a batcher; `maxBatch: 1` places each order on its own). */
  placer: OrderPlacer;
  hints?: StockHints;
  metrics: CheckoutMetrics;
  logger: Logger;
  /** Idempotency keys older than this may be reused for a new order. */
  idempotencyRetentionS: number;
  cancelWindowS: number;
  clock?: () => number;
  /** Limits of the reads after a Redis data loss; see `LossLookupLimits`. */
  lossLookups?: LossLookupLimits;
}

/**
 * Who places an order: a customer record (an account's), or a guest's email. A guest's record is written by the
 * statement that places its order (see `PlaceOrderInput.guestEmail`), never before it: a refused checkout writes nothing.
 */
export type Buyer = number | { guestEmail: string };

/** Merges repeated products and sorts by product id (the lock order of every order). */
export function normalizeLines(lines: readonly OrderLine[]): OrderLine[] {
  const merged = new Map<number, number>();
  for (const line of lines) merged.set(line.productId, (merged.get(line.productId) ?? 0) + line.quantity);
  return [...merged].map(([productId, quantity]) => ({ productId, quantity })).sort((a, b) => a.productId - b.productId);
}

/** Whether an order holds exactly these lines (normalized: one per product, in product order). */
function sameLines(items: readonly OrderLine[], lines: readonly OrderLine[]): boolean {
  const ordered = [...items].sort((a, b) => a.productId - b.productId);
  return ordered.length === lines.length && ordered.every((item, i) => item.productId === lines[i]!.productId && item.quantity === lines[i]!.quantity);
}

/** A refusal raised by place_order, as the domain error it stands for. */
function refusalOf(error: unknown): Error | undefined {
  const pg = pgError(error);
  if (pg?.code !== PG_RAISE_EXCEPTION || pg.detail === undefined) return undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the function's DETAIL is a JSON object whose shape depends on the code
  const d = JSON.parse(pg.detail) as Record<string, any>;
  switch (pg.message) {
    case 'OUT_OF_STOCK':
      return new OutOfStockError([{ productId: d.productId, requested: d.requested, available: d.available }]);
    case 'PURCHASE_LIMIT_EXCEEDED':
      return new PurchaseLimitExceededError({
        productId: d.productId,
        limit: d.limit,
        alreadyPurchased: d.alreadyPurchased,
        requested: d.requested,
        saleEventId: d.saleEventId ?? null,
      });
    case 'PRODUCT_UNAVAILABLE':
      return new ProductUnavailableError({ productId: d.productId, status: d.status });
    case 'UNKNOWN_PRODUCT':
      return new UnknownProductError(d.productId);
    case 'MIXED_CURRENCIES':
      return new MixedCurrenciesError(d);
    case 'PRICE_CHANGED':
      return new PriceChangedError({ expectedTotalCents: d.expectedTotalCents, expectedCurrency: d.expectedCurrency, totalCents: d.totalCents, currency: d.currency, items: d.items });
    default:
      return undefined;
  }
}

/** Why an order of these (normalized) lines cannot be placed whatever the stock: too many products, or too many units of one. */
function shapeRefusal(normalized: readonly OrderLine[]): Error | undefined {
  if (normalized.length > MAX_ORDER_LINES) return new TooManyOrderLinesError(MAX_ORDER_LINES, normalized.length);
  const tooMany = normalized.find((line) => line.quantity > MAX_ORDER_LINE_QUANTITY);
  return tooMany ? new LineQuantityTooLargeError(tooMany.productId, tooMany.quantity, MAX_ORDER_LINE_QUANTITY) : undefined;
}

function outcomeOf(error: unknown): 'out_of_stock' | 'limit_exceeded' | 'rejected' | 'error' {
  if (error instanceof OutOfStockError) return 'out_of_stock';
  if (error instanceof PurchaseLimitExceededError) return 'limit_exceeded';
  if (isRefusal(error)) return 'rejected';
  return 'error';
}

/**
 * How long after a Redis data loss (dated by the stock gate on Redis' clock: see `ReserveResult.sinceLossMs`) a keyed
 * sold-out refusal reads PostgreSQL for the order under its key. Not the idempotency retention (24 h): the retries
 * this serves are those of a reply lost to the Redis failure, which come within seconds to minutes of it, whereas
 * every keyed sold-out refusal in the window costs a PostgreSQL read and the window switches off this process's
 * memory of sold-out products (the sold-out hot path), which after a restart during a sale would cost a whole day.
 * A retry later than this after the loss is refused sold out, as before (README, "How an order is placed").
 * Fixed, not configured: it bounds a recovery path, not a tuning knob.
 */
export const LOSS_WINDOW_MS = 10 * 60_000;

/** What a process spends on the reads of the order under a refused key after a Redis data loss (see `place`). */
export interface LossLookupLimits {
  /**
   * Reads at once; the next refusals wait for one to end.
   * @defaultValue 8
   */
  concurrent?: number;
  /**
   * Refusals waiting for a read. Beyond, a refusal is answered as it would be outside the window, without reading, but
   * not kept as its key's result (its next retry reads), and counted (`salescale_checkout_loss_lookups_skipped_total`): a sold-out storm right after a loss must not queue
   * refusals without end, each waiting longer than the last.
   * @defaultValue 64
   */
  queued?: number;
}

const LOSS_LOOKUP_LIMITS: Required<LossLookupLimits> = { concurrent: 8, queued: 64 };
const LOOKUP_SKIPPED = Symbol('lookup skipped');

export function createOrderService(deps: OrderServiceDeps) {
  const { repo, placer } = deps;
  const now = deps.clock ?? Date.now;
  const { db, gate } = deps;

  /** The records a loss may have taken: those of the keyed orders placed within the retention before it. */
  const retentionMs = deps.idempotencyRetentionS * 1000;
  const refusedAfterLoss = new WeakSet<Error>();
  /** Until when this process knows the window open (from the gate's last refusal in it): its memory of refusals is not used. */
  let lossWindowEndsAt = 0;
  /**
   * Per loss (the marker's value), whether Redis could have held a record it lost: an order placed under a key within
   * the retention before it. None (a first deployment, a new Redis prefix, a loss after a quiet day): the refusals read
   * nothing. Asked once per process and loss; a failed read counts as "could have" (the per-key reads then tell).
   */
  const lossesChecked = new Map<number, Promise<boolean>>();
  function couldHaveLostRecords(lossAtMs: number): Promise<boolean> {
    let checked = lossesChecked.get(lossAtMs);
    if (!checked) {
      checked = repo.anyKeyedOrderBetween(db.primary, new Date(lossAtMs - retentionMs), new Date(lossAtMs)).catch(() => true);
      if (lossesChecked.size > 16) lossesChecked.clear();
      lossesChecked.set(lossAtMs, checked);
    }
    return checked;
  }
  const lookupLimits = { ...LOSS_LOOKUP_LIMITS, ...deps.lossLookups };
  let lossLookups = 0;
  const lookupSlots: (() => void)[] = [];
  /** `lookup`'s result, or `skipped` without running it when `queued` refusals already wait. */
  async function withLookupSlot<T, S>(lookup: () => Promise<T>, skipped: S): Promise<T | S> {
    if (lossLookups >= lookupLimits.concurrent) {
      if (lookupSlots.length >= lookupLimits.queued) {
        deps.metrics.lossLookupsSkipped.inc();
        return skipped;
      }
      await new Promise<void>((resolve) => lookupSlots.push(resolve));
    } else lossLookups++;
    try {
      return await lookup();
    } finally {
      const next = lookupSlots.shift();
      if (next) next();
      else lossLookups--;
    }
  }

  /** The buyer's customer record: an account's, or the guest record an earlier order of the email wrote (undefined: none). */
  async function customerIdOf(buyer: Buyer): Promise<number | undefined> {
    return typeof buyer === 'number' ? buyer : deps.guestCustomerId(buyer.guestEmail);
  }

  async function replayByKey(customerId: number, idempotencyKey: string): Promise<Order | undefined> {
    const existing = await repo.findByIdempotencyKey(db.primary, customerId, idempotencyKey);
    if (!existing) return undefined;
    if (now() - Date.parse(existing.createdAt) <= deps.idempotencyRetentionS * 1000) return existing;
    await repo.forgetIdempotencyKey(db.primary, customerId, idempotencyKey);
    return undefined;
  }

  /**
   * The checkout workflow: (1) reserve the units in the stock gate — a sold-out product is refused
   * here, without PostgreSQL; (2) place the order in PostgreSQL, the source of truth, in one
   * statement; (3) confirm the reservation, or release it if step 2 did not commit. The database's
   * unique key on (customer, Idempotency-Key) is the last guard against a second order for one key.
   */
  async function placeOnce(buyer: Buyer, idempotencyKey: string, lines: OrderLine[], expected?: ExpectedTotal): Promise<{ order: Order; replayed: boolean }> {
    // While a Redis data loss is recent, a refusal is the gate's (which says so), not this process's memory.
    const known = now() < lossWindowEndsAt ? undefined : deps.hints?.knownShortages(lines);
    if (known) throw new OutOfStockError(known);
    const unavailable = deps.hints?.knownRefusal?.(lines);
    if (unavailable) throw unavailable;
    const reservation = randomUUID();
    const productIds = lines.map((line) => line.productId);
    // A refusal is remembered only if no invalidation (here or another instance's notice) came while it was asked.
    const since = deps.hints?.generation?.();
    let gateResult: Awaited<ReturnType<StockGate['reserve']>>;
    try {
      gateResult = await gate.reserve(reservation, lines);
    } catch (error) {
      deps.logger.warn({ err: error }, error instanceof StockGateUnavailableError ? 'stock gate could not be rebuilt' : 'stock gate unreachable');
      // The reservation may have been applied although its reply was lost: undo it (a no-op if not).
      await gate.release(reservation, productIds).catch(() => undefined);
      // Before any PostgreSQL statement: no order can have been placed (its retry's outcome is not in doubt).
      throw noEffect(new CheckoutUnavailableError());
    }
    if (!gateResult.ok) {
      const refusal = new OutOfStockError(gateResult.shortages);
      if (gateResult.sinceLossMs < LOSS_WINDOW_MS && (await couldHaveLostRecords(gateResult.lossAtMs))) {
        lossWindowEndsAt = Math.max(lossWindowEndsAt, now() + LOSS_WINDOW_MS - gateResult.sinceLossMs);
        refusedAfterLoss.add(refusal);
        // Not remembered: the memory would answer a retry in the window (it is not read then, but a refusal remembered
        // before the check above, which waits on PostgreSQL, answered the retries arriving meanwhile).
        throw refusal;
      }
      for (const shortage of gateResult.shortages) deps.hints?.remember(shortage.productId, shortage.available, since);
      throw refusal;
    }
    const reserved = gateResult.reserved;

    let placed: Awaited<ReturnType<typeof repo.place>>;
    try {
      const customer = typeof buyer === 'number' ? { customerId: buyer } : { customerId: undefined, guestEmail: buyer.guestEmail };
      placed = await placer.place({ ...customer, lines, idempotencyKey, reservation, traceContext: currentTraceContext(), expected });
    } catch (error) {
      // Not committed (or not known to be): the reservation goes back. If it did commit after all
      // (connection lost at COMMIT), the gate is too generous until its next rebuild: PostgreSQL still refuses.
      if (reserved) await gate.release(reservation, productIds).catch((e: unknown) => deps.logger.warn({ err: e }, 'could not release a stock reservation'));
      const pg = pgError(error);
      if (pg?.code === PG_UNIQUE_VIOLATION && pg.constraint === 'orders_customer_idempotency_key_idx') {
        // The key is taken under the buyer's record, which therefore exists (a guest's, written by an earlier order).
        const customerId = await customerIdOf(buyer);
        const existing = customerId === undefined ? undefined : await replayByKey(customerId, idempotencyKey);
        // Only the same request is replayed: the key's Redis record (which compares the whole request)
        // was lost, so the order row compares what it can, its lines; another request gets a 422, never this order.
        if (existing) {
          if (!sameLines(existing.items, lines)) throw new IdempotencyKeyReusedError();
          return { order: existing, replayed: true };
        }
        return placeOnce(buyer, idempotencyKey, lines, expected);
      }
      const refusal = refusalOf(error);
      if (refusal instanceof ProductUnavailableError) deps.hints?.rememberRefusal?.(Number(refusal.details?.productId), refusal, since);
      // The gate let through units PostgreSQL does not have: its figure is too generous (rebuilt after a Redis
      // failover while orders were still in their statement). Exact, it never is (it is committed stock minus
      // reservations in flight), so it is rebuilt now rather than at its expiry, which kept a sold-out product
      // on offer (its page, the waiting room) and sent every buyer to PostgreSQL for STOCK_GATE_TTL_S.
      if (reserved && refusal instanceof OutOfStockError) {
        await Promise.all(refusal.shortages.map((shortage) => gate.invalidate(shortage.productId))).catch((e: unknown) =>
          deps.logger.warn({ err: e }, 'could not invalidate the stock gate after PostgreSQL refused units it let through'),
        );
      }
      throw refusal ?? error;
    }
    // Bookkeeping only (the units already left the gate's figure; a rebuild forgets committed tokens
    // anyway), so the reply does not wait for it: it shares the next socket write with the
    // idempotency record.
    if (reserved) void outsideTrace(() => gate.confirm(reservation, productIds)).catch((e: unknown) => deps.logger.warn({ err: e }, 'could not confirm a stock reservation'));
    const order = repo.toOrder(
      { id: placed.id, status: 'pending_payment', totalCents: placed.totalCents, currency: placed.currency, createdAt: placed.createdAt, cancelledAt: null, paidAt: null, expiredAt: null },
      placed.items,
    );
    return { order, replayed: false };
  }

  /**
   * The order an Idempotency-Key already placed for this customer (within `idempotencyRetentionS`), for a
   * retry whose request can no longer be compared with it: ordering the cart emptied the cart it ordered. With the
   * retry's `lines`, the order must hold exactly those (as the unique key's replay in `place` checks): an order under
   * the key with other lines is another request's, refused `IdempotencyKeyReusedError`, never answered.
   */
  async function placedUnder(buyer: Buyer, idempotencyKey: string, lines?: readonly OrderLine[]): Promise<Order | undefined> {
    const customerId = await customerIdOf(buyer);
    // A guest without a record placed nothing: the record is written with the email's first order.
    if (customerId === undefined) return undefined;
    const existing = await replayByKey(customerId, idempotencyKey);
    if (existing && lines && !sameLines(existing.items, normalizeLines(lines))) throw new IdempotencyKeyReusedError();
    return existing;
  }

  return {
    /**
     * A refusal this process already knows without asking anyone (the gate refused these units within
     * the last STOCK_VIEW_REFRESH_MS). Not counted here: only once it is the request's answer (`knownRefusalAnswered`),
     * which it is not for the retry of an attempt whose outcome was unknown (that one runs `place`, counted there).
     */
    refuseFromMemory(lines: readonly OrderLine[]): OutOfStockError | undefined {
      // After a Redis data loss the request goes to `place`, whose refusal looks for the order under its key.
      if (now() < lossWindowEndsAt) return undefined;
      const normalized = normalizeLines(lines);
      // An order `place` refuses for its shape gets that refusal (422), whatever this process remembers of the stock.
      if (shapeRefusal(normalized)) return undefined;
      const known = deps.hints?.knownShortages(normalized);
      if (!known) return undefined;
      return new OutOfStockError(known);
    },

    /** Counts the attempt a refusal of `refuseFromMemory` answered (as `place` counts the refusals it throws). */
    knownRefusalAnswered(): void {
      deps.metrics.attempts.inc({ outcome: 'out_of_stock' });
    },

    /**
     * Places an order (see `placeOnce`). An order has at most `MAX_ORDER_LINES` different products, each at most
     * `MAX_ORDER_LINE_QUANTITY` units, whatever its lines come from (a body's `items`, a cart): checked here, after merging repeats. Inside a trace the order's attributes (idempotency key,
     * customer, order id) go on the active span, the request's: a span of its own would repeat the
     * request's duration and cost every traced checkout for nothing a reader needs.
     *
     * `uncertain`: an earlier attempt under this key failed with an unknown outcome (its order may have committed before
     * its connection dropped, taking the last units): the stock gate, checked before PostgreSQL, refuses its retry as
     * sold out. PostgreSQL then answers whether that order exists (see `placedUnder`: only an order of these lines),
     * read only on such a retry's refusal, never on the sold-out refusals of everyone else; if it does, it is replayed and
     * the attempt counted `placed`, as the unique key's replay is, not as the refusal it turned out not to be.
     *
     * The same for a sold-out refusal by the gate within `LOSS_WINDOW_MS` (10 minutes) after Redis lost its data (the gate
     * tells: `sinceLossMs`, read in its own sold-out reply, no extra call): the mark, and the record that would have
     * replayed the order, may have been lost with it, and the gate, rebuilt from PostgreSQL, refuses the retry of an
     * order that took the last units. Every keyed refusal then pays one read of the (customer, key) unique index, a second (the
     * order by id) only when it finds one (`LossLookupLimits`: at most 8
     * at once per process, 64 more wait, beyond that a refusal is answered without reading and not kept under its key, whose
     * next retry reads; so is a refusal whose read failed, logged) and is kept as the key's result as before, so each key reads once; outside the
     * window a sold-out refusal reads nothing, as before. Meanwhile this process answers no refusal from its memory.
     *
     * `expected`: the total and currency the buyer was shown; PostgreSQL refuses the order `PriceChangedError` unless
     * its prices, read in the order's own statement, make exactly these (absent: the order is placed at its prices).
     */
    async place(
      buyer: Buyer,
      idempotencyKey: string,
      lines: readonly OrderLine[],
      options: { uncertain?: boolean; expected?: ExpectedTotal } = {},
    ): Promise<{ order: Order; replayed: boolean }> {
      setSpanAttributes(typeof buyer === 'number' ? { [ORDER_ATTRIBUTES.idempotencyKey]: idempotencyKey, [ORDER_ATTRIBUTES.customerId]: buyer } : { [ORDER_ATTRIBUTES.idempotencyKey]: idempotencyKey });
      try {
        const normalized = normalizeLines(lines);
        const refusal = shapeRefusal(normalized);
        if (refusal) throw refusal;
        const result = await placeOnce(buyer, idempotencyKey, normalized, options.expected).catch(async (error: unknown) => {
          const afterLoss = error instanceof Error && refusedAfterLoss.has(error);
          if (!afterLoss && (!options.uncertain || !isRefusal(error))) throw error;
          if (options.uncertain) {
            const existing = await placedUnder(buyer, idempotencyKey, normalized);
            if (!existing) throw error;
            return { order: existing, replayed: true };
          }
          const existing = await withLookupSlot(() => placedUnder(buyer, idempotencyKey, normalized), LOOKUP_SKIPPED).catch((lookupError: unknown): typeof LOOKUP_SKIPPED => {
            // Another request's key (422) is an answer; a failed read (PostgreSQL slow or down) is not the request's
            // failure: the gate's refusal stands, as outside the window, where the same request reads nothing.
            if (isRefusal(lookupError)) throw lookupError;
            deps.logger.warn({ err: lookupError }, 'could not look for the order under a key refused sold out after a Redis data loss: answered the refusal, not kept under the key');
            return LOOKUP_SKIPPED;
          });
          // Answered without looking (too many waiting, or the read failed): the refusal is not the key's, whose next
          // retry looks.
          if (existing === LOOKUP_SKIPPED) throw answerOnly(error);
          if (!existing) throw error;
          return { order: existing, replayed: true };
        });
        setSpanAttributes({ [ORDER_ATTRIBUTES.orderId]: result.order.id });
        deps.metrics.attempts.inc({ outcome: 'placed' });
        if (!result.replayed) deps.metrics.placed.inc();
        return result;
      } catch (error) {
        deps.metrics.attempts.inc({ outcome: outcomeOf(error) });
        throw error;
      }
    },

    /**
     * The order an Idempotency-Key already placed for this customer (within `idempotencyRetentionS`), for a
     * retry whose request can no longer be compared with it: ordering the cart emptied the cart it ordered. With the
     * retry's `lines`, the order must hold exactly those (as the unique key's replay in `place` checks): an order under
     * the key with other lines is another request's, refused `IdempotencyKeyReusedError`, never answered.
     */
    placedUnder,

    /**
     * The order a cart order's retry replays from PostgreSQL (the cart its first attempt ordered is empty: that attempt
     * emptied it, and the key's record is gone), counted as a `placed` attempt, as `place`'s replays are. Undefined, and
     * not counted, when the key placed nothing (the caller refuses the empty cart).
     */
    async replayCartOrder(customerId: number, idempotencyKey: string): Promise<Order | undefined> {
      const existing = await placedUnder(customerId, idempotencyKey);
      if (existing) deps.metrics.attempts.inc({ outcome: 'placed' });
      return existing;
    },

    /** A guest order (its caller proved access with a signed link); accounts' orders are not served here. */
    async getGuest(id: number): Promise<Order> {
      const order = await repo.findGuest(db.primary, id);
      if (!order) throw new OrderNotFoundError(id);
      return order;
    },

    async get(customerId: number, id: number): Promise<Order> {
      const order = await repo.find(db.primary, id, customerId);
      if (!order) throw new OrderNotFoundError(id);
      return order;
    },

    /** Admin: one order with its buyer and payment summary (no client secret, see listAll). */
    async getAdmin(id: number): Promise<AdminOrderDetail> {
      const order = await repo.findAdmin(db.primary, id);
      if (!order) throw new OrderNotFoundError(id);
      return order;
    },

    /**
     * Admin: every order, newest first, filtered. Without the payments' client secrets: a secret confirms its payment
     * with Stripe.js and is the buyer's alone (Stripe: never to be logged or shown to anyone else), while an admin list
     * ends up in exports, screenshots and support tools.
     */
    async listAll(filters: AdminOrderFilters, beforeId: number | undefined, limit: number): Promise<{ items: Order[]; hasMore: boolean }> {
      // A filter that cannot match anything is refused, not answered "no orders": swapped dates, a mistyped sale event.
      if (filters.from && filters.to && filters.from.getTime() >= filters.to.getTime()) throw new InvalidDateRangeError(filters.from, filters.to);
      if (filters.saleEventId !== undefined && !(await repo.saleEventExists(db.primary, filters.saleEventId))) throw new UnknownSaleEventError(filters.saleEventId);
      const rows = await repo.listAdmin(db.primary, filters, beforeId, limit + 1);
      const items = rows.slice(0, limit).map((order) => {
        if (order.payment.clientSecret === undefined) return order;
        const { clientSecret: _secret, ...payment } = order.payment;
        return { ...order, payment };
      });
      return { items, hasMore: rows.length > limit };
    },

    async list(customerId: number, beforeId: number | undefined, limit: number): Promise<{ items: Order[]; hasMore: boolean }> {
      const rows = await repo.list(db.primary, customerId, beforeId, limit + 1);
      return { items: rows.slice(0, limit), hasMore: rows.length > limit };
    },

    /**
     * Cancels an order and returns its stock exactly once; calling it again answers the cancelled order.
     * `customerId` undefined: an admin, who may cancel any order at any time; with `guest`, the holder of a guest
     * order's link, who may cancel that guest order within the window as a customer may theirs.
     */
    /**
     * Cancels an order waiting for payment; `change` is its status before → after (the update's own condition
     * and its returned row), absent when it was cancelled already.
     */
    async cancel(id: number, customerId: number | undefined, options: { guest?: boolean } = {}): Promise<{ order: Order; change?: FieldChanges }> {
      const guest = options.guest === true;
      const outcome = await repo.cancel(db.primary, { id, customerId, guest, windowS: customerId === undefined && !guest ? undefined : deps.cancelWindowS });
      if (outcome.kind === 'not-found') throw new OrderNotFoundError(id);
      if (outcome.kind === 'window-closed') throw new CancelWindowClosedError(id, deps.cancelWindowS);
      if (outcome.kind === 'wrong-status') throw new OrderNotCancellableError(id, outcome.status);
      if (outcome.kind === 'cancelled') {
        // The stock came back in PostgreSQL: the gate rebuilds from it (exactly, see StockGate).
        await Promise.all(outcome.order.items.map((item) => gate.invalidate(item.productId))).catch((e: unknown) =>
          deps.logger.warn({ err: e }, 'could not invalidate the stock gate after a cancellation'),
        );
        return { order: outcome.order, change: { status: { before: 'pending_payment', after: outcome.order.status } } };
      }
      return { order: outcome.order };
    },
  };
}

export type OrderService = ReturnType<typeof createOrderService>;

import { and, asc, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import { isSingleLine } from '../../lib/single-line.ts';
import type { Database, Db } from '../../platform/db/client.ts';
import { products } from '../catalog/catalog.tables.ts';
import { isStillReferenced, pgError } from '../../platform/db/errors.ts';
import { createIdCursor, InvalidCursorError } from '../../shared/cursor.ts';
import { ConflictError, NameNotSingleLineError, NotFoundError, UnprocessableError } from '../../shared/errors.ts';
import { getCreatedFields, getDeletedFields, getFieldChanges, type FieldChanges } from '../../shared/field-changes.ts';
import type { CreateSaleEventBody, SaleEvent, UpdateSaleEventBody } from './sale-events.schemas.ts';
import { saleEventProducts, saleEvents } from './sale-events.tables.ts';

export class SaleEventNotFoundError extends NotFoundError {
  constructor(id: number) {
    super('sale_event', id);
  }
}

export class InvalidSaleWindowError extends UnprocessableError {
  constructor(startsAt: string, endsAt: string) {
    super('INVALID_SALE_WINDOW', 'endsAt must be after startsAt', { startsAt, endsAt });
  }
}

/**
 * The event has orders: its per-buyer counts (and the admin's filter of its orders) need it. Deleting it would reset
 * every buyer's cap were it re-created; ending it (`endsAt`) stops the sale and keeps both.
 */
export class SaleEventInUseError extends ConflictError {
  constructor(id: number) {
    super('SALE_EVENT_IN_USE', `sale event ${id} has orders: end it instead (set endsAt)`, { id });
  }
}

/** The admin list's keyset cursor: the last id of a page, as the products list's. */
const cursor = createIdCursor('after', 0);

/** A page of the admin list. */
export interface SaleEventPage {
  items: SaleEvent[];
  nextCursor: string | null;
}

export class UnknownProductsError extends UnprocessableError {
  constructor(ids: number[]) {
    super('UNKNOWN_PRODUCT', `products do not exist: ${ids.join(', ')}`, { productIds: ids });
  }
}

type Row = typeof saleEvents.$inferSelect;

function toSaleEvent(row: Row, productIds: number[]): SaleEvent {
  return {
    id: row.id,
    name: row.name,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt.toISOString(),
    trafficMultiplier: row.trafficMultiplier,
    maxPerCustomer: row.maxPerCustomer,
    productIds,
    waitingRoom: { enabled: row.waitingRoomEnabled, admissionPerSecond: row.admissionPerSecond, paused: row.waitingRoomPaused },
  };
}

export function createSaleEventService(deps: { db: Database }) {
  const db = deps.db.primary;

  async function productIdsOf(tx: Db, ids: number[]): Promise<Map<number, number[]>> {
    const map = new Map<number, number[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return map;
    const rows = await tx.select().from(saleEventProducts).where(inArray(saleEventProducts.saleEventId, ids)).orderBy(asc(saleEventProducts.productId));
    for (const row of rows) map.get(row.saleEventId)?.push(row.productId);
    return map;
  }

  /** Lists `productIds` in the event instead of what it listed; returns what it listed before (the rows the delete took), in id order. */
  async function replaceProducts(tx: Db, id: number, productIds: number[]): Promise<number[]> {
    if (productIds.length > 0) {
      const found = await tx.select({ id: products.id }).from(products).where(inArray(products.id, productIds));
      const known = new Set(found.map((r) => r.id));
      const missing = productIds.filter((p) => !known.has(p));
      if (missing.length > 0) throw new UnknownProductsError(missing);
    }
    const removed = await tx.delete(saleEventProducts).where(eq(saleEventProducts.saleEventId, id)).returning({ productId: saleEventProducts.productId });
    if (productIds.length > 0) await tx.insert(saleEventProducts).values(productIds.map((productId) => ({ saleEventId: id, productId })));
    return removed.map((row) => row.productId).sort((a, b) => a - b);
  }

  function checkWindow(startsAt: Date, endsAt: Date): void {
    if (endsAt <= startsAt) throw new InvalidSaleWindowError(startsAt.toISOString(), endsAt.toISOString());
  }

  /** `from`: a transaction to read in (a write's own, to read back what it wrote); the primary otherwise. */
  async function get(id: number, from: Db = db): Promise<SaleEvent> {
    const [row] = await from.select().from(saleEvents).where(eq(saleEvents.id, id));
    if (!row) throw new SaleEventNotFoundError(id);
    return toSaleEvent(row, (await productIdsOf(from, [id])).get(id) ?? []);
  }

  return {
    get: (id: number) => get(id),

    /** The admin list: in id order, keyset-paginated as the products list (`limit` + 1 read to know of a next page). */
    async list(options: { activeAt?: Date; cursor?: string; limit: number }): Promise<SaleEventPage> {
      const afterId = options.cursor === undefined ? undefined : cursor.decode(options.cursor);
      if (options.cursor !== undefined && afterId === undefined) throw new InvalidCursorError();
      const at = options.activeAt;
      const rows = await db
        .select()
        .from(saleEvents)
        .where(and(at ? and(lte(saleEvents.startsAt, at), gt(saleEvents.endsAt, at)) : undefined, afterId === undefined ? undefined : gt(saleEvents.id, afterId)))
        .orderBy(asc(saleEvents.id))
        .limit(options.limit + 1);
      const page = rows.slice(0, options.limit);
      const byEvent = await productIdsOf(db, page.map((r) => r.id));
      return {
        items: page.map((row) => toSaleEvent(row, byEvent.get(row.id) ?? [])),
        nextCursor: rows.length > options.limit ? cursor.encode(page[page.length - 1]!.id) : null,
      };
    },
    /**
     * Events that have not ended before `endedAfter` (live or upcoming at it), earliest start first: the storefront's
     * periodic read, whose size follows the sales planned, not every sale the shop ever ran (`sale_events_ends_at_idx`).
     */
    async listCurrent(endedAfter: Date): Promise<SaleEvent[]> {
      const rows = await db
        .select()
        .from(saleEvents)
        .where(gt(saleEvents.endsAt, endedAfter))
        .orderBy(asc(saleEvents.startsAt), asc(saleEvents.id));
      const byEvent = await productIdsOf(db, rows.map((r) => r.id));
      return rows.map((row) => toSaleEvent(row, byEvent.get(row.id) ?? []));
    },
    /** Events with a waiting room that have not ended before `endedAfter` (for every instance's registry). */
    async listWaitingRooms(endedAfter: Date): Promise<SaleEvent[]> {
      const rows = await db
        .select()
        .from(saleEvents)
        .where(and(eq(saleEvents.waitingRoomEnabled, true), gt(saleEvents.endsAt, endedAfter)))
        .orderBy(asc(saleEvents.startsAt), asc(saleEvents.id));
      const byEvent = await productIdsOf(db, rows.map((r) => r.id));
      return rows.map((row) => toSaleEvent(row, byEvent.get(row.id) ?? []));
    },

    async create(body: CreateSaleEventBody): Promise<{ saleEvent: SaleEvent; change: FieldChanges }> {
      const startsAt = new Date(body.startsAt);
      const endsAt = new Date(body.endsAt);
      checkWindow(startsAt, endsAt);
      const saleEvent = await db.transaction(async (tx) => {
        const [row] = await tx
          .insert(saleEvents)
          .values({
            name: body.name,
            startsAt,
            endsAt,
            trafficMultiplier: body.trafficMultiplier ?? 1,
            maxPerCustomer: body.maxPerCustomer ?? null,
            waitingRoomEnabled: body.waitingRoom?.enabled ?? false,
            admissionPerSecond: body.waitingRoom?.admissionPerSecond ?? null,
            waitingRoomPaused: body.waitingRoom?.paused ?? false,
          })
          .returning({ id: saleEvents.id });
        await replaceProducts(tx, row!.id, body.productIds ?? []);
        // Read back in the insert's transaction: what the create made, for the admin audit trail.
        return get(row!.id, tx);
      });
      const { id: _id, ...fields } = saleEvent;
      return { saleEvent, change: getCreatedFields(fields, Object.keys(fields) as (keyof typeof fields)[]) };
    },

    /**
     * Changes what the PATCH names; `change` has, for each field it named and changed, the value before (read under the row's lock
     * the update takes anyway; the product ids, the rows their replacement deletes) → after (read back under the same lock),
     * for the admin audit trail.
     */
    async update(id: number, body: UpdateSaleEventBody): Promise<{ saleEvent: SaleEvent; change: FieldChanges }> {
      const { current, productsBefore, saleEvent } = await db.transaction(async (tx) => {
        // `NO KEY UPDATE`: an edit changes no key column (never `id`, the only one), so it neither waits for nor holds
        // up the checkouts in flight, whose `place_order` holds `FOR KEY SHARE` on the row (orders.sql); edits, and the
        // waiting room's `withRoomHold`, still take turns on it. A delete takes `FOR UPDATE` (it waits for them).
        const [current] = await tx.select().from(saleEvents).where(eq(saleEvents.id, id)).for('no key update');
        if (!current) throw new SaleEventNotFoundError(id);
        // A name set anew is one line with no bidi override (the create's schema checks it); one stored before the
        // rule, resent as it is (a form sending the whole event back), is kept.
        if (body.name !== undefined && body.name !== current.name && !isSingleLine(body.name)) throw new NameNotSingleLineError();
        const startsAt = body.startsAt ? new Date(body.startsAt) : current.startsAt;
        const endsAt = body.endsAt ? new Date(body.endsAt) : current.endsAt;
        checkWindow(startsAt, endsAt);
        const { productIds, waitingRoom, ...fields } = body;
        // A PATCH changes what it names: an absent rate is kept (a room switched off and on keeps its rate), null is
        // derived; an absent `paused` is kept too.
        const room = waitingRoom
          ? {
              waitingRoomEnabled: waitingRoom.enabled,
              ...(waitingRoom.admissionPerSecond !== undefined && { admissionPerSecond: waitingRoom.admissionPerSecond }),
              ...(waitingRoom.paused !== undefined && { waitingRoomPaused: waitingRoom.paused }),
            }
          : {};
        await tx
          .update(saleEvents)
          .set({ ...fields, ...room, startsAt, endsAt, updatedAt: sql`now()` })
          .where(eq(saleEvents.id, id));
        const productsBefore = productIds ? await replaceProducts(tx, id, productIds) : undefined;
        // Read back in the update's transaction, under its lock, as the create does: read after the commit, another
        // admin's edit committed meanwhile was answered and audited as this one's, and a delete made it a 404.
        return { current, productsBefore, saleEvent: await get(id, tx) };
      });
      const before = toSaleEvent(current, []);
      // The products a live sale caps (and queues): which were listed or taken off, by whom.
      const change = getFieldChanges({ ...body, productIds: productsBefore }, { ...before, productIds: productsBefore }, saleEvent, [
        'name',
        'startsAt',
        'endsAt',
        'trafficMultiplier',
        'maxPerCustomer',
        'waitingRoom',
        'productIds',
      ]);
      return { saleEvent, change };
    },

    /**
     * Deletes an event no order was counted in; `change` has what it was, each field (products included, as the delete
     * found them) before → null, for the admin audit trail: once the row is gone nothing else says which sale was removed. The row is
     * locked first (`FOR UPDATE`, which a delete takes anyway), so its products are read as the delete removes them.
     * The foreign key of `sale_event_buyer_purchases` (restrict) refuses the others, also against an order counted
     * while the delete runs: the count's insert holds a key lock on the event row until its order commits, the lock
     * waits for it and the delete then finds the count.
     */
    async remove(id: number): Promise<{ change: FieldChanges }> {
      try {
        return await db.transaction(async (tx) => {
          const [row] = await tx.select().from(saleEvents).where(eq(saleEvents.id, id)).for('update');
          if (!row) throw new SaleEventNotFoundError(id);
          const productIds = (await productIdsOf(tx, [id])).get(id) ?? [];
          await tx.delete(saleEvents).where(eq(saleEvents.id, id));
          const { id: _id, ...fields } = toSaleEvent(row, productIds);
          return { change: getDeletedFields(fields, Object.keys(fields) as (keyof typeof fields)[]) };
        });
      } catch (error) {
        if (isStillReferenced(pgError(error))) throw new SaleEventInUseError(id);
        throw error;
      }
    },
  };
}

export type SaleEventService = ReturnType<typeof createSaleEventService>;

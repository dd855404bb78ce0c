import { and, asc, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import type { Database, Db } from '../../platform/db/client.ts';
import { products } from '../catalog/catalog.tables.ts';
import { NotFoundError, UnprocessableError } from '../../shared/errors.ts';
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
    waitingRoom: { enabled: row.waitingRoomEnabled, admissionPerSecond: row.admissionPerSecond },
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

  async function replaceProducts(tx: Db, id: number, productIds: number[]): Promise<void> {
    if (productIds.length > 0) {
      const found = await tx.select({ id: products.id }).from(products).where(inArray(products.id, productIds));
      const known = new Set(found.map((r) => r.id));
      const missing = productIds.filter((p) => !known.has(p));
      if (missing.length > 0) throw new UnknownProductsError(missing);
    }
    await tx.delete(saleEventProducts).where(eq(saleEventProducts.saleEventId, id));
    if (productIds.length > 0) await tx.insert(saleEventProducts).values(productIds.map((productId) => ({ saleEventId: id, productId })));
  }

  function checkWindow(startsAt: Date, endsAt: Date): void {
    if (endsAt <= startsAt) throw new InvalidSaleWindowError(startsAt.toISOString(), endsAt.toISOString());
  }

  async function get(id: number): Promise<SaleEvent> {
    const [row] = await db.select().from(saleEvents).where(eq(saleEvents.id, id));
    if (!row) throw new SaleEventNotFoundError(id);
    return toSaleEvent(row, (await productIdsOf(db, [id])).get(id) ?? []);
  }

  return {
    get,

    async list(options: { activeAt?: Date } = {}): Promise<SaleEvent[]> {
      const at = options.activeAt;
      const rows = await db
        .select()
        .from(saleEvents)
        .where(at ? and(lte(saleEvents.startsAt, at), gt(saleEvents.endsAt, at)) : undefined)
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

    async create(body: CreateSaleEventBody): Promise<SaleEvent> {
      const startsAt = new Date(body.startsAt);
      const endsAt = new Date(body.endsAt);
      checkWindow(startsAt, endsAt);
      const id = await db.transaction(async (tx) => {
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
          })
          .returning({ id: saleEvents.id });
        await replaceProducts(tx, row!.id, body.productIds ?? []);
        return row!.id;
      });
      return get(id);
    },

    async update(id: number, body: UpdateSaleEventBody): Promise<SaleEvent> {
      await db.transaction(async (tx) => {
        const [current] = await tx.select().from(saleEvents).where(eq(saleEvents.id, id)).for('update');
        if (!current) throw new SaleEventNotFoundError(id);
        const startsAt = body.startsAt ? new Date(body.startsAt) : current.startsAt;
        const endsAt = body.endsAt ? new Date(body.endsAt) : current.endsAt;
        checkWindow(startsAt, endsAt);
        const { productIds, waitingRoom, ...fields } = body;
        const room = waitingRoom ? { waitingRoomEnabled: waitingRoom.enabled, admissionPerSecond: waitingRoom.admissionPerSecond ?? null } : {};
        await tx
          .update(saleEvents)
          .set({ ...fields, ...room, startsAt, endsAt, updatedAt: sql`now()` })
          .where(eq(saleEvents.id, id));
        if (productIds) await replaceProducts(tx, id, productIds);
      });
      return get(id);
    },

    async remove(id: number): Promise<void> {
      const rows = await db.delete(saleEvents).where(eq(saleEvents.id, id)).returning({ id: saleEvents.id });
      if (rows.length === 0) throw new SaleEventNotFoundError(id);
    },
  };
}

export type SaleEventService = ReturnType<typeof createSaleEventService>;

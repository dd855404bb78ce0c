import type { Logger } from 'pino';
import type { SaleEvent } from '../sale-events/index.ts';

/** A sale event with its waiting room switched on, as every instance keeps it in memory. */
export interface QueuedEvent {
  id: number;
  name: string;
  startsAtMs: number;
  endsAtMs: number;
  productIds: number[];
  /** Configured rate; null: derived from capacity. */
  admissionPerSecond: number | null;
}

export interface EventRegistry {
  get(id: number): QueuedEvent | undefined;
  all(): QueuedEvent[];
  /** Events live at `now` (started, not ended). */
  live(now: number): QueuedEvent[];
  /** The live queued events listing a product (sales may overlap), earliest start first. */
  liveFor(productId: number, now: number): QueuedEvent[];
  refresh(): Promise<void>;
  start(): void;
  stop(): void;
}

/**
 * Which sale events have a waiting room, re-read every `refreshMs` by each instance (one small query),
 * so an admin switching a waiting room on or off reaches every instance within that period and the
 * checkout's pass check never waits on the database. A failed read keeps the last list.
 */
export function createEventRegistry(deps: { list: (endedAfter: Date) => Promise<SaleEvent[]>; refreshMs: number; logger: Logger }): EventRegistry {
  let events = new Map<number, QueuedEvent>();
  let byProduct = new Map<number, QueuedEvent[]>();
  let timer: NodeJS.Timeout | undefined;
  let pending: Promise<void> | undefined;

  async function load(): Promise<void> {
    // Ended events stay a day, so a late visitor's ticket still reads as expired rather than unknown.
    const rows = await deps.list(new Date(Date.now() - 86_400_000));
    const next = new Map<number, QueuedEvent>();
    const products = new Map<number, QueuedEvent[]>();
    for (const row of rows) {
      const event: QueuedEvent = {
        id: row.id,
        name: row.name,
        startsAtMs: Date.parse(row.startsAt),
        endsAtMs: Date.parse(row.endsAt),
        productIds: row.productIds,
        admissionPerSecond: row.waitingRoom.admissionPerSecond,
      };
      next.set(event.id, event);
      for (const productId of event.productIds) products.set(productId, [...(products.get(productId) ?? []), event]);
    }
    events = next;
    byProduct = products;
  }

  const isLive = (event: QueuedEvent, now: number) => event.startsAtMs <= now && now < event.endsAtMs;

  return {
    get: (id) => events.get(id),
    all: () => [...events.values()],
    live: (now) => [...events.values()].filter((event) => isLive(event, now)),
    liveFor: (productId, now) => byProduct.get(productId)?.filter((event) => isLive(event, now)) ?? [],
    refresh() {
      pending ??= load()
        .catch((error: unknown) => deps.logger.warn({ err: error }, 'could not read the waiting rooms; keeping the last list'))
        .finally(() => (pending = undefined));
      return pending;
    },
    start() {
      timer ??= setInterval(() => void this.refresh(), deps.refreshMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

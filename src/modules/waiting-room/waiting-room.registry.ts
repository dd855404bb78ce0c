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
  /** Admission held by the admin: nobody is let in, the line keeps its order and takes newcomers (see ADMIT). */
  paused: boolean;
}

/**
 * How long before its start a sale's line takes visitors, and its products need the waiting room (its pass, which
 * nobody holds before the start): from then until the end the checkout of its products goes through the room.
 * Joined earlier, a ticket would outlive what it is bound to (the visitor cookie lasts 30 days, a session less: a
 * guest back without it is a new visitor, refused behind their own address's ticket or given a second place while the
 * first stays in the draw) and keep its room's keys in Redis for as long as the sale is ahead (years, for a sale
 * planned far out). Earlier than that the products are sold as usual (the shop may sell them until the drop is announced).
 */
export const JOIN_OPENS_BEFORE_MS = 86_400_000;

/** When the line of `event` opens: JOIN_OPENS_BEFORE_MS before its start. */
export const opensAtMs = (event: QueuedEvent): number => event.startsAtMs - JOIN_OPENS_BEFORE_MS;

export interface EventRegistry {
  get(id: number): QueuedEvent | undefined;
  all(): QueuedEvent[];
  /** Events live at `now` (started, not ended). */
  live(now: number): QueuedEvent[];
  /** The live queued events listing a product (sales may overlap), earliest start first. */
  liveFor(productId: number, now: number): QueuedEvent[];
  /** Events whose line is open at `now` (from JOIN_OPENS_BEFORE_MS before the start until the end): checkout of their products goes through the room. */
  guarded(now: number): QueuedEvent[];
  /** The guarded events (see `guarded`) listing a product, earliest start first. */
  guardedFor(productId: number, now: number): QueuedEvent[];
  /** Reads the events again (concurrent callers share one read); false when the read failed (the last list is kept). */
  refresh(): Promise<boolean>;
  /**
   * A read begun after this call, for a request that must see the rooms as they are now (a ticket of a
   * room not known here): every caller waiting meanwhile shares it, and it begins at least CONFIRM_GAP_MS
   * after the last such read began, so a crowd asking after a deleted sale costs one small query a second
   * (besides the periodic re-read).
   */
  confirm(): Promise<boolean>;
  start(): void;
  stop(): void;
}

/** Least time between the starts of two `confirm` reads. */
const CONFIRM_GAP_MS = 1000;

/**
 * Which sale events have a waiting room, re-read every `refreshMs` by each instance (one small query),
 * so an admin switching a waiting room on or off, or pausing it, reaches every instance within that period and the
 * checkout's pass check never waits on the database. A failed read keeps the last list.
 */
export function createEventRegistry(deps: { list: (endedAfter: Date) => Promise<SaleEvent[]>; refreshMs: number; logger: Logger }): EventRegistry {
  let events = new Map<number, QueuedEvent>();
  let byProduct = new Map<number, QueuedEvent[]>();
  let timer: NodeJS.Timeout | undefined;
  let pending: Promise<boolean> | undefined;
  let lastConfirmAt = -Infinity;
  let confirming: Promise<boolean> | undefined;

  async function load(): Promise<void> {
    // Ended events stay a day, so a late visitor's ticket still reads as closed rather than unknown.
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
        paused: row.waitingRoom.paused,
      };
      next.set(event.id, event);
      for (const productId of event.productIds) products.set(productId, [...(products.get(productId) ?? []), event]);
    }
    // Earliest start first (`liveFor`, `guardedFor`): a refusal names the sale that starts first.
    for (const list of products.values()) list.sort((a, b) => a.startsAtMs - b.startsAtMs || a.id - b.id);
    events = next;
    byProduct = products;
  }

  const isLive = (event: QueuedEvent, now: number) => event.startsAtMs <= now && now < event.endsAtMs;
  const isGuarded = (event: QueuedEvent, now: number) => opensAtMs(event) <= now && now < event.endsAtMs;

  return {
    get: (id) => events.get(id),
    all: () => [...events.values()],
    live: (now) => [...events.values()].filter((event) => isLive(event, now)),
    liveFor: (productId, now) => byProduct.get(productId)?.filter((event) => isLive(event, now)) ?? [],
    guarded: (now) => [...events.values()].filter((event) => isGuarded(event, now)),
    guardedFor: (productId, now) => byProduct.get(productId)?.filter((event) => isGuarded(event, now)) ?? [],
    refresh() {
      pending ??= load()
        .then(
          () => true,
          (error: unknown) => {
            deps.logger.warn({ err: error }, 'could not read the waiting rooms; keeping the last list');
            return false;
          },
        )
        .finally(() => (pending = undefined));
      return pending;
    },
    confirm() {
      confirming ??= (async () => {
        // Yield before anything else: run synchronously to `confirming = undefined` below (no wait, no read under
        // way), the body cleared `confirming` before `??=` assigned it this promise, which then stayed for good and
        // answered every later caller with this read.
        await Promise.resolve();
        const wait = lastConfirmAt + CONFIRM_GAP_MS - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        // A read under way began before some of the callers: wait it out.
        while (pending) await pending;
        // Callers from now on need a read begun after them: the next one.
        confirming = undefined;
        lastConfirmAt = performance.now();
        return this.refresh();
      })();
      return confirming;
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

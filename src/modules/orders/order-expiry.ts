import { DelayedError, type Job } from 'bullmq';
import client from 'prom-client';
import type { Logger } from 'pino';
import type { Database } from '../../platform/db/client.ts';
import { delayJobUntil } from '../../platform/queue/processing.ts';
import { startPeriodicDrain } from '../../shared/periodic-drain.ts';
import type { StockGate } from '../inventory/index.ts';
import type { OrderLifecycleRepository } from './order-lifecycle.repository.ts';

const counters = new WeakMap<client.Registry, client.Counter<'via'>>();

/** `salescale_reservations_expired_total{via}`: unpaid reservations expired, by who expired them (`job` | `sweeper` | `payment`). */
export function expiredCounterFor(registry: client.Registry): client.Counter<'via'> {
  let counter = counters.get(registry);
  if (!counter) {
    counter = new client.Counter({ name: 'salescale_reservations_expired_total', help: 'Unpaid reservations expired (units back on sale), by who expired them', labelNames: ['via'], registers: [registry] });
    counters.set(registry, counter);
  }
  return counter;
}

export interface OrderExpiryDeps {
  db: Database;
  lifecycle: OrderLifecycleRepository;
  gate: StockGate;
  expired: client.Counter<'via'>;
  logger: Logger;
}

/**
 * Expiry of unpaid reservations, exactly once whatever crashes. Two lines, both idempotent because
 * the only thing that expires an order is the conditional `pending_payment → expired` update (with
 * its units returned in the same transaction), and rows another transaction holds are skipped:
 * 1. the `expire-order` job the checkout's own statement writes to the outbox (no extra round trip
 *    at checkout): it waits, delayed in BullMQ, until the order's window ends;
 * 2. a sweeper on every worker that expires whatever is past its window (jobs lost with Redis, a worker
 *    killed mid-job). Several sweepers share the work through `FOR UPDATE SKIP LOCKED`.
 * After the commit the gate is rebuilt from PostgreSQL for the products concerned, so the gate gets
 * the units back exactly too (never by adding to its figure).
 */
export function createOrderExpiry(deps: OrderExpiryDeps) {
  const { db, lifecycle, logger } = deps;

  async function invalidate(productIds: readonly number[]): Promise<void> {
    await Promise.all([...new Set(productIds)].map((id) => deps.gate.invalidate(id))).catch((e: unknown) =>
      logger.warn({ err: e }, 'could not invalidate the stock gate after expiring reservations (sent again until Redis answers)'),
    );
  }

  /** One sweep: expires up to `limit` due reservations; returns how many. */
  async function sweepOnce(limit = 200): Promise<number> {
    const expired = await db.primary.transaction((tx) => lifecycle.expire(tx, { limit }));
    if (expired.length === 0) return 0;
    deps.expired.inc({ via: 'sweeper' }, expired.length);
    await invalidate(expired.flatMap((order) => order.productIds));
    return expired.length;
  }

  return {
    sweepOnce,

    /**
     * The `expire-order` job: before the window ends it moves itself to BullMQ's delayed set until
     * then (DelayedError: not a failure, no attempt used); after, it expires the order if unpaid.
     */
    async runJob(job: Job, token: string | undefined, orderId: number): Promise<{ expired: boolean; delayedUntil?: number }> {
      const dueAt = await lifecycle.dueAt(db.primary, orderId);
      if (!dueAt) return { expired: false };
      if (dueAt.getTime() > Date.now() && token) {
        await delayJobUntil(job, token, dueAt.getTime() + 50);
        throw new DelayedError();
      }
      const expired = await db.primary.transaction((tx) => lifecycle.expire(tx, { orderIds: [orderId], limit: 1 }));
      if (expired.length === 0) {
        // Not due by PostgreSQL's clock yet, or another transaction holds the row: look again shortly.
        if (token && (await lifecycle.dueAt(db.primary, orderId))) {
          await delayJobUntil(job, token, Date.now() + 1000);
          throw new DelayedError();
        }
        return { expired: false };
      }
      deps.expired.inc({ via: 'job' });
      await invalidate(expired[0]!.productIds);
      return { expired: true };
    },

    /** Sweeps every `intervalMs` until stopped; a failed sweep is logged and retried next time. */
    start(intervalMs: number): { stop(): Promise<void> } {
      // Drains a burst in full batches, then waits for the next tick.
      return startPeriodicDrain({ intervalMs, batch: 200, pass: sweepOnce, onError: (error) => logger.warn({ err: error }, 'expiry sweep failed; retrying at the next interval') });
    },
  };
}

export type OrderExpiry = ReturnType<typeof createOrderExpiry>;

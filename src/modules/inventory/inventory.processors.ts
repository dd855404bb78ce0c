import { sql } from 'drizzle-orm';
import type { Database } from '../../platform/db/client.ts';
import { jobClaims } from '../../platform/queue/queue.tables.ts';
import { limitJobTransaction, type JobTransactionLimits } from '../../platform/queue/job-transaction.ts';
import { jobIdOf, requirePayload, type JobHandlers } from '../../platform/queue/processing.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import { products } from '../catalog/catalog.tables.ts';
import type { StockGate } from './stock-gate.ts';

/** An `update-stock` payload: units of a product sold (negative for a return). */
export interface StockUpdate {
  productId: number;
  quantity: number;
}

/** A `refresh-stock-gate` payload: products whose units went back to PostgreSQL. */
export interface StockReturned {
  productIds: number[];
}

function isStockReturned(data: unknown): data is StockReturned {
  const d = data as Record<string, unknown> | null;
  return typeof d === 'object' && d !== null && Array.isArray(d.productIds) && d.productIds.every((id) => Number.isSafeInteger(id));
}

function isStockUpdate(data: unknown): data is StockUpdate {
  const d = data as Record<string, unknown> | null;
  return typeof d === 'object' && d !== null && Number.isSafeInteger(d.productId) && Number.isSafeInteger(d.quantity);
}

/**
 * When a relayed `refresh-stock-gate` row still needs its job after a queue Redis loss (the relay's `stillNeeded`,
 * an SQL condition on the outbox row `o`): while a gate built before the units came back may still hold, i.e.
 * for `gateTtlS` after the row was relayed (which is after its commit). Later, every such gate has expired and
 * been rebuilt from PostgreSQL: re-running the refresh only invalidates gates in use, a retention's worth at once.
 */
export function refreshStockGateStillNeeded(gateTtlS: number): string {
  if (!Number.isSafeInteger(gateTtlS) || gateTtlS < 0) throw new RangeError(`gateTtlS must be a non-negative integer, got ${gateTtlS}`);
  return `o.relayed_at > now() - make_interval(secs => ${gateTtlS})`;
}

/**
 * Stock itself is reserved synchronously in the checkout transaction (no oversell); this follow-up
 * does the slow part: the units-sold counter that orders the popular listing. Applied once per job.
 *
 * The counter is the plain sum of the deltas, never clamped: the jobs of one order arrive in any order
 * (a refund's decrement is written at once, the sale's increment only once the `order-paid` fan-out has
 * run), and a sum does not depend on it. Clamped at 0, a decrement that came first was dropped and the
 * increment after it left a refunded order counted as sold. The counter may dip below 0 until the increment arrives.
 */
export function inventoryProcessors(deps: { db: Database; gate: Pick<StockGate, 'invalidate'>; jobTransaction?: JobTransactionLimits }): JobHandlers {
  return {
    // Rebuilding a gate from PostgreSQL is right at any time, so a job run twice does no harm.
    [JOBS.refreshStockGate]: async (job) => {
      const { productIds } = requirePayload(job, isStockReturned);
      await Promise.all(productIds.map((id) => deps.gate.invalidate(id)));
      return { refreshed: productIds.length };
    },
    [JOBS.updateStock]: async (job) => {
      const update = requirePayload(job, isStockUpdate);
      const jobId = jobIdOf(job);
      return deps.db.primary.transaction(async (tx) => {
        // A hot product's row is waited on by every update of it: a frozen holder is ended, a waiter gives up and is put back.
        await limitJobTransaction(tx, deps.jobTransaction);
        const claimed = await tx.insert(jobClaims).values({ queue: QUEUES.inventory, jobId }).onConflictDoNothing().returning({ jobId: jobClaims.jobId });
        if (claimed.length === 0) return { applied: false };
        const updated = await tx
          .update(products)
          .set({ popularity: sql`${products.popularity} + ${update.quantity}` })
          .where(sql`${products.id} = ${update.productId}`)
          .returning({ id: products.id });
        return { applied: updated.length > 0 };
      });
    },
  };
}

import { sql } from 'drizzle-orm';
import type { Database } from '../../platform/db/client.ts';
import { jobClaims } from '../../platform/queue/queue.tables.ts';
import { jobIdOf, requirePayload, type JobHandlers } from '../../platform/queue/processing.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import { products } from '../catalog/catalog.tables.ts';

/** An `update-stock` payload: units of a product sold (negative for a return). */
export interface StockUpdate {
  productId: number;
  quantity: number;
}

function isStockUpdate(data: unknown): data is StockUpdate {
  const d = data as Record<string, unknown> | null;
  return typeof d === 'object' && d !== null && Number.isSafeInteger(d.productId) && Number.isSafeInteger(d.quantity);
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
export function inventoryProcessors(deps: { db: Database }): JobHandlers {
  return {
    [JOBS.updateStock]: async (job) => {
      const update = requirePayload(job, isStockUpdate);
      const jobId = jobIdOf(job);
      return deps.db.primary.transaction(async (tx) => {
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

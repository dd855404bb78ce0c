import { and, gt, lte, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../../platform/db/client.ts';
import { saleEvents } from './sale-events.tables.ts';

/** Answers "is a sale event live right now?" for per-request decisions (the sale rate limit). */
export interface LiveSaleCheck {
  isLive(): Promise<boolean>;
}

/**
 * Caches the answer per instance for `refreshMs` so a request never waits on the database for it
 * (one query per instance per period; concurrent callers share one query). If the query fails the
 * last answer is kept: a database hiccup must neither switch the sale limit off nor on.
 */
export function createLiveSaleCheck(deps: { db: Database; refreshMs: number; logger?: Logger; now?: () => Date }): LiveSaleCheck {
  const now = deps.now ?? (() => new Date());
  let live = false;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<boolean> | undefined;

  async function query(): Promise<boolean> {
    const at = now();
    const [row] = await deps.db.replica
      .select({ live: sql<boolean>`true` })
      .from(saleEvents)
      .where(and(lte(saleEvents.startsAt, at), gt(saleEvents.endsAt, at)))
      .limit(1);
    return row !== undefined;
  }

  return {
    async isLive() {
      if (Date.now() - checkedAt < deps.refreshMs) return live;
      pending ??= query()
        .then(
          (value) => {
            live = value;
            return value;
          },
          (error: unknown) => {
            deps.logger?.warn({ err: error }, 'could not check for a live sale event; keeping the last answer');
            return live;
          },
        )
        .finally(() => {
          checkedAt = Date.now();
          pending = undefined;
        });
      return pending;
    },
  };
}

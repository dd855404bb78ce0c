import { and, asc, gt, lte } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../../platform/db/client.ts';
import { saleEvents } from './sale-events.tables.ts';

/** Answers "is a sale event live right now?" for per-request decisions (the sale rate limit). */
export interface LiveSaleCheck {
  isLive(): Promise<boolean>;
}

/** How far ahead each refresh reads the events' windows: a sale starting within it goes live on time even while the database is unreachable. */
export const LIVE_SALE_LOOKAHEAD_MS = 60 * 60_000;
/** Most windows one refresh keeps (live now or starting within the lookahead, earliest first). */
const MAX_WINDOWS = 100;

interface Window {
  startsAt: number;
  endsAt: number;
}

/**
 * Keeps, per instance, the windows of the sale events that are live or start within the next hour, read
 * again every `refreshMs`, and answers from them at the moment of each call: a sale goes live (and ends)
 * at its exact time, not up to `refreshMs` later. A request never waits on the database for it: a stale
 * copy answers at once and the read runs in the background (concurrent callers share one); only the
 * calls before an instance's first read has finished (or failed) wait for it. Under a sale's load, with every connection of
 * the pool busy, waiting here had held every request of the instance, even those that need no database,
 * for up to the pool's 5 s checkout timeout each `refreshMs`. If a read fails the last windows are kept:
 * a database hiccup must neither switch the sale limit off nor on.
 */
export function createLiveSaleCheck(deps: { db: Database; refreshMs: number; logger?: Logger; now?: () => Date }): LiveSaleCheck {
  const now = deps.now ?? (() => new Date());
  let windows: Window[] | undefined;
  let readAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;

  async function read(at: Date): Promise<Window[]> {
    const rows = await deps.db.replica
      .select({ startsAt: saleEvents.startsAt, endsAt: saleEvents.endsAt })
      .from(saleEvents)
      .where(and(lte(saleEvents.startsAt, new Date(at.getTime() + LIVE_SALE_LOOKAHEAD_MS)), gt(saleEvents.endsAt, at)))
      .orderBy(asc(saleEvents.startsAt))
      .limit(MAX_WINDOWS);
    return rows.map((row) => ({ startsAt: row.startsAt.getTime(), endsAt: row.endsAt.getTime() }));
  }

  function refresh(at: Date): Promise<void> {
    pending ??= read(at)
      .then(
        (fresh) => {
          windows = fresh;
        },
        (error: unknown) => {
          deps.logger?.warn({ err: error }, 'could not read the sale events; keeping the last answer');
        },
      )
      .finally(() => {
        readAt = now().getTime();
        pending = undefined;
      });
    return pending;
  }

  return {
    async isLive() {
      const at = now();
      if (at.getTime() - readAt >= deps.refreshMs) {
        const reading = refresh(at);
        if (readAt === Number.NEGATIVE_INFINITY) await reading;
      }
      const t = now().getTime();
      return windows?.some((w) => w.startsAt <= t && t < w.endsAt) ?? false;
    },
  };
}

import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type pg from 'pg';
import { deleteInBatches } from '../../platform/db/delete-in-batches.ts';
import type { Db } from '../../platform/db/client.ts';
import { adminActions } from './audit.tables.ts';

/** How long admin action records are kept: long enough to reconstruct a sale's changes after the fact. */
export const ADMIN_ACTION_RETENTION_DAYS = 90;

export type AdminActionRow = typeof adminActions.$inferSelect;
export type NewAdminAction = typeof adminActions.$inferInsert;

export function createAuditRepository() {
  return {
    async insert(db: Db, action: NewAdminAction): Promise<void> {
      await db.insert(adminActions).values(action);
    },

    /** Newest first: `limit + 1` rows below `before` (the id a cursor carries), so the caller knows whether more follow. */
    async list(db: Db, query: { limit: number; before?: number; productId?: number }): Promise<AdminActionRow[]> {
      const conditions: SQL[] = [];
      if (query.before !== undefined) conditions.push(lt(adminActions.id, query.before));
      if (query.productId !== undefined) conditions.push(eq(adminActions.productId, query.productId));
      return db
        .select()
        .from(adminActions)
        .where(and(...conditions))
        .orderBy(desc(adminActions.id))
        .limit(query.limit + 1);
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;

/** Deletes admin action records older than `retentionDays`, in batches. Returns how many were deleted. */
export async function pruneAdminActions(pool: pg.Pool, retentionDays = ADMIN_ACTION_RETENTION_DAYS): Promise<number> {
  return deleteInBatches(
    pool,
    `DELETE FROM admin_actions WHERE id = ANY(ARRAY(
         SELECT id FROM admin_actions WHERE created_at < now() - make_interval(days => $1) LIMIT $2))`,
    retentionDays,
  );
}

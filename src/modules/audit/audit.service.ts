import type { Logger } from '../../platform/logger/logger.ts';
import type { Db } from '../../platform/db/client.ts';
import { createIdCursor, InvalidCursorError } from '../../shared/cursor.ts';
import type { AuditRepository, NewAdminAction } from './audit.repository.ts';
import type { AdminAction, ListAdminActionsQuery } from './audit.schemas.ts';

/** Actions are listed newest first: the cursor names the oldest action of the page. */
const cursor = createIdCursor('before', 1);

export interface AuditServiceDeps {
  db: () => Db;
  repo: AuditRepository;
  logger: Logger;
}

/**
 * The admin audit trail's store. `record` never throws and never makes its caller wait: it runs after the admin
 * reply was sent, and a database that is down or slow loses the row (the `admin action` log line still has it),
 * logged as a warning (an outage, which the database's own alerts report, not a fault of this code). A process writes
 * its rows one at a time, in the order the actions were answered: the list is newest first by id, which an insert
 * takes when it runs, and two writes on separate connections at once could number a later action first. `settle`
 * waits for the writes in flight (the app awaits it when closing).
 */
export function createAuditService(deps: AuditServiceDeps) {
  /** The last write: each waits for the one before it, and never rejects. */
  let last: Promise<void> = Promise.resolve();
  return {
    record(action: NewAdminAction): void {
      last = last
        .then(() => deps.repo.insert(deps.db(), action))
        .catch((error: unknown) => deps.logger.warn({ err: error, requestId: action.requestId, route: action.route }, 'could not record an admin action'));
    },

    async settle(): Promise<void> {
      await last;
    },

    async list(query: ListAdminActionsQuery): Promise<{ items: AdminAction[]; nextCursor: string | null }> {
      let before: number | undefined;
      if (query.cursor !== undefined) {
        before = cursor.decode(query.cursor);
        if (before === undefined) throw new InvalidCursorError();
      }
      const rows = await deps.repo.list(deps.db(), { limit: query.limit, before, productId: query.productId });
      const page = rows.slice(0, query.limit);
      const items = page.map((row) => ({
        id: row.id,
        at: row.createdAt.toISOString(),
        actor: row.actor,
        method: row.method,
        route: row.route,
        target: row.target as Record<string, unknown>,
        productId: row.productId,
        status: row.status,
        requestId: row.requestId,
        traceId: row.traceId,
        client: row.client,
        change: row.change as AdminAction['change'],
        error: row.error as AdminAction['error'],
      }));
      return { items, nextCursor: rows.length > query.limit ? cursor.encode(page[page.length - 1]!.id) : null };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;

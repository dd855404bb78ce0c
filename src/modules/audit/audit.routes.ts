import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../platform/http/schemas.ts';
import { AdminActionPage, ListAdminActionsQuery } from './audit.schemas.ts';
import type { AuditService } from './audit.service.ts';

/** GET /admin/actions: the audit trail, newest first; the caller mounts it behind the admin token. */
export function auditAdminRoutes(audit: AuditService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/actions',
      {
        schema: {
          tags: ['admin: audit'],
          security: [{ adminToken: [] }],
          description:
            'The audit trail, newest first: every successful change (POST, PUT, PATCH or DELETE answered below 400) of the admin API and of the queue dashboard (`/admin/queues`: jobs added, retried, promoted, deleted or edited; a state retried, promoted or cleaned; a queue paused, resumed or emptied), every admin refund whose provider call failed (with `error`), and the worker’s row (`actor` `worker`) for such a refund it later finished or gave up on. Each has route, method, target ids, the self-declared `X-Admin-Actor`, status, request and trace ids, client address and, in `change`, the values before and after of the fields a write changed: products (price, stock, status, …), categories, sale events, orders’ status, payment problems resolved, the degrade mode. `productId` keeps one product’s; `cursor` is the previous page’s `nextCursor`. Kept 90 days.',
          querystring: ListAdminActionsQuery,
          response: { 200: AdminActionPage, ...errorResponses(400, 401) },
        },
      },
      (request) => audit.list(request.query),
    );
  };
}

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
            'The admin API’s successful mutations, newest first: route, method, target ids, the self-declared `X-Admin-Actor`, status, request and trace ids, client address and, for price, stock and status changes, the values before and after. `productId` keeps one product’s; `cursor` is the previous page’s `nextCursor`. Kept 90 days.',
          querystring: ListAdminActionsQuery,
          response: { 200: AdminActionPage, ...errorResponses(400, 401) },
        },
      },
      (request) => audit.list(request.query),
    );
  };
}

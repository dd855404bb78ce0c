import { Type, type Static } from 'typebox';
import { pageLimit } from '../../lib/page-limit.ts';

export const ListAdminActionsQuery = Type.Object(
  {
    limit: pageLimit(50),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    productId: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
  },
  { additionalProperties: false },
);
export type ListAdminActionsQuery = Static<typeof ListAdminActionsQuery>;

const BeforeAfter = Type.Object({ before: Type.Unknown(), after: Type.Unknown() }, { additionalProperties: false });

export const AdminAction = Type.Object(
  {
    id: Type.Integer(),
    at: Type.String({ format: 'date-time' }),
    actor: Type.Union([Type.String(), Type.Null()], { description: 'The X-Admin-Actor label as sent: self-declared, not verified.' }),
    method: Type.String(),
    route: Type.String({ description: 'The route pattern, e.g. /api/v1/admin/products/:id' }),
    target: Type.Record(Type.String(), Type.Unknown(), { description: 'The route’s path parameters.' }),
    productId: Type.Union([Type.Integer(), Type.Null()]),
    status: Type.Integer(),
    requestId: Type.String(),
    traceId: Type.Union([Type.String(), Type.Null()]),
    client: Type.String(),
    change: Type.Union([Type.Record(Type.String(), BeforeAfter), Type.Null()]),
    error: Type.Union(
      [Type.Object({ code: Type.String(), providerCode: Type.Optional(Type.String()) }, { additionalProperties: false }), Type.Null()],
      { description: 'A failed attempt kept in the trail (an admin refund whose provider call failed): the answer’s error code, and the provider’s refusal code when it gave one. Null for a successful action.' },
    ),
  },
  { additionalProperties: false },
);
export type AdminAction = Static<typeof AdminAction>;

export const AdminActionPage = Type.Object({ items: Type.Array(AdminAction), nextCursor: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false });

import { bigint, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * One row per successful admin API mutation (and per admin refund whose provider call failed: `error`) (POST/PUT/PATCH/DELETE under `/api/v1/admin`), written after the reply
 * by the admin audit trail (`adminAuditTrail`); read back newest first by `GET /api/v1/admin/actions`. No foreign
 * keys: a record outlives the product or order it names, and its insert must not fail on one. Deleted after
 * {@link ADMIN_ACTION_RETENTION_DAYS} by the worker's periodic clean-up (`pruneAdminActions`), by `created_at`.
 */
export const adminActions = pgTable(
  'admin_actions',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** The `X-Admin-Actor` label as the caller gave it: self-declared, not an identity. */
    actor: text('actor'),
    method: text('method').notNull(),
    /** The route's pattern (`/api/v1/admin/products/:id`), not the URL. */
    route: text('route').notNull(),
    /** The route's path parameters (`{ "id": 7 }`). */
    target: jsonb('target').notNull().default({}),
    /** The product the action changed, when the route names one: `GET /admin/actions?productId=` filters on it. */
    productId: bigint('product_id', { mode: 'number' }),
    status: integer('status').notNull(),
    requestId: text('request_id').notNull(),
    traceId: text('trace_id'),
    client: text('client').notNull(),
    /** What changed, `{ "<field>": { "before": …, "after": … } }`, where the service had both at hand. */
    change: jsonb('change'),
    /**
     * A failed attempt the trail keeps (an admin refund whose provider call failed; otherwise only requests answered below
     * 400 are recorded): `{ "code": <the answer's error code>, "providerCode"?: <the provider's refusal code> }`.
     */
    error: jsonb('error'),
  },
  (t) => [index('admin_actions_created_at_idx').on(t.createdAt), index('admin_actions_product_id_id_idx').on(t.productId, t.id)],
);

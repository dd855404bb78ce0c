import type { FastifyRequest, RouteOptions } from 'fastify';

/** Methods Fastify reads a body for: a route of only other methods (GET, HEAD, OPTIONS) never has one. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** An Ajv-style issue, so the error handler answers it as every other `VALIDATION_FAILED`. */
interface BodyIssue {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message: string;
}

/**
 * The issue of a body sent to a route that reads none, as a schema refusal names it (its first: Ajv runs with
 * `allErrors: false`): none for an absent body or `{}` (what clients send when they send "nothing" as JSON); the
 * first field of an object; the value itself for any other (an array, a string, `null`). One issue, not one per
 * field: this runs on public routes before any sign-in, and a body of many short keys would come back many times
 * larger.
 */
export function findUnreadBody(body: unknown): BodyIssue[] {
  if (body === undefined) return [];
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && !Buffer.isBuffer(body)) {
    for (const field in body) {
      if (!Object.hasOwn(body, field)) continue;
      return [
        {
          instancePath: '',
          schemaPath: '#/additionalProperties',
          keyword: 'additionalProperties',
          params: { additionalProperty: field },
          message: 'must NOT have additional properties (this route reads no body)',
        },
      ];
    }
    return [];
  }
  return [{ instancePath: '', schemaPath: '#/type', keyword: 'type', params: { type: 'object' }, message: 'must be empty: this route reads no body' }];
}

async function refuseUnreadBody(request: FastifyRequest): Promise<void> {
  const issues = findUnreadBody(request.body);
  if (issues.length === 0) return;
  // The shape Fastify gives a schema's refusal: the error handler answers 400 VALIDATION_FAILED, `details.in` "body".
  throw Object.assign(new Error('request body is invalid'), { statusCode: 400, validation: issues, validationContext: 'body' });
}

/** Whether a route of this schema reads a body (declares one): one that does not takes none (see below). */
export function readsBody(schema: unknown): boolean {
  return (schema as { body?: unknown } | undefined)?.body !== undefined;
}

/**
 * For the app's `onRoute` hook. A route without a body schema refuses a body it would otherwise ignore, as a route
 * with one refuses an unknown field: an admin refund sent `{ "amountCents": 100 }` refunded the whole order, and
 * `DELETE /cart/items` sent `{ "productId": 1 }` emptied the whole cart. An absent or empty body and `{}` are taken.
 * Routes that read their body themselves (`ownBody`: the payment webhooks' raw bytes, the queue dashboard) are left as they are.
 */
export function refuseBodyWithoutSchema(route: RouteOptions, ownBody: boolean): void {
  if (ownBody || readsBody(route.schema)) return;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  if (!methods.some((method) => BODY_METHODS.has(method.toUpperCase()))) return;
  const existing = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
  route.preValidation = [refuseUnreadBody, ...existing];
}

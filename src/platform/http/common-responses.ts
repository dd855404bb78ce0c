import type { RouteOptions } from 'fastify';
import { Type } from 'typebox';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route parses every content type itself (a payment webhook, verified over its raw bytes): no 415 for a media
     * type (it still answers one for a body in a content coding, as every route does).
     * @defaultValue false
     */
    anyContentType?: boolean;
  }
}

/** Methods whose requests Fastify reads no body of, and that the cross-site refusal lets through (they change nothing). */
const BODILESS_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The refusals any documented route can answer besides its own, added to its response schemas
 * (and so to the OpenAPI document) in one place instead of in every route:
 * - 400: a request part fails validation (every route has at least a strict, empty query schema);
 * - 429: a rate limit; 503: load shedding, draining, or a dependency down (with `Retry-After`);
 * - 414: a path parameter over the router's limit; 413 and 415: a body too large, or not JSON or in a content coding, on every route of a
 *   method Fastify reads a body for (POST, PUT, PATCH, DELETE), with a body schema or not: a route without one
 *   still parses what it is sent (e.g. cancelling an order);
 * - 403 `CROSS_SITE_REQUEST`: on those same state-changing methods, a request a browser says comes from another site
 *   or origin (see `browserSecurity`);
 * - 401: the admin token, on `/api/v1/admin/…`.
 * The fuzz test (`test/openapi-fuzz.test.ts`) holds every reply to the statuses documented here.
 */
export function addCommonResponses(route: Pick<RouteOptions, 'url' | 'schema' | 'method' | 'config'>, adminPrefix: string): void {
  const schema = route.schema as { response?: Record<string, unknown>; body?: unknown; hide?: boolean } | undefined;
  if (!schema?.response || schema.hide) return;
  const response = { ...schema.response };
  const add = (status: number) => {
    if (!(String(status) in response)) response[status] = Type.Ref('ErrorResponse');
  };
  for (const status of [400, 429, 503]) add(status);
  if (route.url.includes(':')) add(414);
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const changesState = methods.some((method) => !BODILESS_METHODS.has(method.toUpperCase()));
  if (schema.body !== undefined || changesState) {
    add(413);
    // Not JSON, or in a content coding (`refuseContentEncoding`), which a route taking any type answers too.
    add(415);
  }
  if (changesState) add(403);
  if (route.url.startsWith(adminPrefix)) add(401);
  route.schema = { ...route.schema, response };
}

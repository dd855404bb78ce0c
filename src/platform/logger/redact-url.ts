/**
 * Route parameters that are credentials by themselves: a guest order's access token (`/guest-orders/:token`,
 * `…/cancel`, `…/pay`) lets whoever holds it read, pay and cancel that order for GUEST_ORDER_LINK_TTL_S.
 */
const SECRET_PARAMS = new Set([':token']);
export const REDACTED = '[redacted]';

/**
 * The request URL as logs and traces may keep it: each path segment the route template names as a
 * {@link SECRET_PARAMS secret parameter} replaced by `[redacted]`; the query string is kept (no route takes a
 * secret there). Segments are matched by position, which holds for Salescale's routes (no wildcards).
 *
 * @param routeTemplate the matched route (`request.routeOptions.url`); none for a 404, whose URL is kept.
 */
export function redactUrl(url: string, routeTemplate: string | undefined): string {
  if (!routeTemplate) return url;
  const template = routeTemplate.split('/');
  if (!template.some((segment) => SECRET_PARAMS.has(segment))) return url;
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  return (
    path
      .split('/')
      .map((segment, i) => (SECRET_PARAMS.has(template[i] ?? '') ? REDACTED : segment))
      .join('/') + query
  );
}

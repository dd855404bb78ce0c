/**
 * Route parameters that are credentials by themselves: a guest order's access token (`/guest-orders/:token`,
 * `…/cancel`, `…/pay`) lets whoever holds it read, pay and cancel that order for GUEST_ORDER_LINK_TTL_S.
 */
const SECRET_PARAMS = new Set([':token']);
/**
 * The path segment that comes before a secret parameter in every route that has one: in a URL no route
 * answers (a 404, a 405: a prefetcher GETting a pay link, a typo after the token) the segment after it is
 * taken for a token all the same.
 */
const SECRET_AFTER = new Set(['guest-orders']);
export const REDACTED = '[redacted]';

/**
 * The request URL as logs and traces may keep it: each path segment the route template names as a
 * {@link SECRET_PARAMS secret parameter} replaced by `[redacted]`; the query string is kept (no route takes a
 * secret there). Segments are matched by position, which holds for Salescale's routes (no wildcards).
 *
 * @param routeTemplate the matched route (`request.routeOptions.url`); none for a 404 or a 405, whose URL is kept
 *   but for the segment after each {@link SECRET_AFTER} one.
 */
export function redactUrl(url: string, routeTemplate: string | undefined): string {
  if (routeTemplate ? !routeTemplate.split('/').some((segment) => SECRET_PARAMS.has(segment)) : ![...SECRET_AFTER].some((segment) => url.includes(segment))) return url;
  const queryAt = url.indexOf('?');
  const path = (queryAt === -1 ? url : url.slice(0, queryAt)).split('/');
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  const template = routeTemplate?.split('/');
  const secret = (segment: string, i: number) =>
    template ? SECRET_PARAMS.has(template[i] ?? '') : i > 0 && segment !== '' && SECRET_AFTER.has(path[i - 1]!);
  return path.map((segment, i) => (secret(segment, i) ? REDACTED : segment)).join('/') + query;
}

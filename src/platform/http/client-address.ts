import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * The client's address as the platform's edge names it in `header` (CLIENT_ADDRESS_HEADER, e.g. App Platform's
 * `do-connecting-ip`): one IP address, else undefined. Several values (a client's own header beside the edge's,
 * which Node joins with ", ") or anything that is not an address name nobody for sure, and the caller keeps the
 * connection's peer: a shared budget rather than one a client picks for itself.
 */
export function getEdgeClientAddress(headers: IncomingHttpHeaders, header: string): string | undefined {
  const value = headers[header];
  if (typeof value !== 'string') return undefined;
  const address = value.trim();
  return isIP(address) === 0 ? undefined : address;
}

/**
 * Makes `request.ip` (what rate limits, degrade mode and the waiting room count by) the address in `header`. Fastify
 * reads only X-Forwarded-For, through `trustProxy`; App Platform names the client in a header of its own. Must be
 * added before the plugins that read `request.ip`, so that their hooks run after this one.
 */
export function useEdgeClientAddress(app: FastifyInstance, header: string): void {
  app.addHook('onRequest', async (request) => {
    const address = getEdgeClientAddress(request.headers, header);
    if (address !== undefined) Object.defineProperty(request, 'ip', { value: address, enumerable: true });
  });
}

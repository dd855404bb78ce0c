import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
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

/** Whether the address `hop` entries from the connection's end (0: the peer itself) is a proxy whose X-Forwarded-For is believed. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/** IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`): an IPv4 client on a dual-stack socket, an IPv4 proxy subnet so written. */
const IPV4_MAPPED = new BlockList();
IPV4_MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/**
 * TRUST_PROXY as one trust function, which Fastify's `trustProxy` and {@link getForwardedClientAddress} both use, so
 * that a request the router refuses is counted against the same client as any other. A hop count trusts the nearest
 * `hops` proxies whatever their address (Fastify 5 takes a bare number as "trust nothing"); a list trusts those
 * addresses and subnets as proxy-addr (Fastify's) does: an IPv4 address, or an IPv4-mapped IPv6 one, against the IPv4
 * entries and the IPv4-mapped ones (`::ffff:10.0.0.0/104`), any other IPv6 address against the other IPv6 entries. A
 * BlockList alone matched across families: `::/64` (which holds `::ffff:0:0/96`) trusted every IPv4 client, and with it
 * an X-Forwarded-For the client wrote itself. `false`: no proxy is trusted.
 */
export function getProxyTrust(trust: string[] | number): ProxyTrust | false {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  if (trust.length === 0) return false;
  const ipv4Proxies = new BlockList();
  const ipv6Proxies = new BlockList();
  for (const entry of trust) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const mapped = family === 'ipv6' && IPV4_MAPPED.check(address, 'ipv6');
    // An IPv4-mapped subnet shorter than the mapping's own /96 holds no IPv4 address as such: proxy-addr matches nothing with it.
    if (mapped && bits !== undefined && Number(bits) < 96) continue;
    const proxies = family === 'ipv4' || mapped ? ipv4Proxies : ipv6Proxies;
    if (bits === undefined) proxies.addAddress(address, family);
    else proxies.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    const family = isIP(address);
    if (family === 4) return ipv4Proxies.check(address, 'ipv4');
    if (family !== 6) return false;
    return IPV4_MAPPED.check(address, 'ipv6') ? ipv4Proxies.check(address, 'ipv6') : ipv6Proxies.check(address, 'ipv6');
  };
}

/**
 * The client as Fastify's `request.ip` names it with `trust` (proxy-addr's walk): from the connection's peer leftwards
 * through X-Forwarded-For, each entry believed only while the one before it is a trusted proxy. For a request Fastify
 * builds without its trust setting: a URL its router refuses (`frameworkErrors`).
 */
export function getForwardedClientAddress(request: IncomingMessage, trust: ProxyTrust): string | undefined {
  const header = request.headers['x-forwarded-for'];
  const entries = typeof header === 'string' ? header.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '') : [];
  let client = request.socket.remoteAddress;
  for (let hop = 0; client !== undefined && hop < entries.length && trust(client, hop); hop++) client = entries[entries.length - 1 - hop];
  return client;
}

import { isIP } from 'node:net';

/**
 * Who a limit is counted against.
 *
 * - A signed-in buyer is counted by customer id (`customer:<id>`). During a sale a whole mobile
 *   carrier's customers can reach us from a handful of carrier-grade-NAT addresses, and an office or
 *   campus shares one: limiting them by address would lock out thousands of honest buyers at once.
 *   An id is also what an abuser cannot rotate for free (accounts cost a sign-up; addresses do not).
 * - Anyone else is counted by client address (`ip:<address>`). The address is Fastify's `request.ip`,
 *   which honours `X-Forwarded-For` only through proxies listed in `TRUST_PROXY`; from anywhere else
 *   the header is ignored, so rotating it does not buy a fresh budget.
 * - IPv6 addresses are grouped by their /64: one subscriber is routinely given a whole /64 and can
 *   pick a new address from it for every request.
 */
export interface RateLimitSubject {
  key: string;
  signedIn: boolean;
}

export function rateLimitSubject(input: { ip: string; customerId?: string | undefined }): RateLimitSubject {
  if (input.customerId !== undefined && input.customerId !== '') return { key: `customer:${input.customerId}`, signedIn: true };
  return { key: `ip:${clientAddressKey(input.ip)}`, signedIn: false };
}

/**
 * An IPv4 address as is; an IPv4-mapped IPv6 address as IPv4; other IPv6 addresses as their /64. A source
 * port some proxies write into `X-Forwarded-For` (`198.51.100.9:51234`, `[2001:db8::1]:443`) is dropped:
 * kept, every new connection of one client would count as a new client.
 */
export function clientAddressKey(raw: string): string {
  const ip = withoutPort(raw);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIP(ip) !== 6) return ip;
  return `${expandIpv6(ip).slice(0, 4).join(':')}::/64`;
}

function expandIpv6(ip: string): string[] {
  const [head = '', tail] = ip.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((group) => (group.includes('.') ? group : group.toLowerCase().replace(/^0+(?=.)/, '')));
}

function withoutPort(ip: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(ip);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(ip);
  return v4 ? v4[1]! : ip;
}

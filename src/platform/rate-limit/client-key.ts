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

/** An IPv4 address as is; an IPv4-mapped IPv6 address as IPv4; other IPv6 addresses as their /64. */
export function clientAddressKey(ip: string): string {
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

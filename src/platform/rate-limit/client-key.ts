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
 * An IPv4 address as is; an IPv4-mapped IPv6 address as IPv4, however it is spelt (`::ffff:198.51.100.9`,
 * `::ffff:c633:6409` as Python's `ipaddress` writes it, all eight groups): read as IPv6, every IPv4 client behind
 * such a proxy fell into the one /64 `0:0:0:0::/64` and shared a single budget. Other IPv6 addresses as their /64.
 * A source port some proxies write into `X-Forwarded-For` (`198.51.100.9:51234`, `[2001:db8::1]:443`) is dropped:
 * kept, every new connection of one client would count as a new client.
 */
export function clientAddressKey(raw: string): string {
  const ip = withoutPort(raw);
  if (isIP(ip) !== 6) return ip;
  const groups = expandIpv6(ip);
  if (groups.slice(0, 5).every((group) => group === '0') && groups[5] === 'ffff') {
    const [high = 0, low = 0] = [groups[6], groups[7]].map((group) => Number.parseInt(group ?? '0', 16));
    return [high >> 8, high & 255, low >> 8, low & 255].join('.');
  }
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, lowercase without leading zeros (an embedded dotted quad as its two groups). */
function expandIpv6(ip: string): string[] {
  const [head = '', tail] = ip.split('%')[0]!.split('::');
  const parts = (text: string) => (text === '' ? [] : text.split(':').flatMap(groupsOf));
  const left = parts(head);
  const right = tail === undefined ? [] : parts(tail);
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return groups.map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''));
}

function groupsOf(part: string): string[] {
  if (!part.includes('.')) return [part];
  const [a = 0, b = 0, c = 0, d = 0] = part.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

function withoutPort(ip: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(ip);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(ip);
  return v4 ? v4[1]! : ip;
}

import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A guest's access to their order: `<orderId>.<HMAC-SHA256(secret, orderId)>`, given once in the
 * checkout reply and in the confirmation link. Without it (or with another order's) a guest order is
 * a 404 like any order that is not yours. It reads the order for `ttlS` after the order was placed
 * (a link forwarded, logged or left in a browser's history stops showing what was bought); it pays
 * the order only while the order waits for payment, which the payment enforces.
 */
export function createGuestOrderLinks(secret: string, options: { ttlS: number; clock?: () => number }) {
  const now = options.clock ?? Date.now;
  const mac = (orderId: number) => createHmac('sha256', `guest-order:${secret}`).update(String(orderId)).digest('base64url');
  return {
    sign: (orderId: number) => `${orderId}.${mac(orderId)}`,
    /** The order id a token grants, or undefined. */
    verify(token: string): number | undefined {
      const [id, given] = token.split('.', 2);
      // Only the id as `sign` writes it: `0<id>` (or any other spelling Number() reads) is not a second form of the link.
      const orderId = id !== undefined && /^[1-9][0-9]*$/.test(id) ? Number(id) : Number.NaN;
      if (!given || !Number.isSafeInteger(orderId)) return undefined;
      const expected = Buffer.from(mac(orderId));
      const actual = Buffer.from(given);
      return expected.length === actual.length && timingSafeEqual(expected, actual) ? orderId : undefined;
    },
    /** Whether an order placed at `createdAt` (ISO) is still served by its link. */
    readable: (createdAt: string) => now() - Date.parse(createdAt) < options.ttlS * 1000,
  };
}

export type GuestOrderLinks = ReturnType<typeof createGuestOrderLinks>;

/**
 * Where a buyer sees an order on the shop at `shopUrl` (SHOP_URL, which may carry a path prefix behind a proxy): a
 * guest's by its access link, an account's by its order page. Resolved as URLs, so a trailing slash, a prefix, a
 * query or a fragment in SHOP_URL give a working address, not a string glued onto it.
 */
export function createOrderPageUrls(shopUrl: string, links: GuestOrderLinks): (orderId: number, guest: boolean) => string {
  const base = new URL(shopUrl);
  base.search = '';
  base.hash = '';
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return (orderId, guest) => new URL(guest ? `guest-orders/${links.sign(orderId)}` : `orders/${orderId}`, base).toString();
}

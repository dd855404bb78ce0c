/**
 * The flash-sale request mix shared by `capacity` and `sale-mix`: shoppers browsing (product pages
 * skewed to the sale's hot products, listings), signed-in buyers filling carts, and checkouts of hot
 * products. Customers are inserted directly and their sessions minted through the app's own session
 * store, so setting up thousands of buyers costs no password hashing.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createSessionStore, SESSION_COOKIE } from '../src/modules/customers/index.ts';
import { getCookieName } from '../src/platform/http/host-cookies.ts';
import { TEST_REDIS_URL } from '../test/helpers/db.ts';
import { createRng } from '../src/lib/rng.ts';
import type { OpenRequest } from './open-load.ts';
import { BENCH_SECRETS, type BenchDatabase } from './stack.ts';

/** Share of arrivals per kind; the rest of browse is listings. */
export const SALE_MIX = { productPage: 0.62, listing: 0.13, cartAdd: 0.12, cartView: 0.05, checkout: 0.08 };
export const SLO = { errorRate: 0.01, p95Ms: 500, p99Ms: 1000 };

export interface SaleWorkload {
  next(i: number): OpenRequest;
  describe: string;
}

const HOT_PRODUCTS = 5;
const HOT_STOCK = 50_000_000;

export async function prepareSaleWorkload(options: { database: BenchDatabase; appUrl: string; customers?: number; seed?: number }): Promise<SaleWorkload> {
  const { database } = options;
  const customerCount = options.customers ?? 500;
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  let ids: number[];
  try {
    const rows = await pool.query<{ id: string }>(
      `INSERT INTO customers (email, name, password_hash)
       SELECT 'bench-' || g || '@example.com', 'Bench buyer ' || g, '$argon2id$v=19$m=19456,t=2,p=1$YmVuY2g$bm90LWEtcmVhbC1oYXNo'
       FROM generate_series(1, $1::int) AS g RETURNING id`,
      [customerCount],
    );
    ids = rows.rows.map((r) => Number(r.id));
  } finally {
    await pool.end();
  }
  const redis = new Redis(TEST_REDIS_URL);
  let cookies: string[];
  try {
    const sessions = createSessionStore({ redis, prefix: database.redisPrefix, secret: BENCH_SECRETS.SESSION_SECRET, ttlS: 3600 });
    // The benchmarked stack runs in production: its session cookie is `__Host-` prefixed.
    cookies = await Promise.all(ids.map(async (id) => `${getCookieName(SESSION_COOKIE, true).name}=${await sessions.create(id)}`));
  } finally {
    redis.disconnect();
  }
  // Hot products get stock the run cannot exhaust: this mix measures serving, not selling out.
  for (let id = 1; id <= HOT_PRODUCTS; id++) {
    const res = await fetch(`${options.appUrl}/api/v1/admin/products/${id}/stock`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${BENCH_SECRETS.ADMIN_API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ available: HOT_STOCK }),
    });
    if (res.status !== 200) throw new Error(`setting stock of product ${id}: ${res.status} ${await res.text()}`);
  }

  const rng = createRng(options.seed ?? 7);
  const products = Math.max(database.products, HOT_PRODUCTS);
  // Half of product views land on the hot products, the rest spread over the catalog.
  const pickProduct = () => (rng() < 0.5 ? 1 + Math.floor(rng() * HOT_PRODUCTS) : 1 + Math.floor(rng() * products));
  const buyerOf = () => Math.floor(rng() * cookies.length);
  // Each buyer's cart holds a few lines that quantities are set on, as a shopper's does: cart adds
  // that spread over the whole catalog would grow every cart without bound and make each cart reply
  // slower as the run goes on (a property of the load, not of the instance).
  const cartProductOf = (buyer: number) => {
    const slot = Math.floor(rng() * 3);
    if (slot === 0) return 1 + (buyer % HOT_PRODUCTS);
    return 1 + HOT_PRODUCTS + ((buyer * (slot === 1 ? 7 : 13)) % Math.max(1, products - HOT_PRODUCTS));
  };
  const m = SALE_MIX;
  const edges = [m.productPage, m.productPage + m.listing, m.productPage + m.listing + m.cartAdd, m.productPage + m.listing + m.cartAdd + m.cartView];

  return {
    describe: `${Math.round(m.productPage * 100)} % product pages (half on ${HOT_PRODUCTS} hot products), ${Math.round(m.listing * 100)} % listings, ${Math.round(m.cartAdd * 100)} % cart adds (3 products per buyer), ${Math.round(m.cartView * 100)} % cart views, ${Math.round(m.checkout * 100)} % checkouts of a hot product; ${customerCount} signed-in buyers`,
    next(): OpenRequest {
      const r = rng();
      if (r < edges[0]!) return { kind: 'browse', method: 'GET', path: `/api/v1/products/${pickProduct()}` };
      if (r < edges[1]!) return { kind: 'browse', method: 'GET', path: `/api/v1/products?limit=20` };
      if (r < edges[2]!) {
        // 409: not enough stock for the cart line (a scarce product), a documented refusal.
        const buyer = buyerOf();
        return { kind: 'cart', method: 'PUT', path: `/api/v1/cart/items/${cartProductOf(buyer)}`, headers: { cookie: cookies[buyer]! }, body: { quantity: 1 + Math.floor(rng() * 2) }, refusals: [409] };
      }
      if (r < edges[3]!) return { kind: 'cart', method: 'GET', path: '/api/v1/cart', headers: { cookie: cookies[buyerOf()]! } };
      return {
        kind: 'checkout',
        method: 'POST',
        path: '/api/v1/orders',
        headers: { cookie: cookies[buyerOf()]!, 'idempotency-key': randomUUID() },
        body: { items: [{ productId: 1 + Math.floor(rng() * HOT_PRODUCTS), quantity: 1 }] },
        // Sold out or over a purchase limit: the documented refusals of a sale, not failures.
        refusals: [409, 422],
      };
    },
  };
}

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createCartService, createCartStore } from '../src/modules/cart/index.ts';
import type { CatalogService, Product } from '../src/modules/catalog/index.ts';
import { NotFoundError } from '../src/shared/errors.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';

// README, Cart: "A cart has one currency, as an order does ... checked against the cart as it is when the line is
// written ... so changes at once from two tabs or a script can neither take more than the last places nor put two
// currencies in one cart", and the guest cart "joins the account's cart at sign-in ... in one Redis script, by the
// rules of adding a product: ... a product new to it joins only if priced in the cart's currency".
// The merge reads the account cart's currency before its script runs, and the script does not check that the
// account cart still holds what was read (the cart-set script does): a line another device adds in between
// (a phone signed in to the account) and the guest's lines of another currency both land in one cart.

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

it('a guest cart merged at sign-in while another device adds a line in another currency leaves one currency in the account cart', async () => {
  const create = async (sku: string, currency: string) =>
    (await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku, name: sku, priceCents: 500, currency, available: 10 } })).json().id as number;
  const usd = await create('merge-race-usd', 'USD');
  const eur = await create('merge-race-eur', 'EUR');
  const [customerId] = await insertCustomers(t.platform.db.primary, 1);
  const [session] = (await mintSessionCookies(t.env, [customerId!])) as [string];

  // The visitor's guest cart (this browser, not yet signed in) holds the EUR product.
  const guestPut = await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${eur}`, payload: { quantity: 1 } });
  assert.equal(guestPut.statusCode, 200, guestPut.body);
  const guestCookie = ([] as string[]).concat(guestPut.headers['set-cookie'] as string[]).find((c) => c.startsWith('salescale_guest='))!;
  const guest = `g:${guestCookie.split('=')[1]!.split('.')[0]!}` as const;

  // The catalog as the app serves it; the first time the merge looks up the guest's product, the customer's other
  // device adds the USD product to the (still empty) account cart through the real API: the interleaving of a
  // sign-in on one device and an "add to cart" on another.
  let otherDeviceAdded: number | undefined;
  const product = async (id: number): Promise<Product> => {
    const reply = await t.app.inject({ method: 'GET', url: `/api/v1/products/${id}` });
    if (reply.statusCode === 404) throw new NotFoundError('PRODUCT_NOT_FOUND', 'not found');
    return reply.json();
  };
  const catalog = {
    async getProduct(id: number) {
      if (id === eur && otherDeviceAdded === undefined) {
        otherDeviceAdded = (await t.app.inject({ method: 'PUT', url: `/api/v1/cart/items/${usd}`, headers: { cookie: session }, payload: { quantity: 1 } })).statusCode;
      }
      return product(id);
    },
    findProduct: async (id: number) => product(id).catch(() => undefined),
  } as unknown as CatalogService;
  const cart = createCartService({ store: createCartStore({ redis: t.platform.redis, prefix: t.config.redis.prefix, ttlS: 3600, abandonedAfterS: 3600 }), catalog });

  const merge = await cart.mergeGuest(guest, customerId!);
  assert.equal(otherDeviceAdded, 200, 'the other device added the USD product to the empty account cart');

  const view = (await t.app.inject({ method: 'GET', url: '/api/v1/cart', headers: { cookie: session } })).json();
  const currencies = [...new Set(view.items.map((item: { currency: string }) => item.currency))];
  assert.deepEqual(
    currencies,
    ['USD'],
    `the EUR line must stay in the guest cart (left: MIXED_CURRENCIES), not join a USD cart; cartMerge ${JSON.stringify(merge?.report)}, account cart ${JSON.stringify(view.items)}`,
  );
});

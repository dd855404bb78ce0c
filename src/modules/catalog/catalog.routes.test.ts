import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

async function createProduct(body: Record<string, unknown>) {
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: body });
  assert.equal(response.statusCode, 201, response.body);
  return response.json();
}

describe('catalog API', () => {
  it('creates a product and serves it publicly with its stock', async () => {
    const created = await createProduct({ sku: 'TSHIRT-1', name: 'Sale T-shirt', priceCents: 1999, available: 7 });
    assert.deepEqual(created, {
      id: created.id,
      sku: 'TSHIRT-1',
      name: 'Sale T-shirt',
      description: '',
      priceCents: 1999,
      currency: 'USD',
      categoryId: null,
      status: 'active',
      available: 7,
      maxPerCustomer: null,
    });
    const read = await t.app.inject({ method: 'GET', url: `/api/v1/products/${created.id}` });
    assert.equal(read.statusCode, 200);
    assert.deepEqual(read.json(), created);
  });

  it('takes a product id only as a canonical decimal integer: another spelling of 1 is a 400, not product 1', async () => {
    const product = await createProduct({ sku: 'CANON-1', name: 'Canonical', priceCents: 100 });
    assert.equal((await t.app.inject({ url: `/api/v1/products/${product.id}` })).statusCode, 200);
    for (const spelling of ['0x1', '+1', '01', '1.0', '1.', '1e0', '0b1', '0o1', '%201', '1%20']) {
      const id = spelling.replace(/1/, String(product.id));
      for (const url of [`/api/v1/products/${id}`, `/api/v1/admin/products/${id}`]) {
        const reply = await t.app.inject({ url, headers: t.admin });
        assert.equal(reply.statusCode, 400, `${url}: ${reply.body}`);
        assert.equal(reply.json().error.code, 'VALIDATION_FAILED', url);
        assert.equal(reply.json().error.details.in, 'params', url);
      }
    }
    // Query integers too: `limit=0x2` is not 2.
    for (const query of ['limit=0x2', 'limit=+2', 'limit=02', 'minPrice=1e2', 'maxPrice=%20100']) {
      const reply = await t.app.inject({ url: `/api/v1/products?${query}` });
      assert.equal(reply.statusCode, 400, `${query}: ${reply.body}`);
      assert.equal(reply.json().error.details.in, 'querystring', query);
    }
    assert.equal((await t.app.inject({ url: '/api/v1/products?limit=2&minPrice=0&maxPrice=100' })).statusCode, 200);
  });

  it('serves an admin update at once, without waiting for the cache TTL', async () => {
    const product = await createProduct({ sku: 'MUG-1', name: 'Mug', priceCents: 500 });
    assert.equal((await t.app.inject({ url: `/api/v1/products/${product.id}` })).json().priceCents, 500); // now cached
    const patch = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${product.id}`, headers: t.admin, payload: { priceCents: 450 } });
    assert.equal(patch.statusCode, 200);
    assert.equal((await t.app.inject({ url: `/api/v1/products/${product.id}` })).json().priceCents, 450);
    const stock = await t.app.inject({ method: 'PUT', url: `/api/v1/admin/products/${product.id}/stock`, headers: t.admin, payload: { available: 3 } });
    assert.equal(stock.json().available, 3);
    assert.equal((await t.app.inject({ url: `/api/v1/products/${product.id}` })).json().available, 3);
  });

  it('refuses a product, category or sale name of only blanks (as a customer name), on create and on update, and writes nothing', async () => {
    const product = await createProduct({ sku: 'NAMED-1', name: 'Named', priceCents: 100 });
    const category = await t.app.inject({ method: 'POST', url: '/api/v1/admin/categories', headers: t.admin, payload: { slug: 'named', name: 'Named' } });
    assert.equal(category.statusCode, 201, category.body);
    const window = { startsAt: '2030-11-27T00:00:00Z', endsAt: '2030-11-28T00:00:00Z' };
    const sale = await t.app.inject({ method: 'POST', url: '/api/v1/admin/sale-events', headers: t.admin, payload: { name: 'Named', ...window } });
    assert.equal(sale.statusCode, 201, sale.body);
    for (const blank of [' ', '   ', '\t\n', '\u00a0\u3000']) {
      const requests = [
        { method: 'POST' as const, url: '/api/v1/admin/products', payload: { sku: 'BLANK-1', name: blank, priceCents: 100 } },
        { method: 'PATCH' as const, url: `/api/v1/admin/products/${product.id}`, payload: { name: blank } },
        { method: 'POST' as const, url: '/api/v1/admin/categories', payload: { slug: 'blank', name: blank } },
        { method: 'PATCH' as const, url: `/api/v1/admin/categories/${category.json().id}`, payload: { name: blank } },
        { method: 'POST' as const, url: '/api/v1/admin/sale-events', payload: { name: blank, ...window } },
        { method: 'PATCH' as const, url: `/api/v1/admin/sale-events/${sale.json().id}`, payload: { name: blank } },
      ];
      for (const request of requests) {
        const reply = await t.app.inject({ ...request, headers: t.admin });
        assert.equal(reply.statusCode, 400, `${request.method} ${request.url} ${JSON.stringify(blank)}: ${reply.body}`);
        assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
      }
    }
    assert.equal((await t.app.inject({ url: `/api/v1/admin/products/${product.id}`, headers: t.admin })).json().name, 'Named');
    assert.equal((await t.app.inject({ url: `/api/v1/admin/categories/${category.json().id}`, headers: t.admin })).json().name, 'Named');
    assert.equal((await t.app.inject({ url: `/api/v1/admin/sale-events/${sale.json().id}`, headers: t.admin })).json().name, 'Named');
    const blanks = await t.platform.db.primary.execute<{ n: number }>(sql`select count(*)::int as n from products where sku = 'BLANK-1'`);
    assert.equal(blanks.rows[0]!.n, 0);
    // A name with blanks around visible text is a name.
    assert.equal((await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${product.id}`, headers: t.admin, payload: { name: ' Named again ' } })).statusCode, 200);
  });

  it('keeps SKUs unique whatever their case: a SKU differing from another only in case is 409 SKU_TAKEN', async () => {
    const first = await createProduct({ sku: 'Case-Sku-1', name: 'First', priceCents: 100 });
    for (const sku of ['case-sku-1', 'CASE-SKU-1', 'Case-Sku-1']) {
      const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku, name: 'Second', priceCents: 100 } });
      assert.equal(reply.statusCode, 409, `${sku}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'SKU_TAKEN');
      assert.equal(reply.json().error.details.sku, sku);
    }
    assert.equal((await t.app.inject({ url: `/api/v1/products/${first.id}` })).json().sku, 'Case-Sku-1', 'stored as typed');
    assert.equal((await createProduct({ sku: 'Case-Sku-2', name: 'Other', priceCents: 100 })).sku, 'Case-Sku-2');
  });

  it('answers a create sent again (its reply lost) with the product it made, once, and a SKU taken by another product with that product\'s id', async () => {
    const body = { sku: 'Retry-1', name: 'Door buster', description: 'Only today', priceCents: 4999, currency: 'EUR', status: 'draft', available: 12, maxPerCustomer: 2 };
    const created = await createProduct(body);
    // The operator's client timed out and sends the create again, while the product already sells units.
    await t.platform.db.primary.execute(
      sql`update product_stock set available = available - 1 where product_id = ${created.id} and shard = (select shard from product_stock where product_id = ${created.id} order by available desc limit 1)`,
    );
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: body });
    assert.equal(again.statusCode, 201, again.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.json(), { ...created, available: 11 }, 'the same product, its stock not set again');
    const count = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from products where lower(sku) = 'retry-1'`);
    assert.equal(Number(count.rows[0]!.n), 1);

    // Another product under that SKU (here: another price) is refused, and the reply says which product holds it.
    const other = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { ...body, sku: 'RETRY-1', priceCents: 3999 } });
    assert.equal(other.statusCode, 409, other.body);
    assert.equal(other.json().error.code, 'SKU_TAKEN');
    assert.deepEqual(other.json().error.details, { sku: 'RETRY-1', productId: created.id });
  });

  it('refuses a currency that is not an ISO 4217 currency in use, on create and on update, and writes nothing', async () => {
    for (const currency of ['UDS', 'XXX']) {
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `CUR-${currency}`, name: 'Typo', priceCents: 100, currency } });
      assert.equal(created.statusCode, 422, created.body);
      assert.equal(created.json().error.code, 'UNKNOWN_CURRENCY');
      assert.deepEqual(created.json().error.details, { currency });
    }
    const product = await createProduct({ sku: 'CUR-OK', name: 'Priced', priceCents: 100, currency: 'JPY' });
    const patched = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/products/${product.id}`, headers: t.admin, payload: { currency: 'EUX' } });
    assert.equal(patched.statusCode, 422, patched.body);
    assert.equal(patched.json().error.code, 'UNKNOWN_CURRENCY');
    assert.equal((await t.app.inject({ url: `/api/v1/products/${product.id}` })).json().currency, 'JPY');
  });

  it('hides archived and draft products from shoppers but not from admins', async () => {
    const product = await createProduct({ sku: 'OLD-1', name: 'Old', priceCents: 100 });
    const archived = await t.app.inject({ method: 'POST', url: `/api/v1/admin/products/${product.id}/archive`, headers: t.admin });
    assert.equal(archived.json().status, 'archived');
    const publicRead = await t.app.inject({ url: `/api/v1/products/${product.id}` });
    assert.equal(publicRead.statusCode, 404);
    assert.equal(publicRead.json().error.code, 'PRODUCT_NOT_FOUND');
    const draft = await createProduct({ sku: 'NEW-1', name: 'Soon', priceCents: 100, status: 'draft' });
    assert.equal((await t.app.inject({ url: `/api/v1/products/${draft.id}` })).statusCode, 404);
    assert.equal((await t.app.inject({ url: `/api/v1/admin/products/${draft.id}`, headers: t.admin })).json().status, 'draft');
  });
});

describe('category tree under concurrent admin changes', () => {
  it('never lets two moves at once make a cycle: of A under B and B under A, one is refused 422 CATEGORY_CYCLE', async () => {
    for (let round = 0; round < 8; round++) {
      const create = async (slug: string) => {
        const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/categories', headers: t.admin, payload: { slug, name: slug } });
        assert.equal(reply.statusCode, 201, reply.body);
        return reply.json().id as number;
      };
      const [a, b] = [await create(`cycle-a-${round}`), await create(`cycle-b-${round}`)];
      const move = (id: number, parentId: number) => t.app.inject({ method: 'PATCH', url: `/api/v1/admin/categories/${id}`, headers: t.admin, payload: { parentId } });
      const replies = await Promise.all([move(a, b), move(b, a)]);
      const codes = replies.map((reply) => (reply.statusCode === 200 ? 'ok' : reply.json().error.code)).sort();
      assert.deepEqual(codes, ['CATEGORY_CYCLE', 'ok'], `round ${round}`);
    }
  });
});

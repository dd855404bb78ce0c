import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import type { Database } from '../../platform/db/client.ts';
import { createSaleEventService, SaleEventInUseError } from '../sale-events/sale-events.service.ts';
import { CategoryInUseError } from './catalog.errors.ts';
import { type CatalogServiceDeps, createCatalogService } from './catalog.service.ts';

/**
 * PostgreSQL 18 (the embedded one `salescale up` runs) reports a refused ON DELETE RESTRICT as 23001
 * restrict_violation; PostgreSQL 15 (the tests' server) as 23503 foreign_key_violation. Both are "in use".
 */
const refusals = [
  { code: '23503', severity: 'ERROR', message: 'update or delete on table violates foreign key constraint' },
  { code: '23001', severity: 'ERROR', message: 'update or delete on table violates RESTRICT setting of foreign key constraint' },
];

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

async function createCategory(payload: Record<string, unknown>): Promise<number> {
  const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/categories', headers: t.admin, payload });
  assert.equal(reply.statusCode, 201, reply.body);
  return reply.json().id;
}

describe('DELETE /admin/categories/:id of a category in use', () => {
  it('is 409 CATEGORY_IN_USE while it has a subcategory (the parent key is RESTRICT), and deletes once it has none', async () => {
    const parent = await createCategory({ slug: 'in-use-parent', name: 'Parent' });
    const child = await createCategory({ slug: 'in-use-child', name: 'Child', parentId: parent });
    const refused = await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/categories/${parent}`, headers: t.admin });
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(refused.json().error.code, 'CATEGORY_IN_USE');
    assert.equal((await t.app.inject({ url: `/api/v1/admin/categories/${parent}`, headers: t.admin })).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/categories/${child}`, headers: t.admin })).statusCode, 204);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/categories/${parent}`, headers: t.admin })).statusCode, 204);
  });

  it('is 409 CATEGORY_IN_USE while a product is in it', async () => {
    const category = await createCategory({ slug: 'in-use-products', name: 'With products' });
    const product = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'IN-USE-1', name: 'In use', priceCents: 100, categoryId: category } });
    assert.equal(product.statusCode, 201, product.body);
    const refused = await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/categories/${category}`, headers: t.admin });
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(refused.json().error.code, 'CATEGORY_IN_USE');
  });
});

describe('a delete refused by a RESTRICT foreign key, as each PostgreSQL reports it', () => {
  for (const refusal of refusals) {
    it(`is CategoryInUseError for SQLSTATE ${refusal.code}`, async () => {
      const deps = {
        db: { primary: {} },
        cache: { invalidateTags: async () => {} },
        repo: { deleteCategory: async () => { throw new Error('Failed query', { cause: Object.assign(new Error(refusal.message), refusal) }); } },
      } as unknown as CatalogServiceDeps;
      await assert.rejects(createCatalogService(deps).deleteCategory(7), CategoryInUseError);
    });

    it(`is SaleEventInUseError for SQLSTATE ${refusal.code}`, async () => {
      const fail = async () => { throw new Error('Failed query', { cause: Object.assign(new Error(refusal.message), refusal) }); };
      // The delete runs in a transaction (it reads what it deletes, for the audit trail): the refusal rejects it.
      const db = { primary: { transaction: fail } } as unknown as Database;
      await assert.rejects(createSaleEventService({ db }).remove(7), SaleEventInUseError);
    });
  }
});

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// The branch's hand list of withdrawn currencies (catalog.service.ts WITHDRAWN_CURRENCIES: HRK, CUC, ZWL, ANG, BGN)
// misses the old Sierra Leonean leone: SLL was redenominated to SLE (1000:1) on 2022-07-01 and ceased to be legal
// tender on 2023-12-31 (exchangeable at banks until 2024-03-31). No payment can be taken in it, the criterion the
// list applies to the kuna and the Cuban convertible peso; ICU still lists it, so it is accepted. SLE is the leone.
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

it('refuses the withdrawn old leone SLL as UNKNOWN_CURRENCY and takes its successor SLE', async () => {
  const sle = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'CUR-SLE', name: 'Priced in SLE', priceCents: 100, currency: 'SLE' } });
  assert.equal(sle.statusCode, 201, sle.body);
  const sll = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'CUR-SLL', name: 'Priced in SLL', priceCents: 100, currency: 'SLL' } });
  assert.equal(sll.statusCode, 422, `SLL was answered ${sll.statusCode}: ${sll.body}`);
  assert.equal(sll.json().error.code, 'UNKNOWN_CURRENCY');
});

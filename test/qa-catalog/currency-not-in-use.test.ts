import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// README: a product's `currency` "that is not an ISO 4217 currency in use" is 422 `UNKNOWN_CURRENCY` ("a typo such as
// UDS, or a code for no currency such as XXX: no payment could be taken in it"). The check uses the runtime's ICU
// list, which still holds withdrawn currencies (the Croatian kuna, replaced by the euro on 2023-01-01; the Cuban
// convertible peso, withdrawn in 2021) and units of account no shopper can pay in (the IMF's SDR, XDR; the SUCRE, XSU).
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

it('refuses a product priced in a withdrawn currency or a unit of account, as for XXX', async () => {
  const xxx = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'CUR-XXX', name: 'No currency', priceCents: 100, currency: 'XXX' } });
  assert.equal(xxx.statusCode, 422, xxx.body); // the documented case: refused
  const accepted: string[] = [];
  for (const currency of ['HRK', 'CUC', 'XDR', 'XSU']) {
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `CUR-${currency}`, name: `Priced in ${currency}`, priceCents: 100, currency } });
    if (reply.statusCode !== 422 || reply.json().error.code !== 'UNKNOWN_CURRENCY') accepted.push(`${currency}: ${reply.statusCode}`);
  }
  assert.deepEqual(accepted, [], 'currencies no payment can be taken in were accepted');
});

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

// `q` is the shoppers' name search. A name pasted from macOS (or a PIM export) often arrives decomposed (NFD: "e" +
// U+0300), while shoppers type composed text (NFC: U+00E8), and the other way round. Both are the same text to a
// person; the search must find the product whichever form the name or the query is in.
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

async function create(sku: string, name: string): Promise<number> {
  const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku, name, priceCents: 900, available: 3 } });
  assert.equal(reply.statusCode, 201, reply.body);
  return reply.json().id;
}

async function search(q: string): Promise<number[]> {
  const reply = await t.app.inject({ url: `/api/v1/products?q=${encodeURIComponent(q)}` });
  assert.equal(reply.statusCode, 200, reply.body);
  return reply.json().items.map((p: { id: number }) => p.id);
}

it('finds a product whatever the Unicode normalization form of its name or of the query', async () => {
  const decomposed = await create('NFD-1', 'Cre\u0300me bru\u0302le\u0301e'); // "Crème brûlée", NFD
  const composed = await create('NFC-1', 'P\u00e2t\u00e9 en cro\u00fbte'); // "Pâté en croûte", NFC
  assert.deepEqual(await search('cr\u00e8me'), [decomposed], 'an NFC query for a name stored in NFD');
  assert.deepEqual(await search('pa\u0302te\u0301'), [composed], 'an NFD query for a name stored in NFC');
});

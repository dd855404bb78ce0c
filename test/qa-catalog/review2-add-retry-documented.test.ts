import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { insertCustomers, mintSessionCookies } from '../helpers/commerce.ts';

// POST /cart/items adds: unlike PUT (sets the line, safe to resend), a client that resends it after a network error
// or a timeout (the first request having been applied, its reply lost) adds the units twice. It takes no
// Idempotency-Key (one sent, as POST /orders takes it, is ignored and the add applied again). That is also what
// Shopify's /cart/add.js and Medusa's line-item add do, but there it is their documented contract; here the README's
// Cart bullet, which documents the new route, says nothing of it: a client author must be told that a retried add
// adds again (and to read the cart, or set the line with PUT, before retrying), or be given a key that replays.
let t: TestApp;
let cookie: string;
let productId: number;
before(async () => {
  t = await createTestApp();
  const [id] = await insertCustomers(t.platform.db.primary, 1);
  [cookie] = (await mintSessionCookies(t.env, [id!])) as [string];
  productId = (await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'ADD-RETRY-1', name: 'Mug', priceCents: 900, available: 20 } })).json().id;
});
after(async () => {
  await t?.close();
});

it('says in the README that a retried POST /cart/items adds again, or replays it by Idempotency-Key', async () => {
  const headers = { cookie, 'idempotency-key': 'add-retry-0123456789' };
  const add = () => t.app.inject({ method: 'POST', url: '/api/v1/cart/items', headers, payload: { productId, quantity: 1 } });
  const first = await add();
  const retried = await add(); // the same request resent, as after a lost reply
  assert.equal(first.statusCode, 200, first.body);
  const replayed = retried.headers['idempotent-replayed'] === 'true';
  const readme = await readFile(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
  const bullet = /^- Cart: [\s\S]*?(?=^- )/m.exec(readme)?.[0] ?? '';
  assert.ok(bullet.includes('POST /cart/items'), 'the README Cart bullet documents POST /cart/items');
  const documented = /(retr(y|ied|ies)|resen[dt]|sent again)[^.]*\badd/i.test(bullet) || /\badd[^.]*(retr(y|ied|ies)|resen[dt]|sent again)/i.test(bullet) || /Idempotency-Key/.test(bullet);
  assert.ok(
    replayed || documented,
    `a resent add was applied again (${retried.statusCode}, Idempotent-Replayed ${String(retried.headers['idempotent-replayed'])}) and the README Cart bullet does not say so`,
  );
});

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { request } from '../helpers/http.ts';
import { startInstance, type Instance } from '../helpers/instances.ts';

// "Add to cart" adds to the cart line; when the sum is more than the stock, the API refuses it (409 OUT_OF_STOCK) and
// the line keeps what it held: the page says what the cart already holds and the API's reason, not "Added". Past a
// line's 1,000 units (422 LINE_QUANTITY_TOO_LARGE) it says the maximum and what the cart holds. An add is not
// idempotent: a double click adds once (the button is off while the add runs), and an add that gets no answer (the
// network failed) says the shopper should check the cart rather than click again.
let t: TestApp;
let web: Instance;
before(async () => {
  t = await createTestApp();
  web = await startInstance({ env: t.env });
});
after(async () => {
  await web?.stop();
  await t?.close();
});

it('refuses an add whose sum with the cart line is over the stock, saying what the cart holds, and keeps the line', async (ctx) => {
  const created = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: t.admin, body: { sku: 'ADD-OVER-1', name: 'Add over', priceCents: 700, available: 4 } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const productId = created.body.id as number;
  const browser = await launchBrowser(ctx);
  if (!browser) return;
  try {
    const page = await browser.context.newPage();
    const addFromPage = async (quantity: number) => {
      await page.goto(`${web.url}/products/${productId}`);
      await page.locator('[data-add-to-cart]').waitFor({ state: 'visible' });
      await page.fill('#quantity', String(quantity));
      await page.click('[data-add-to-cart] button[type=submit]');
      await page.waitForFunction(() => (document.querySelector('[data-message]')?.textContent ?? '') !== '');
      return (await page.locator('[data-message]').textContent()) ?? '';
    };
    assert.match(await addFromPage(3), /^Added: 3 in your cart\./);
    assert.match(await addFromPage(2), /Your cart already holds 3 of this product, so 5 were asked for: only 4 of product \d+ available/);
    const cart = await page.request.get(`${web.url}/api/v1/cart`);
    const line = (await cart.json()).items.find((item: { productId: number }) => item.productId === productId);
    assert.equal(line?.quantity, 3, 'the refused add leaves the line as it was');
  } finally {
    await browser.close();
  }
});

it('adds once on a double click, says to check the cart when the network fails, and names a line maximum', async (ctx) => {
  const created = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: t.admin, body: { sku: 'ADD-OVER-2', name: 'Add twice', priceCents: 700, available: 5000 } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const productId = created.body.id as number;
  const browser = await launchBrowser(ctx);
  if (!browser) return;
  try {
    const page = await browser.context.newPage();
    const line = async () => ((await (await page.request.get(`${web.url}/api/v1/cart`)).json()).items.find((item: { productId: number }) => item.productId === productId)?.quantity ?? 0) as number;
    const open = async () => {
      await page.goto(`${web.url}/products/${productId}`);
      await page.locator('[data-add-to-cart]').waitFor({ state: 'visible' });
      await page.fill('#quantity', '1');
    };
    const message = async () => {
      await page.waitForFunction(() => (document.querySelector('[data-message]')?.textContent ?? '') !== '');
      return (await page.locator('[data-message]').textContent()) ?? '';
    };
    await open();
    await page.dblclick('[data-add-to-cart] button[type=submit]');
    assert.match(await message(), /^Added: 1 in your cart\./);
    assert.equal(await line(), 1, 'a double click added twice');

    await open();
    await page.route('**/api/v1/cart/items', (route) => route.abort('internetdisconnected'));
    await page.click('[data-add-to-cart] button[type=submit]');
    assert.match(await message(), /check your cart before adding again/);
    assert.equal(await page.locator('[data-add-to-cart] button[type=submit]').isEnabled(), true, 'the button is usable again');
    await page.unroute('**/api/v1/cart/items');

    const put = await page.request.put(`${web.url}/api/v1/cart/items/${productId}`, { data: { quantity: 999 } });
    assert.equal(put.status(), 200, await put.text());
    await open();
    await page.fill('#quantity', '5');
    await page.click('[data-add-to-cart] button[type=submit]');
    assert.match(await message(), /^Not added: a cart line holds at most 1000 units and your cart already holds 999 of this product\./);
    assert.equal(await line(), 999, 'the refused add leaves the line as it was');
  } finally {
    await browser.close();
  }
});

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { request } from '../helpers/http.ts';
import { startInstance, type Instance } from '../helpers/instances.ts';

// "Add to cart" adds to the cart line; when the sum is more than the stock, the API refuses it (409 OUT_OF_STOCK) and
// the line keeps what it held: the page says what the cart already holds and the API's reason, not "Added".
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

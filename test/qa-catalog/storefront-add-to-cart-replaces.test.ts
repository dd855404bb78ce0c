import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { request } from '../helpers/http.ts';
import { startInstance, type Instance } from '../helpers/instances.ts';

// The product page's "Add to cart" sent PUT /cart/items/:id with the quantity typed, which *sets* the line: a
// shopper who added 2 and came back to add 1 more held 1, not 3. It adds (POST /cart/items) and says the new total.
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

it('adds the quantity to what the cart already holds when a shopper adds a product twice from its page', async (ctx) => {
  const created = await request(`${web.url}/api/v1/admin/products`, { method: 'POST', headers: t.admin, body: { sku: 'ADD-TWICE-1', name: 'Add twice', priceCents: 700, available: 50 } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const productId = created.body.id as number;
  const browser = await launchBrowser(ctx);
  if (!browser) return;
  try {
    const page = await browser.context.newPage();
    const addFromPage = async (quantity: number, total: number) => {
      await page.goto(`${web.url}/products/${productId}`);
      await page.locator('[data-add-to-cart]').waitFor({ state: 'visible' });
      await page.fill('#quantity', String(quantity));
      await page.click('[data-add-to-cart] button[type=submit]');
      await page.locator('[data-message] a[href="/cart"]').waitFor({ state: 'visible' });
      assert.match(await page.locator('[data-message]').textContent() ?? '', new RegExp(`^Added: ${total} in your cart\\.`));
    };
    await addFromPage(2, 2);
    await addFromPage(1, 3);
    const cart = await page.request.get(`${web.url}/api/v1/cart`);
    assert.equal(cart.status(), 200);
    const line = (await cart.json()).items.find((item: { productId: number }) => item.productId === productId);
    assert.equal(line?.quantity, 3, 'two adds of 2 and 1 leave the cart line at the last quantity typed');
  } finally {
    await browser.close();
  }
});
